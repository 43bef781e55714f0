"""Matplotlib, loaded only when a plot is drawn (headless), and the one way figures are written."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Union


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the non-interactive Agg backend (imported here, not at zcdb's import)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, path: Union[str, os.PathLike], tight: bool = True, **savefig: Any) -> Path:
    """Lay out ``fig`` (``tight``), write it to ``path`` (parent folders created), close it; the path."""
    plt = pyplot()
    try:
        if tight:
            fig.tight_layout()
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(p, **savefig)
    finally:
        plt.close(fig)
    return p
