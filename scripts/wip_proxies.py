"""Save and restore the proxy tables that long background jobs are still computing (resumable across sessions).

    python scripts/wip_proxies.py save DB SPACE DATASET scripts/wip/NAME.npz   # zcdb's own scores in DB, compactly
    python scripts/wip_proxies.py load scripts/wip/NAME.npz DB                 # back into a store, then rerun the job

The files are in the shipped tables' format (``zcdb.tabular.builtin.export_proxies``) but
are not registered builtins: they are partial. The jobs and their regenerate commands:
``scripts/wip/README.md``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import zcdb
from zcdb.tabular import builtin


def main(argv: list[str]) -> int:
    if len(argv) == 5 and argv[0] == "save":
        with zcdb.open(argv[1]) as store:
            info = builtin.export_proxies(store, argv[2], argv[3], argv[4])
        print(f"saved {info['rows']} scores in {info['sets']} sets to {info['path']} ({info['bytes']:,} bytes)")
        return 0
    if len(argv) == 3 and argv[0] == "load":
        path = Path(argv[1])
        arrays, meta = builtin._load_npz(path)
        with zcdb.open(argv[2]) as store:
            batch = builtin._import_arrays(store, path, path.stem, arrays, meta, False)
        print(f"loaded {batch.rows} scores from {path} ({batch.changed} new)")
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
