"""Save, restore and order the proxy tables that long background jobs are still computing (resumable across sessions).

    python scripts/wip_proxies.py save DB SPACE DATASET tabular/data/NAME.npz   # zcdb's own scores in DB, compactly
    python scripts/wip_proxies.py load tabular/data/NAME.npz DB                 # back into a store, then rerun the job
    python scripts/wip_proxies.py order SPACE SEED > order.txt                  # the job's --archs-file
    python scripts/wip_proxies.py count tabular/data/NAME.npz                   # the counts its description gives
    python scripts/wip_proxies.py compare OLD.npz NEW.npz                        # every old score kept, bit for bit

The files are in the shipped tables' format (``zcdb.tabular.builtin.export_proxies``); each is
the builtin of the same name, whose description says it is still being computed. ``order``
prints one representative per isomorphism class (``--archs-file unique``'s architectures) in
a seeded random order (``numpy.random.default_rng(SEED).permutation``), so that what a job
has scored when it is saved is a uniform sample of the classes it has not finished, not the
lowest indices. The jobs and their commands: ``scripts/wip/README.md``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import zcdb
from zcdb.spaces import get_space
from zcdb.tabular import builtin


def _by_set(path: Path) -> dict[tuple, dict[int, tuple[float, float, str]]]:
    arrays, meta = builtin._load_npz(path)
    out = {}
    for k, st in enumerate(meta["sets"]):
        key = (st["proxy"], st["seed"], st["batch_size"], st["data"])
        reasons = st.get("reasons", {})
        out[key] = {int(a): (float(v), float(t), reasons.get(str(int(a)), ""))
                    for a, v, t in zip(arrays[f"s{k}_arch"], arrays[f"s{k}_value"], arrays[f"s{k}_time"])}
    return out


def compare(old_path: Path, new_path: Path) -> int:
    """0 when every score of OLD is in NEW with the same value (bit for bit, NaN as NaN), time and reason;
    sets are matched by (proxy, seed, batch size, data), not by position (a new set shifts the positions)."""
    old, new = _by_set(old_path), _by_set(new_path)
    bad = 0
    for key, rows in old.items():
        have = new.get(key)
        if have is None:
            print(f"{'/'.join(map(str, key))}: missing from {new_path}")
            bad += 1
            continue
        changed = [a for a, r in rows.items() if a not in have
                   or np.float64(have[a][0]).tobytes() != np.float64(r[0]).tobytes() or have[a][1:] != r[1:]]
        if changed:
            print(f"{'/'.join(map(str, key))}: {len(changed)} of {len(rows)} scores differ or are missing "
                  f"(e.g. architecture {changed[0]})")
            bad += 1
    added = sum(len(rows) for rows in new.values()) - sum(len(rows) for rows in old.values())
    print(f"{'differs' if bad else 'kept'}: {sum(len(r) for r in old.values())} old scores in {len(old)} sets "
          f"{'not all ' if bad else ''}kept; {added:+d} scores, {len(set(new) - set(old))} new sets")
    return 1 if bad else 0


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
    if len(argv) == 3 and argv[0] == "order":
        reps = np.unique(np.asarray(get_space(argv[1]).representatives(), dtype=np.int64))
        print("\n".join(map(str, np.random.default_rng(int(argv[2])).permutation(reps).tolist())))
        return 0
    if len(argv) == 2 and argv[0] == "count":
        arrays, meta = builtin._load_npz(Path(argv[1]))
        archs = np.unique(np.concatenate([v for k, v in arrays.items() if k.endswith("_arch")]).astype(np.int64))
        space = get_space(meta["space"])
        line = f"{archs.size:,} architectures"
        if space.size is not None and archs.size and archs.max() < space.size:
            rep = np.asarray(space.representatives(), dtype=np.int64)
            classes = np.unique(rep)
            if classes.size < space.size:  # a space with isomorphism classes
                line += (f"; {np.isin(classes, archs).sum():,} of the {classes.size:,} class representatives, "
                         f"{np.unique(rep[archs]).size:,} classes with some member scored")
        print(line)
        return 0
    if len(argv) == 3 and argv[0] == "compare":
        return compare(Path(argv[1]), Path(argv[2]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
