"""Writing figures to disk: the only IO in the plotting package."""

from __future__ import annotations

import io
from collections.abc import Sequence
from os import PathLike
from pathlib import Path

import matplotlib as mpl
from matplotlib.figure import Figure

from ketamine_evidence.tables import write_bytes


def save_figure(
    fig: Figure,
    path_without_suffix: str | PathLike[str],
    formats: Sequence[str] = ("png", "svg"),
    *,
    dpi: int = 300,
) -> list[Path]:
    """Save ``fig`` once per format as ``<path>.<format>`` and return the paths written.

    Parent folders are created. The bounding box is tightened around every artist (the forest
    plot's text columns lie outside its axes). Output is reproducible: no creation date in the
    metadata and a fixed SVG id salt, so an unchanged figure gives an unchanged file. Each file
is written atomically (:func:`ketamine_evidence.tables.write_bytes`): an interrupted run
leaves the previous figure, never half of one.

    Parameters
    ----------
    fig : Figure
    path_without_suffix : path
        E.g. ``results/figures/forest_caps5``; a suffix already present is kept as part of the
        name (``forest.v2`` -> ``forest.v2.png``).
    formats : sequence of str
        Any format matplotlib writes (``png``, ``svg``, ``pdf``, ...).
    dpi : int
        Resolution for raster formats.
    """
    base = Path(path_without_suffix)
    written = []
    for fmt in formats:
        fmt = fmt.lower().lstrip(".")
        out = base.with_name(f"{base.name}.{fmt}")
        metadata = {"png": {"Software": None}, "svg": {"Date": None}, "pdf": {"CreationDate": None}}
        buffer = io.BytesIO()  # drawn in memory, then written atomically like every output
        with mpl.rc_context({"svg.hashsalt": "ketamine-evidence", "svg.fonttype": "path"}):
            fig.savefig(
                buffer,
                format=fmt,
                dpi=dpi,
                bbox_inches="tight",
                pad_inches=0.05,
                facecolor="white",
                metadata=metadata.get(fmt),
            )
        written.append(write_bytes(buffer.getvalue(), out))
    return written
