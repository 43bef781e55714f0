#!/bin/sh
# Issue 13's GPU figures, on the device machine (prepared by scripts/wip/device_prepare.sh).
set -u
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,driver_version --format=csv | tee "$OUT/gpu.txt"
timeout 200 python3 scripts/device_check.py --device cuda --archs 30 --data .devdata/cifar10 2>&1 | tee "$OUT/device_check.md"
timeout 200 python3 scripts/bench_proxies.py --device cuda --archs 10 --data .devdata/cifar10 2>&1 | tee "$OUT/bench_proxies.txt"
