#!/bin/sh
# Prepare issue 13's GPU check for the device tool (a machine with torch and CUDA but no network, no
# zcdb and no ../shared): wheels of zcdb and the packages that machine lacks in .whl/, the CIFAR-10 test
# batch in .devdata/, both ignored by git. From the repository root, here:
#
#     sh scripts/wip/device_prepare.sh
#
# then one device call, carry [".whl", ".devdata"], command `sh scripts/wip/device_run.sh`, timeout 480
# (the figures come back in $OUT/device_check.md and $OUT/bench_proxies.txt).
set -eu
grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo /.whl/ >> .git/info/exclude
grep -qx '/.devdata/' .git/info/exclude 2>/dev/null || echo /.devdata/ >> .git/info/exclude
rm -rf .whl && mkdir -p .whl .devdata/cifar10/cifar-10-batches-py
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 -d .whl \
    sqlite-utils==4.2.1 sqlite-fts4==1.0.3 click-default-group==1.2.4
.venv/bin/pip wheel -q --no-deps --no-build-isolation -w .whl .
cp "${ZCDB_SHARED_DATA:-../shared/data}"/cifar10/cifar-10-batches-py/test_batch \
   "${ZCDB_SHARED_DATA:-../shared/data}"/cifar10/cifar-10-batches-py/batches.meta .devdata/cifar10/cifar-10-batches-py/
du -sh .whl .devdata
