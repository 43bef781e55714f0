"""Checks of the paths zcdb writes to, done before any work so that a bad path costs nothing."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Sequence, Union

from .errors import ZcdbError

#: What matplotlib's Agg backend writes (``--plot``).
PLOT_SUFFIXES = (".png", ".svg", ".pdf", ".jpg", ".jpeg", ".eps", ".ps", ".tif", ".tiff", ".webp")


def output_file(path: Union[str, os.PathLike], option: str, suffixes: Optional[Sequence[str]] = None) -> Path:
    """``path`` as a file zcdb may create or overwrite; :class:`ZcdbError` naming ``option`` otherwise.

    Refused: an existing folder (writing ``DIR.png`` beside it, as matplotlib does, surprises),
    a path under an existing file, a suffix outside ``suffixes``. Missing parent folders are
    fine: the writer creates them.
    """
    p = Path(path)
    if p.is_dir():
        example = p / f"out{suffixes[0] if suffixes else ''}"
        raise ZcdbError(f"{option} {p} is a directory: give a file path, e.g. {example}")
    for parent in p.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ZcdbError(f"{option} {p}: {parent} is a file, not a folder: give a path in a folder")
            break
    if suffixes is not None and p.suffix.lower() not in suffixes:
        raise ZcdbError(f"{option} {p}: cannot write {p.suffix or 'a file without a suffix'}: "
                        f"end the name with one of {', '.join(suffixes)}")
    return p
