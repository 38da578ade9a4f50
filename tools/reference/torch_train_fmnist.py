#!/usr/bin/env python3
"""PyTorch reference for `onnx-cil train` on full Fashion-MNIST: the same convnet, head, SGD recipe and schedule.

It answers one question: does the recipe itself reach a given accuracy, independent of onnx-cil's graphs?
Prints per-epoch train loss / accuracy and test accuracy, then one JSON line.

  /usr/bin/python3 tools/reference/torch_train_fmnist.py --data ../shared/datasets/fashion-mnist \
      [--epochs 5] [--lr 0.1] [--schedule cosine|step] [--head cosine|linear] [--seed 1] [--threads 2]

Not a dependency of the product or its tests.
"""
import argparse
import gzip
import json
import math
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "bench"))
from torch_peer import build_models  # noqa: E402


def read_idx(path):
    with gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return data[4 + 4 * ndim:], dims


def load(torch, folder, split):
    prefix = "train" if split == "train" else "t10k"
    name = lambda kind: next(
        os.path.join(folder, f) for f in os.listdir(folder) if f.startswith(f"{prefix}-{kind}"))
    images, dims = read_idx(name("images"))
    labels, _ = read_idx(name("labels"))
    x = torch.frombuffer(bytearray(images), dtype=torch.uint8).reshape(dims[0], 1, dims[1], dims[2]).float() / 255
    x = (x - 0.286) / 0.353
    y = torch.frombuffer(bytearray(labels), dtype=torch.uint8).long()
    return x, y


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--weight-decay", type=float, default=5e-4)
    p.add_argument("--schedule", choices=["cosine", "step", "constant"], default="cosine")
    p.add_argument("--head", choices=["cosine", "linear"], default="cosine")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--warmup-epochs", type=float, default=0.0)
    p.add_argument("--no-decay-norm", action="store_true", help="no weight decay on BatchNorm and head scale")
    p.add_argument("--label-smoothing", type=float, default=0.0)
    args = p.parse_args()

    import torch
    import torch.nn as nn
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    model, _, classes = build_models(torch)("convnet")
    if args.head == "linear":
        model.fc = nn.Linear(model.backbone.dim, classes)
    xtr, ytr = load(torch, args.data, "train")
    xte, yte = load(torch, args.data, "test")
    decay = [p for n, p in model.named_parameters() if not (args.no_decay_norm and p.ndim <= 1)]
    no_decay = [p for n, p in model.named_parameters() if args.no_decay_norm and p.ndim <= 1]
    opt = torch.optim.SGD([{"params": decay}, {"params": no_decay, "weight_decay": 0.0}], lr=args.lr,
                          momentum=args.momentum, weight_decay=args.weight_decay)
    steps_per_epoch = math.ceil(len(xtr) / args.batch_size)
    total = steps_per_epoch * args.epochs

    def factor(it):
        warm = args.warmup_epochs * steps_per_epoch
        if it < warm:
            return (it + 1) / warm
        if args.schedule == "cosine":
            return 0.5 * (1 + math.cos(math.pi * it / total))
        if args.schedule == "step":
            return 0.1 ** sum(it >= m * steps_per_epoch for m in (3, 4))
        return 1.0

    t0 = time.time()
    it = 0
    history = []
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(len(xtr))
        loss_sum, correct, seen = 0.0, 0, 0
        for b in range(steps_per_epoch):
            idx = perm[b * args.batch_size:(b + 1) * args.batch_size]
            for g in opt.param_groups:
                g["lr"] = args.lr * factor(it)
            logits = model(xtr[idx])
            loss = nn.functional.cross_entropy(logits, ytr[idx], label_smoothing=args.label_smoothing)
            opt.zero_grad()
            loss.backward()
            opt.step()
            it += 1
            loss_sum += loss.item() * len(idx)
            correct += (logits.argmax(1) == ytr[idx]).sum().item()
            seen += len(idx)
        model.eval()
        with torch.no_grad():
            test_acc = sum((model(xte[i:i + 1000]).argmax(1) == yte[i:i + 1000]).sum().item()
                           for i in range(0, len(xte), 1000)) / len(xte)
        row = {"epoch": epoch + 1, "trainLoss": loss_sum / seen, "trainAccuracy": correct / seen, "testAccuracy": test_acc}
        history.append(row)
        print(f"epoch {epoch + 1}: loss {row['trainLoss']:.4f} train {row['trainAccuracy']:.4f} test {test_acc:.4f}",
              file=sys.stderr, flush=True)
    print(json.dumps({"args": vars(args), "history": history, "testAccuracy": history[-1]["testAccuracy"],
                      "wallSeconds": time.time() - t0}))


if __name__ == "__main__":
    main()
