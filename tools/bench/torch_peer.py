#!/usr/bin/env python3
"""PyTorch eager peer of onnx-cil's bench (tools/bench/bench.ts runs it when /usr/bin/python3 has torch).

The same models as models/convnet.json and models/resnet32.json, the same cosine head (learnable scale, init 10),
cross-entropy, SGD (momentum 0.9, weight decay 5e-4), batch 128, thread count and warm-up/repetition scheme as the
bench, and eval-mode inference of resnet32. Each configuration runs in its own process (this script with --child)
so its peak RSS (resource.getrusage) is its own. Prints one JSON object as the last stdout line:

  {"torch": {"version", "threads", "train": {"resnet32": {...}, "convnet": {...}}, "infer": {"resnet32": {...}}}}

  /usr/bin/python3 tools/bench/torch_peer.py [--threads 2] [--quick] [--reps N] [--warmup N] [--only train.resnet32,infer.resnet32]

Not a dependency of the product or its tests.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

CONFIGS = ["train.resnet32", "train.convnet", "infer.resnet32"]


def log(msg):
    print(f"[torch-peer] {msg}", file=sys.stderr, flush=True)


def build_models(torch):
    nn = torch.nn
    F = torch.nn.functional

    def conv_bn(cin, cout, k, stride):
        # No conv bias: every conv is followed by BatchNorm, as in onnx-cil's layers.
        return [nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, bias=False), nn.BatchNorm2d(cout)]

    class ConvNet(nn.Module):
        """models/convnet.json: 32, 64/s2, 64, 128/s2 conv-BN, ReLU after all but the last, global average pool."""

        def __init__(self, cin):
            super().__init__()
            layers = []
            spec = [(32, 1, True), (64, 2, True), (64, 1, True), (128, 2, False)]
            c = cin
            for out, stride, relu in spec:
                layers += conv_bn(c, out, 3, stride)
                if relu:
                    layers.append(nn.ReLU(inplace=True))
                c = out
            self.body = nn.Sequential(*layers)
            self.dim = c

        def forward(self, x):
            return torch.flatten(F.adaptive_avg_pool2d(self.body(x), 1), 1)

    class BasicBlock(nn.Module):
        def __init__(self, cin, cout, stride, final_relu):
            super().__init__()
            self.conv1, self.bn1 = conv_bn(cin, cout, 3, stride)
            self.conv2, self.bn2 = conv_bn(cout, cout, 3, 1)
            self.downsample = nn.Sequential(*conv_bn(cin, cout, 1, stride)) if stride != 1 or cin != cout else None
            self.final_relu = final_relu

        def forward(self, x):
            h = F.relu(self.bn1(self.conv1(x)))
            y = self.bn2(self.conv2(h))
            y = y + (self.downsample(x) if self.downsample is not None else x)
            return F.relu(y) if self.final_relu else y

    class ResNet32(nn.Module):
        """models/resnet32.json: 3x3 stem 16, 3 stages x 5 BasicBlocks (16/32/64), last block without final ReLU."""

        def __init__(self, cin):
            super().__init__()
            self.conv1, self.bn1 = conv_bn(cin, 16, 3, 1)
            blocks = []
            c = 16
            stages = [(16, 1), (32, 2), (64, 2)]
            for s, (width, stride) in enumerate(stages):
                for b in range(5):
                    last = s == len(stages) - 1 and b == 4
                    blocks.append(BasicBlock(c, width, stride if b == 0 else 1, not last))
                    c = width
            self.blocks = nn.Sequential(*blocks)
            self.dim = c

        def forward(self, x):
            h = F.relu(self.bn1(self.conv1(x)))
            return torch.flatten(F.adaptive_avg_pool2d(self.blocks(h), 1), 1)

    class CosineHead(nn.Module):
        """eta * <normalize(f), normalize(w_c)>, eta learnable (init 10), rows uniform in +-1/sqrt(D)."""

        def __init__(self, dim, classes):
            super().__init__()
            bound = 1 / dim ** 0.5
            self.weight = nn.Parameter(torch.empty(classes, dim).uniform_(-bound, bound))
            self.sigma = nn.Parameter(torch.tensor([10.0]))

        def forward(self, f):
            return self.sigma * F.linear(F.normalize(f, dim=1), F.normalize(self.weight, dim=1))

    class Classifier(nn.Module):
        def __init__(self, backbone, classes):
            super().__init__()
            self.backbone = backbone
            self.fc = CosineHead(backbone.dim, classes)

        def forward(self, x):
            return self.fc(self.backbone(x))

    def make(name):
        if name == "convnet":
            model, shape, classes = Classifier(ConvNet(1), 10), (1, 28, 28), 10
        else:
            model, shape, classes = Classifier(ResNet32(3), 100), (3, 32, 32), 100
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        return model, shape, classes

    return make


def time_reps(fn, warmup, reps, sync=lambda: None):
    # sync: on CUDA the step is asynchronous, so the clock is read only after the device has finished.
    for _ in range(warmup):
        fn()
    sync()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append((time.perf_counter() - t0) * 1000)
    return summarize(times)


def quantile(xs, q):
    s = sorted(xs)
    pos = q * (len(s) - 1)
    lo, hi = int(pos), min(len(s) - 1, int(pos) + 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def summarize(times):
    return {"medianMs": statistics.median(times), "p10Ms": quantile(times, 0.1), "p90Ms": quantile(times, 0.9), "reps": len(times)}


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def run_child(key, args):
    import torch

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(0)
    make = build_models(torch)
    kind, model_name = key.split(".")
    model, shape, classes = make(model_name)
    device = torch.device(args.device)
    model = model.to(device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    if kind == "train":
        batch = 128
        x = torch.randn(batch, *shape, device=device)
        y = torch.randint(0, classes, (batch,), device=device)
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
        model.train()

        def step():
            opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()

        warmup, reps = plan(args, (3, 20), (1, 3))
        t = time_reps(step, warmup, reps, sync)
        result = {"imagesPerSecond": batch * 1000 / t["medianMs"], "msPerStep": t["medianMs"], "p10Ms": t["p10Ms"], "p90Ms": t["p90Ms"], "reps": t["reps"]}
    else:
        model.eval()
        x1 = torch.randn(1, *shape, device=device)
        x64 = torch.randn(64, *shape, device=device)
        warmup, reps = plan(args, (3, 20), (1, 4))
        with torch.inference_mode():
            b1 = time_reps(lambda: model(x1), max(warmup, 3), reps * 5, sync)
            b64 = time_reps(lambda: model(x64), warmup, reps, sync)
        result = {
            "batch1LatencyMs": b1["medianMs"],
            "batch1P10Ms": b1["p10Ms"],
            "batch1P90Ms": b1["p90Ms"],
            "batch64ImagesPerSecond": 64 * 1000 / b64["medianMs"],
            "batch64MsPerBatch": b64["medianMs"],
        }
    result["peakRssMB"] = peak_rss_mb()
    print(json.dumps({"key": key, "result": result, "version": torch.__version__}), flush=True)


def plan(args, full, quick):
    w, r = quick if args.quick else full
    return (args.warmup if args.warmup is not None else w, args.reps if args.reps is not None else r)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--reps", type=int)
    p.add_argument("--warmup", type=int)
    p.add_argument("--only", default=",".join(CONFIGS))
    p.add_argument("--child")
    p.add_argument("--device", default="cpu", help="cpu or cuda (the GPU comparison of tools/gpu/check.sh)")
    args = p.parse_args()
    if args.child:
        return run_child(args.child, args)

    out = {"threads": args.threads, "device": args.device, "train": {}, "infer": {}}
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), OPENBLAS_NUM_THREADS=str(args.threads))
    for key in [k for k in args.only.split(",") if k]:
        if key not in CONFIGS:
            raise SystemExit(f"unknown configuration {key}; known: {', '.join(CONFIGS)}")
        log(f"{key} ...")
        cmd = [sys.executable, "-u", os.path.abspath(__file__), "--child", key, "--threads", str(args.threads), "--device", args.device]
        for flag in ("reps", "warmup"):
            if getattr(args, flag) is not None:
                cmd += [f"--{flag}", str(getattr(args, flag))]
        if args.quick:
            cmd.append("--quick")
        r = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, env=env)
        lines = r.stdout.strip().splitlines()
        kind, model = key.split(".")
        try:
            child = json.loads(lines[-1])
            out[kind][model] = child["result"]
            out["version"] = child["version"]
        except (IndexError, ValueError, KeyError):
            out[kind][model] = {"error": f"child exited with {r.returncode}"}
    print(json.dumps({"torch": out}))


if __name__ == "__main__":
    main()
