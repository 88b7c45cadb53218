"""Input checking shared by every function in :mod:`ketamine_evidence.meta`."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ketamine_evidence import KetamineEvidenceWarning

__all__ = [
    "METHODS",
    "TESTS",
    "MetaAnalysisWarning",
    "check_level",
    "check_method",
    "check_study_data",
    "check_test",
]

#: tau^2 estimators understood by :func:`rma` (``FE`` is an alias of ``EE``).
METHODS = ("EE", "FE", "DL", "REML", "ML", "PM", "EB", "HS", "SJ", "HE")
#: Inference methods for the pooled effect.
TESTS = ("z", "knha", "adhoc")


class MetaAnalysisWarning(KetamineEvidenceWarning):
    """A pooled result is valid but needs care (for example k = 1: nothing was pooled)."""


def check_method(method: str) -> str:
    m = str(method).upper()
    if m not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    return m


def check_test(test: str) -> str:
    t = str(test).lower()
    if t not in TESTS:
        raise ValueError(f"unknown test {test!r}; choose one of {', '.join(TESTS)}")
    return t


def check_level(level: float) -> float:
    lv = float(level)
    if lv > 1.0 and lv < 100.0:  # metafor accepts 95 for 0.95
        lv = lv / 100.0
    if not (0.0 < lv < 1.0):
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    return lv


def _label(study: Sequence | None, i: int) -> str:
    if study is None:
        return f"study at index {i}"
    return f"study {study[i]!r} (index {i})"


def check_study_data(
    yi, vi, study=None, *, name: str = "yi"
) -> tuple[np.ndarray, np.ndarray, tuple | None]:
    """Return ``yi`` and ``vi`` as float arrays after checking them study by study.

    Raises
    ------
    ValueError
        If the lengths differ, there are no studies, an effect is missing or not finite,
        or a sampling variance is missing, zero, negative or not finite. The message
        names the offending study by its ``study`` label when given, else by index.
    """
    y = np.asarray(yi, dtype=float)
    v = np.asarray(vi, dtype=float)
    if y.ndim != 1 or v.ndim != 1:
        raise ValueError("yi and vi must be one-dimensional")
    if y.shape != v.shape:
        raise ValueError(f"yi has {y.size} values but vi has {v.size}")
    if y.size == 0:
        raise ValueError("no studies to pool (yi is empty)")
    labels = None
    if study is not None:
        labels = tuple(study)
        if len(labels) != y.size:
            raise ValueError(f"study has {len(labels)} labels but yi has {y.size} values")
    for i in range(y.size):
        if math.isnan(y[i]):
            raise ValueError(f"{_label(labels, i)}: effect size {name} is missing (NaN)")
        if not math.isfinite(y[i]):
            raise ValueError(f"{_label(labels, i)}: effect size {name} is not finite ({y[i]})")
        if math.isnan(v[i]):
            raise ValueError(f"{_label(labels, i)}: sampling variance vi is missing (NaN)")
        if not math.isfinite(v[i]) or v[i] <= 0.0:
            raise ValueError(
                f"{_label(labels, i)}: sampling variance vi must be positive and finite, "
                f"got {v[i]!r}"
            )
    return y, v, labels
