#!/bin/sh
# Every MINUTES (default 30), save each background job's store (scripts/wip/jobs.sh) into its
# builtin's file in the working tree, so that a lost machine loses at most that much work:
#
#     nohup sh scripts/wip/autosave.sh BG_DIR [MINUTES] >> BG_DIR/autosave.log 2>&1 &     # from the repository root
#
# Each save reads a snapshot (sqlite3 .backup: the running job keeps writing) and writes the
# file atomically. The files still need committing, with the counts in tabular/builtin.py's
# descriptions and the README.
set -u
BG=$1
MINUTES=${2:-30}
ROOT=$(pwd)
while true; do
    sleep $((MINUTES * 60))
    for pair in nb201:nb201-cifar10-proxies macro:macro-cifar10-proxies nb101:nb101-cifar10-proxies; do
        space=${pair%%:*}
        name=${pair#*:}
        [ -f "$BG/$space.db" ] || continue
        sqlite3 "$BG/$space.db" ".backup $BG/$space.snap.db" &&
            nice -n 10 "$ROOT/.venv/bin/python" scripts/wip_proxies.py save "$BG/$space.snap.db" "$space" cifar10 \
                "tabular/data/$name.npz" && echo "$(date -u +%H:%M) saved $space"
    done
done
