"""Write zcdb's NAS-Bench-101 table: every cell up to isomorphism with its official module hash.

    .venv/bin/python scripts/build_nb101_table.py [--out zcdb/spaces/data/nb101_cells.npz] [--workers 2]

Enumerates the space as NAS-Bench-101's ``generate_graphs.py`` does
(:func:`zcdb.spaces.nb101_graphs.enumerate_cells`: vectorized, classes found by a 64-bit
colour-refinement invariant, a few seconds), checks that there are 423,624 classes,
hashes each class's representative with the official MD5 module hash (the slow part, about
a minute per core), checks that the 423,624 hashes are distinct and their first 64 bits
too (the lookup relies on it), sorts by hash and writes, in the layout
:func:`zcdb.spaces.nb101.encode_table` documents, the sorted MD5 digests and the packed
padded cell of each (7.1 MB: MD5 digests do not compress). Every run writes the same
bytes.
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent


def _hashes(codes: np.ndarray) -> list[bytes]:
    from zcdb.spaces import nb101

    out = []
    for c in codes.tolist():
        t = tuple(int(x) for x in nb101.graphs.choice_matrix(np.array([c], dtype=np.uint32))[0])
        out.append(bytes.fromhex(nb101.format_arch(t)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(REPO / "zcdb" / "spaces" / "data" / "nb101_cells.npz"))
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()

    from zcdb.spaces import nb101, nb101_graphs

    t = time.perf_counter()
    codes, _ = nb101_graphs.enumerate_cells()
    print(f"enumerated {codes.size:,} classes in {time.perf_counter() - t:.1f} s")
    if codes.size != nb101.NUM_ARCHS:
        raise SystemExit(f"expected {nb101.NUM_ARCHS:,} classes, found {codes.size:,}")
    t = time.perf_counter()
    chunks = np.array_split(codes, 64)
    with ProcessPoolExecutor(args.workers) as pool:
        digests = [d for part in pool.map(_hashes, chunks) for d in part]
    print(f"hashed them in {time.perf_counter() - t:.1f} s")
    digest = np.frombuffer(b"".join(digests), dtype=np.uint8).reshape(-1, 16)
    order = np.lexsort(digest.T[::-1])  # by byte 0, then 1, ...: the order of the hex strings
    digest, codes = digest[order], codes[order]
    hi = digest.view(">u8")[:, 0]
    if (hi[1:] <= hi[:-1]).any():
        raise SystemExit("two classes share the first 64 bits of their hash: the lookup needs another key")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    nb101.write_table(args.out, nb101.encode_table(digest, codes.astype(np.uint32)))
    print(f"wrote {args.out} ({Path(args.out).stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
