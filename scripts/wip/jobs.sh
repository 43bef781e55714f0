#!/bin/sh
# Start (or resume) one of the background proxy-table jobs of scripts/wip/README.md.
#
#     [WORKERS=N] sh scripts/wip/jobs.sh BG_DIR nb201|macro|nb101|nb101-full    # from the repository root
#
# BG_DIR holds the job's store, its order file and its log; a new machine starts from the shipped
# builtin, so nothing but what is committed is needed. The job runs niced, with one torch thread,
# in the background (WORKERS processes, default 1; the scores do not depend on it); rerunning this
# skips what is stored. Save it into the builtin's file with
# `python scripts/wip_proxies.py save BG_DIR/JOB.db SPACE cifar10 tabular/data/NAME.npz`.
set -eu
BG=$1
JOB=$2
ROOT=$(pwd)
PY=$ROOT/.venv/bin/python
ZCDB=$ROOT/.venv/bin/zcdb
DATA=${ZCDB_SHARED_DATA:-$ROOT/../shared/data}/cifar10/cifar-10-batches-py
CHEAP=params,flops,l2_norm,synflow,nwot,jacov,epe_nas,snip,grad_norm,plain,fisher,zen,meco,swap
mkdir -p "$BG"
case $JOB in
    nb201) SPACE=nb201; NAME=nb201-cifar10-proxies; BATCH=64; PROXIES=all ;;
    macro) SPACE=macro; NAME=macro-cifar10-proxies; BATCH=64; PROXIES=all ;;
    nb101) SPACE=nb101; NAME=nb101-cifar10-proxies; BATCH=32; PROXIES=$CHEAP ;;
    nb101-full) SPACE=nb101; NAME=nb101-cifar10-proxies; BATCH=32; PROXIES=all ;;
    *) echo "unknown job $JOB: nb201, macro, nb101 or nb101-full" >&2; exit 2 ;;
esac
DB=$BG/$SPACE.db
ORDER=$BG/$SPACE-order.txt
if [ ! -f "$DB" ]; then
    "$PY" scripts/wip_proxies.py load "tabular/data/$NAME.npz" "$DB"
fi
if [ ! -f "$ORDER" ]; then
    if [ "$SPACE" = nb101 ]; then
        "$PY" scripts/suite_zero_proxies_report.py --space nb101 --print-ids --with-sample > "$ORDER"
    else
        "$PY" scripts/wip_proxies.py order "$SPACE" 0 > "$ORDER"
    fi
fi
OMP_NUM_THREADS=1 nohup nice -n 19 "$ZCDB" --db "$DB" proxies compute --space "$SPACE" --dataset cifar10 \
    --data "$DATA" --split test --proxies "$PROXIES" --archs-file "$ORDER" --seed 0 \
    --batch-size "$BATCH" --workers "${WORKERS:-1}" >> "$BG/$JOB.log" 2>&1 &
echo "started $JOB (pid $!): store $DB, log $BG/$JOB.log"
