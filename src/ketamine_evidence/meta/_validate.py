"""Input checking shared by every function in :mod:`ketamine_evidence.meta`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ketamine_evidence import KetamineEvidenceWarning

__all__ = [
    "METHODS",
    "TESTS",
    "MetaAnalysisWarning",
    "check_level",
    "check_magnitudes",
    "check_many_data",
    "check_method",
    "check_study_data",
    "check_test",
]

#: tau^2 estimators understood by :func:`rma` (``FE`` is an alias of ``EE``).
METHODS = ("EE", "FE", "DL", "REML", "ML", "PM", "EB", "HS", "SJ", "HE")
#: Inference methods for the pooled effect.
TESTS = ("z", "knha", "adhoc")


#: log of the largest double: sums of weighted squares must stay below it.
_LOG_MAX = math.log(np.finfo(float).max)


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


def _magnitude_problem(y: np.ndarray, v: np.ndarray) -> tuple[int, str] | None:
    r"""The first study whose size makes pooling overflow double precision, with the reason.

    The engine forms sums such as :math:`\sum w_i^2 (y_i - \hat\mu)^2` with
    :math:`w_i = 1/v_i`; they are bounded by :math:`k (2 \max|y|)^2 \max(1, 1/\min v)^2`.
    When that bound (or :math:`k / \min v^2`) exceeds the largest double the results would
    be NaN or infinite, so such inputs are refused, as metafor refuses them
    ("Division by zero when computing the inverse variance weights", "singular matrix").
    """
    k = y.size
    i = int(np.argmin(v))
    log_w = -math.log(v[i])
    if 2.0 * log_w + math.log(k) >= _LOG_MAX:
        return i, (
            f"sampling variance vi = {float(v[i])!r} is too small to pool in double precision "
            "(its squared weight 1/vi^2 overflows)"
        )
    j = int(np.argmax(np.abs(y)))
    if y[j] != 0.0 and (
        2.0 * math.log(2.0 * abs(y[j])) + math.log(k) + 2.0 * max(0.0, log_w) >= _LOG_MAX
    ):
        return j, (
            f"effect size yi = {float(y[j])!r} is too large to pool in double precision "
            "(weighted squared deviations overflow); check the value or rescale the effects"
        )
    return None


def check_magnitudes(Y: np.ndarray, V: np.ndarray, M: np.ndarray) -> None:
    """Refuse rows of ``Y``/``V`` (mask ``M``) whose values would overflow the engine.

    Vectorised screen over rows, then the row-wise check of :func:`_magnitude_problem` on
    the first suspicious row, whose message names row and column.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        k = M.sum(axis=1).clip(min=1)
        vmin = np.where(M, V, np.inf).min(axis=1)
        ymax = np.where(M, np.abs(Y), 0.0).max(axis=1)
        log_w = -np.log(vmin)
        log_y = np.where(ymax > 0, 2.0 * np.log(2.0 * ymax), -np.inf)
        suspect = (2.0 * log_w + np.log(k) >= _LOG_MAX) | (
            log_y + np.log(k) + 2.0 * np.maximum(0.0, log_w) >= _LOG_MAX
        )
    for r in np.flatnonzero(suspect):
        cols = np.flatnonzero(M[r])
        problem = _magnitude_problem(Y[r, cols], V[r, cols])
        if problem is not None:
            raise ValueError(f"row {r}, column {cols[problem[0]]}: {problem[1]}")


def _label(study: Sequence | None, i: int) -> str:
    if study is None:
        return f"study at index {i}"
    return f"study {study[i]!r} (index {i})"


def check_study_data(
    yi: npt.ArrayLike,
    vi: npt.ArrayLike,
    study: Sequence[Any] | None = None,
    *,
    name: str = "yi",
) -> tuple[np.ndarray, np.ndarray, tuple[Any, ...] | None]:
    """Return ``yi`` and ``vi`` as float arrays after checking them study by study.

    Raises
    ------
    ValueError
        If the lengths differ, there are no studies, an effect is missing or not finite,
        or a sampling variance is missing, zero, negative or not finite, or when the values
        are so extreme that pooling would overflow double precision (e.g. ``yi = 1e200``
        or ``vi = 1e-320``). The message names the offending study by its ``study`` label
        when given, else by index.
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
            raise ValueError(f"{_label(labels, i)}: effect size {name} is not finite ({float(y[i])})")
        if math.isnan(v[i]):
            raise ValueError(f"{_label(labels, i)}: sampling variance vi is missing (NaN)")
        if not math.isfinite(v[i]) or v[i] <= 0.0:
            raise ValueError(
                f"{_label(labels, i)}: sampling variance vi must be positive and finite, "
                f"got {float(v[i])!r}"
            )
    problem = _magnitude_problem(y, v)
    if problem is not None:
        raise ValueError(f"{_label(labels, problem[0])}: {problem[1]}")
    return y, v, labels


def check_many_data(
    yi: npt.ArrayLike, vi: npt.ArrayLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Check NaN-padded 2-D ``yi``/``vi`` (one meta-analysis per row).

    Returns
    -------
    Y, V : numpy.ndarray, shape (n, K)
        The data as float arrays (padding left as NaN).
    M : numpy.ndarray of bool, shape (n, K)
        Which slots hold a study.
    k : numpy.ndarray of int, shape (n,)
        Studies per row.

    Raises
    ------
    ValueError
        If the shapes differ, a row has no studies, a NaN sits in only one of ``yi`` and
        ``vi``, an effect is infinite, or a variance is zero, negative or infinite (the
        message names row and column).
    """
    Y = np.atleast_2d(np.asarray(yi, dtype=float))
    V = np.atleast_2d(np.asarray(vi, dtype=float))
    if Y.ndim != 2 or Y.shape != V.shape:
        raise ValueError(f"yi and vi must be 2-D arrays of one shape, got {Y.shape}, {V.shape}")
    ny, nv = np.isnan(Y), np.isnan(V)
    M = ~ny & ~nv
    bad = np.argwhere(ny != nv)
    if bad.size:
        r, c = bad[0]
        which = "yi" if ny[r, c] else "vi"
        raise ValueError(f"row {r}, column {c}: {which} is NaN but the other is not")
    bad = np.argwhere(M & ~np.isfinite(Y))
    if bad.size:
        r, c = bad[0]
        raise ValueError(f"row {r}, column {c}: yi is not finite ({Y[r, c]})")
    bad = np.argwhere(M & ~((V > 0) & np.isfinite(V)))
    if bad.size:
        r, c = bad[0]
        raise ValueError(
            f"row {r}, column {c}: sampling variance vi must be positive and finite, "
            f"got {V[r, c]!r}"
        )
    check_magnitudes(Y, V, M)
    k = M.sum(axis=1)
    if (k == 0).any():
        raise ValueError(f"row {int(np.flatnonzero(k == 0)[0])} has no studies")
    return Y, V, M, k
