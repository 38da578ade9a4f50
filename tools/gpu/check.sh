#!/usr/bin/env bash
# Every GPU check in one remote call (see docs/gpu.md), run from the project root on a GPU machine through the
# device kit: bash .device/device-run.sh -- bash tools/gpu/check.sh
# Logs go to $OUT (or /tmp/onnx-cil-gpu); a compact summary is printed last.
# CIL_DATA=<folder with cifar-100 binary files> adds shortened cifar100-b50-p5 runs (CIL_METHODS, CIL_SCALE).
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/onnx-cil-gpu}
mkdir -p "$OUT"
summary=()
step() {
  local name=$1 t0=$SECONDS rc
  shift
  "$@" >"$OUT/$name.log" 2>&1
  rc=$?
  summary+=("$(printf '%-10s %-8s %5ss' "$name" "$([ $rc -eq 0 ] && echo ok || echo "FAIL:$rc")" $((SECONDS - t0)))")
}

step doctor node dist/cli/main.js doctor
step gradcheck env ONNX_CIL_TEST_DEVICE=cuda NVIDIA_TF32_OVERRIDE=0 node --test build/test/autodiff/op-gradients.test.js build/test/autodiff/network-gradients.test.js build/test/autodiff/backprop.test.js
step parity node --test build/test/train/cuda.test.js
step placement node build/tools/gpu/placement.js
step bench node build/tools/gpu/train-bench.js --steps 40 --json
step torch python3 tools/bench/torch_peer.py --device cuda --only train.resnet32 --threads "$(nproc)" --reps 40 --warmup 5
if [ -n "${CIL_DATA:-}" ]; then
  for method in ${CIL_METHODS:-spb}; do
    step "cil-$method" timeout "${CIL_TIMEOUT:-600}" node dist/cli/main.js run --preset cifar100-b50-p5 --method "$method" \
      --epochs-scale "${CIL_SCALE:-0.05}" --data "$CIL_DATA" --device cuda --json --out "$OUT/cil-$method"
  done
fi

echo "=== details"
grep -hE "^provider|^GPUs" "$OUT/doctor.log"
grep -hE "^# (tests|pass|fail|skipped)" "$OUT/gradcheck.log" | tr '\n' ' '; echo
grep -hE "^not ok" "$OUT/gradcheck.log" | head -5
grep -hE "cpu loss|relative L2|^# (pass|fail|skipped)|SKIP" "$OUT/parity.log" | tr '\n' ' '; echo
cat "$OUT/placement.log" | head -20
grep -h "^train-bench" "$OUT/bench.log"
tail -n 1 "$OUT/torch.log"
for f in "$OUT"/cil-*.log; do [ -f "$f" ] && grep -hE "average incremental accuracy" "$f"; done
echo "=== summary"
printf '%s\n' "${summary[@]}"
