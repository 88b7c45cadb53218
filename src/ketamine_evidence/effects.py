"""Study-level effect sizes and their sampling variances (pure; no IO).

The central function, :func:`escalc`, reproduces the defaults of
``metafor::escalc`` (Viechtbauer 2010, *J Stat Softw* 36(3); checked against
metafor 3.8-1, see ``tests/r/escalc_reference.R``) for the measures this project
needs:

========  ==============================================  ============================
measure   ``yi`` (effect)                                  ``vi`` (default ``vtype="LS"``)
========  ==============================================  ============================
``MD``    m1 - m2 (outcome units)                          sd1²/n1 + sd2²/n2
``SMD``   Hedges' g = J(m)·(m1 - m2)/s_pooled, m=n1+n2-2   1/n1 + 1/n2 + g²/(2(n1+n2))
``ROM``   log(m1/m2) (natural log)                         sd1²/(n1·m1²) + sd2²/(n2·m2²)
``RR``    log[(a/n1)/(c/n2)]                               1/a - 1/n1 + 1/c - 1/n2
``OR``    log[(a·d)/(b·c)]                                 1/a + 1/b + 1/c + 1/d
``RD``    a/n1 - c/n2 (proportion, not percent)            p1(1-p1)/n1 + p2(1-p2)/n2
========  ==============================================  ============================

Conventions used everywhere in this module:

* Group 1 is the experimental arm (the intervention), group 2 the comparator.
  A positive ``yi`` means a *larger* value (or more events) in group 1. On symptom
  scales lower is usually better, so a negative MD/SMD favours group 1.
* ``yi`` and ``vi`` are on the analysis scale: natural log for ``RR``, ``OR`` and
  ``ROM``; ``vi`` is the squared standard error on that scale.
* Every function that returns effect sizes returns a :class:`pandas.DataFrame`
  with (at least) the float columns ``yi`` and ``vi``, one row per study, even
  for scalar input (one row).  The ``from_*`` helpers add a ``method`` string
  column that records the conversion, for the effects table's provenance.
* Invalid input raises :class:`EffectInputError` (a ``ValueError``) naming the
  row, the study (when known) and the field.  Missing values are errors, not
  silently propagated NaNs.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import special, stats

from ketamine_evidence import KetamineEvidenceError, KetamineEvidenceWarning

__all__ = [
    "MEASURES",
    "RATIO_MEASURES",
    "EffectInputError",
    "escalc",
    "from_ci",
    "from_cohen_d",
    "from_pvalue",
    "from_se",
    "from_t_independent",
    "hedges_j",
    "percent_reduction_from_rom",
    "measure_scale",
]

MEASURES: tuple[str, ...] = ("MD", "SMD", "ROM", "RR", "OR", "RD")
#: Measures analysed on the log scale (metafor's convention); exp() gives the ratio.
RATIO_MEASURES = frozenset({"ROM", "RR", "OR", "HR", "IRR"})
_CONTINUOUS = ("MD", "SMD", "ROM")
_BINARY = ("RR", "OR", "RD")
_VTYPES = {
    "MD": ("LS", "UB", "HO"),
    "SMD": ("LS", "UB", "LS2"),
    "ROM": ("LS", "HO"),
    "RR": ("LS",),
    "OR": ("LS",),
    "RD": ("LS", "UB"),
}
_TO = ("only0", "all", "if0all", "none")


class EffectInputError(KetamineEvidenceError, ValueError):
    """Invalid input for an effect-size computation.

    Attributes
    ----------
    field : str
        The offending argument / column name (metafor naming, e.g. ``"sd1i"``).
    row : object or None
        Row label (the ``data`` index label, else the 0-based position).
    position : int or None
        0-based position of the row in the input.
    study : object or None
        Study label for the row, when ``study`` was given.
    """

    def __init__(
        self,
        message: str,
        *,
        field: str,
        row: Any = None,
        position: int | None = None,
        study: Any = None,
    ) -> None:
        where = ""
        if row is not None:
            where = f"row {row}"
            if study is not None:
                where += f" (study {study!r})"
            where += ": "
        super().__init__(f"{where}{field}: {message}")
        self.field = field
        self.row = row
        self.position = position
        self.study = study
        self.problem = message


# --------------------------------------------------------------------------- helpers


def hedges_j(m: Any) -> np.ndarray:
    """Exact small-sample bias-correction factor of Hedges (1981).

    Parameters
    ----------
    m : array_like
        Degrees of freedom, for two independent groups ``m = n1 + n2 - 2``.

    Returns
    -------
    numpy.ndarray
        ``J(m) = Γ(m/2) / (√(m/2) · Γ((m-1)/2))``, computed on the log scale
        with :func:`scipy.special.gammaln` (as metafor's ``.cmicalc``).  NaN
        where ``m <= 1`` (undefined).  ``J(m) ≈ 1 - 3/(4m - 1)``.

    References
    ----------
    Hedges LV (1981). Distribution theory for Glass's estimator of effect size
    and related estimators. *J Educ Stat* 6(2):107-128.
    """
    m = np.asarray(m, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.exp(
            special.gammaln(m / 2) - 0.5 * np.log(m / 2) - special.gammaln((m - 1) / 2)
        )
    return np.where(m > 1, out, np.nan)


def _labels(
    k: int, index: Sequence[Any] | None, study: Sequence[Any] | None
) -> tuple[list[Any], list[Any]]:
    rows = list(index) if index is not None else list(range(k))
    studies = list(study) if study is not None else [None] * k
    return rows, studies


def _fail(
    problem: str, field: str, i: int | None, rows: Sequence[Any], studies: Sequence[Any]
) -> EffectInputError:
    if i is None:
        return EffectInputError(problem, field=field)
    return EffectInputError(problem, field=field, row=rows[i], position=i, study=studies[i])


def _parse_float(value: Any) -> tuple[np.ndarray, int | None]:
    """Float array, and the position of the first non-numeric entry (None if all parse)."""
    if isinstance(value, pd.Series):
        value = value.to_numpy()
    if np.isscalar(value) or value is None:
        value = [value]
    raw = pd.Series(list(value), dtype=object)
    arr = pd.to_numeric(raw, errors="coerce").astype(float)
    unparsed = arr.isna().to_numpy() & raw.notna().to_numpy()
    for i in np.flatnonzero(unparsed):
        if not (isinstance(raw.iloc[i], float) and math.isnan(raw.iloc[i])):
            return arr.to_numpy(), int(i)
    return arr.to_numpy(), None


def _to_float_array(value: Any, field: str) -> np.ndarray:
    arr, bad = _parse_float(value)
    if bad is not None:
        raise EffectInputError(
            f"not a number ({list(value)[bad] if not np.isscalar(value) else value!r})",
            field=field, row=bad, position=bad,
        )
    return arr


def _gather(
    fields: dict[str, Any], data: pd.DataFrame | None, study: Any
) -> tuple[dict[str, np.ndarray], int, list, list]:
    """Resolve column names against ``data``, convert to float arrays, broadcast."""
    resolved: dict[str, Any] = {}
    for name, value in fields.items():
        if value is None:
            continue
        if isinstance(value, str):
            if data is None:
                raise EffectInputError(
                    f"got the string {value!r}, but column names need data=DataFrame", field=name
                )
            if value not in data.columns:
                raise EffectInputError(f"column {value!r} not found in data", field=name)
            value = data[value]
        resolved[name] = value

    study_vals = None
    if study is not None:
        if isinstance(study, str) and data is not None:
            if study not in data.columns:
                raise EffectInputError(f"column {study!r} not found in data", field="study")
            study_vals = list(data[study])
        elif isinstance(study, str) or np.isscalar(study):
            study_vals = [study]
        else:
            study_vals = list(study)

    parsed = {name: _parse_float(v) for name, v in resolved.items()}
    arrays = {name: a for name, (a, _) in parsed.items()}
    lengths = {len(a) for a in arrays.values() if len(a) != 1}
    if data is not None:
        lengths.add(len(data))
    if study_vals is not None and len(study_vals) != 1:
        lengths.add(len(study_vals))
    if len(lengths) > 1:
        detail = ", ".join(f"{n}={len(a)}" for n, a in arrays.items())
        raise EffectInputError(f"inputs have different lengths ({detail})", field="(all)")
    k = lengths.pop() if lengths else 1
    arrays = {n: np.broadcast_to(a, (k,)).copy() for n, a in arrays.items()}
    if study_vals is not None and len(study_vals) == 1 and k != 1:
        study_vals = study_vals * k
    index = list(data.index) if data is not None else None
    rows, studies = _labels(k, index, study_vals)
    for name, (_, bad_pos) in parsed.items():
        if bad_pos is not None:
            raw = resolved[name]
            shown = raw if np.isscalar(raw) else list(raw)[bad_pos]
            i = bad_pos if len(rows) > bad_pos else 0
            raise _fail(f"not a number ({shown!r})", name, i, rows, studies)
    for name, a in arrays.items():
        bad = np.flatnonzero(~np.isfinite(a))
        if bad.size:
            i = int(bad[0])
            raise _fail(f"missing or non-finite value ({a[i]})", name, i, rows, studies)
    return arrays, k, rows, studies


def _check(
    cond: np.ndarray,
    problem: str,
    field: str,
    arr: np.ndarray,
    rows: Sequence[Any],
    studies: Sequence[Any],
) -> None:
    bad = np.flatnonzero(cond)
    if bad.size:
        i = int(bad[0])
        raise _fail(f"{problem} (got {arr[i]:g})", field, i, rows, studies)


# --------------------------------------------------------------------------- escalc


def escalc(
    measure: str,
    *,
    m1i: Any = None,
    sd1i: Any = None,
    n1i: Any = None,
    m2i: Any = None,
    sd2i: Any = None,
    n2i: Any = None,
    ai: Any = None,
    bi: Any = None,
    ci: Any = None,
    di: Any = None,
    add: float = 0.5,
    to: str = "only0",
    vtype: str = "LS",
    data: pd.DataFrame | None = None,
    study: Any = None,
    drop00: bool = False,
) -> pd.DataFrame:
    """Compute effect sizes ``yi`` and sampling variances ``vi`` like ``metafor::escalc``.

    Parameters
    ----------
    measure : {"MD", "SMD", "ROM", "RR", "OR", "RD"}
        Effect-size measure (metafor names; see the module docstring table).
    m1i, sd1i, n1i, m2i, sd2i, n2i : scalar, sequence, ndarray, Series or str
        Arm-level means, standard deviations (not SEs) and sample sizes of
        group 1 (experimental) and group 2 (comparator), for ``MD``, ``SMD``,
        ``ROM``.  ``n1i``/``n2i`` are also the arm totals for binary measures
        when ``bi``/``di`` are not given.  With ``data`` a DataFrame, a string
        is taken as a column name.  Scalars broadcast.
    ai, bi, ci, di : as above
        2x2 table for ``RR``, ``OR``, ``RD``: ``ai`` events / ``bi`` non-events
        in group 1, ``ci`` events / ``di`` non-events in group 2.  Give either
        ``bi`` and ``di`` or ``n1i`` and ``n2i`` (then ``bi = n1i - ai``); if
        both are given they must agree.  Non-integer counts (e.g. from a split
        shared control arm) are accepted, as in metafor.
    add : float, default 0.5
        Continuity correction for binary measures (metafor default 1/2).
    to : {"only0", "all", "if0all", "none"}, default "only0"
        Where ``add`` goes (metafor semantics): ``"only0"`` adds it to all four
        cells of each study that has a zero cell; ``"all"`` to every study;
        ``"if0all"`` to every study if any study has a zero cell; ``"none"``
        never.  As in metafor the correction is also applied to ``RD``.
    vtype : str, default "LS"
        Variance estimator (metafor names).  ``MD``: ``"LS"``/``"UB"``
        unpooled sd1²/n1 + sd2²/n2 (metafor default), ``"HO"`` pooled
        s_p²(1/n1 + 1/n2).  ``SMD``: ``"LS"`` 1/n1 + 1/n2 + g²/(2N),
        ``"LS2"`` J²(1/n1 + 1/n2 + d²/(2N)), ``"UB"`` 1/n1 + 1/n2 +
        (1 - (m-2)/(m J²))·g² (unbiased; Hedges 1983).  ``ROM``: ``"LS"``
        (delta method, separate SDs) or ``"HO"`` (pooled SD).  ``RD``: ``"LS"``
        p(1-p)/n or ``"UB"`` p(1-p)/(n-1).  ``RR``/``OR``: only ``"LS"``.
    data : pandas.DataFrame, optional
        If given, the result is a copy of ``data`` (same index) with ``yi`` and
        ``vi`` set (replaced if present), and string arguments are column names.
    study : str or sequence, optional
        Study labels (a column name when ``data`` is given), used in error
        messages and, without ``data``, returned as a ``study`` column.
    drop00 : bool, default False
        metafor's ``drop00``: if True, studies with no events in both arms
        (or only events in both arms) get ``yi = vi = NaN`` instead of a
        continuity-corrected estimate.  The default (False) matches metafor:
        such studies get ``add`` in all cells, yielding e.g. ``yi =
        log((0.5/(n1+1))/(0.5/(n2+1)))`` for ``RR``.

    Returns
    -------
    pandas.DataFrame
        Columns ``yi`` and ``vi`` (float), preceded by ``study`` when given
        without ``data``, or appended to a copy of ``data``.  As metafor does,
        an infinite estimate (only possible with ``to="none"`` and zero cells)
        is returned as NaN, with a :class:`KetamineEvidenceWarning`.

    Raises
    ------
    EffectInputError
        Unknown measure/vtype/to; missing, non-numeric or non-finite inputs;
        SD < 0; n < 2 (continuous) or n <= 0 (binary); counts < 0 or events
        > n; non-positive means for ``ROM``; zero pooled SD for ``SMD``;
        inconsistent lengths.  The message names the row, study and field.

    Notes
    -----
    ``SMD`` is Hedges' g: d = (m1 - m2)/s_p with
    s_p = √[((n1-1)sd1² + (n2-1)sd2²)/(n1+n2-2)] and g = J(n1+n2-2)·d with the
    exact gamma-function factor :func:`hedges_j` (not the 1 - 3/(4m-1)
    approximation).  metafor's ``LS`` variance plugs in g (not d).

    ``ROM`` is the log response ratio (Hedges, Gurevitch & Curtis 1999,
    *Ecology* 80:1150); both means must be strictly positive (ratio-scale
    outcome).  Back-transform: ratio = exp(yi); percent reduction in group 1
    relative to group 2 = 100·(1 - exp(yi)) (see
    :func:`percent_reduction_from_rom`).

    Differences from metafor, all stricter: missing values raise instead of
    giving NA rows; continuous measures need n >= 2 per arm (metafor accepts
    n >= 1); ``ROM`` rejects non-positive means (metafor returns NA).

    References
    ----------
    Viechtbauer W (2010). Conducting meta-analyses in R with the metafor
    package. *J Stat Softw* 36(3):1-48.
    Borenstein M et al. (2009). *Introduction to Meta-Analysis*, ch. 4-5.
    Higgins JPT et al. (eds.) *Cochrane Handbook*, v6.4, ch. 6 and 10.
    """
    if measure not in MEASURES:
        raise EffectInputError(f"unknown measure {measure!r}; use one of {MEASURES}", field="measure")
    if vtype not in _VTYPES[measure]:
        raise EffectInputError(
            f"vtype {vtype!r} not available for {measure}; use one of {_VTYPES[measure]}",
            field="vtype",
        )
    if data is not None and not isinstance(data, pd.DataFrame):
        raise EffectInputError("data must be a pandas DataFrame", field="data")

    if measure in _CONTINUOUS:
        unused = {"ai": ai, "bi": bi, "ci": ci, "di": di}
        fields = {"m1i": m1i, "sd1i": sd1i, "n1i": n1i, "m2i": m2i, "sd2i": sd2i, "n2i": n2i}
    else:
        unused = {"m1i": m1i, "sd1i": sd1i, "m2i": m2i, "sd2i": sd2i}
        fields = {"ai": ai, "bi": bi, "ci": ci, "di": di, "n1i": n1i, "n2i": n2i}
    for name, value in unused.items():
        if value is not None:
            raise EffectInputError(f"not used by measure {measure}; remove it", field=name)

    arrays, k, rows, studies = _gather(fields, data, study)
    if measure in _CONTINUOUS:
        yi, vi = _continuous(measure, arrays, vtype, rows, studies)
    else:
        if to not in _TO:
            raise EffectInputError(f"unknown to={to!r}; use one of {_TO}", field="to")
        if not (np.isfinite(add) and add >= 0):
            raise EffectInputError(f"add must be a finite number >= 0 (got {add!r})", field="add")
        yi, vi = _binary(measure, arrays, add, to, vtype, drop00, rows, studies)

    bad = ~(np.isfinite(yi) & np.isfinite(vi))
    if bad.any():
        names = [f"row {rows[i]}" for i in np.flatnonzero(bad)]
        if not (drop00 and measure in _BINARY):
            warnings.warn(
                f"{measure}: infinite/undefined estimate set to NaN for {', '.join(names)} "
                "(zero cells with to='none'?)",
                KetamineEvidenceWarning,
                stacklevel=2,
            )
        yi = np.where(bad, np.nan, yi)
        vi = np.where(bad, np.nan, vi)
    zero = vi == 0
    if zero.any():
        warnings.warn(
            f"{measure}: zero sampling variance for "
            f"{', '.join(f'row {rows[i]}' for i in np.flatnonzero(zero))} (as metafor); "
            "such a study cannot be weighted by inverse variance",
            KetamineEvidenceWarning,
            stacklevel=2,
        )

    if data is not None:
        out = data.copy()
        out["yi"] = yi
        out["vi"] = vi
        return out
    out = pd.DataFrame({"yi": yi, "vi": vi})
    if study is not None:
        out.insert(0, "study", studies)
    return out


def _continuous(
    measure: str,
    a: dict[str, np.ndarray],
    vtype: str,
    rows: Sequence[Any],
    studies: Sequence[Any],
) -> tuple[np.ndarray, np.ndarray]:
    for name in ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"):
        if name not in a:
            raise EffectInputError(f"required for measure {measure}", field=name)
    m1, sd1, n1, m2, sd2, n2 = (a[x] for x in ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"))
    _check(sd1 < 0, "standard deviation must be >= 0", "sd1i", sd1, rows, studies)
    _check(sd2 < 0, "standard deviation must be >= 0", "sd2i", sd2, rows, studies)
    _check(n1 < 2, "group size must be >= 2", "n1i", n1, rows, studies)
    _check(n2 < 2, "group size must be >= 2", "n2i", n2, rows, studies)
    mdf = n1 + n2 - 2
    sdp = np.sqrt(((n1 - 1) * sd1**2 + (n2 - 1) * sd2**2) / mdf)
    if measure == "MD":
        yi = m1 - m2
        vi = sd1**2 / n1 + sd2**2 / n2 if vtype in ("LS", "UB") else sdp**2 * (1 / n1 + 1 / n2)
        _check(vi <= 0, "both SDs are 0, so the variance is 0", "sd1i", sd1, rows, studies)
        return yi, vi
    if measure == "SMD":
        _check(sdp <= 0, "pooled SD is 0 (both SDs are 0); SMD undefined", "sd1i", sd1, rows, studies)
        cm = hedges_j(mdf)
        d = (m1 - m2) / sdp
        yi = cm * d
        ntot = n1 + n2
        if vtype == "LS":
            vi = 1 / n1 + 1 / n2 + yi**2 / (2 * ntot)
        elif vtype == "LS2":
            vi = cm**2 * (1 / n1 + 1 / n2 + d**2 / (2 * ntot))
        else:  # UB
            vi = 1 / n1 + 1 / n2 + (1 - (mdf - 2) / (mdf * cm**2)) * yi**2
        return yi, vi
    # ROM
    _check(m1 <= 0, "ROM needs a strictly positive mean (ratio-scale outcome)", "m1i", m1, rows, studies)
    _check(m2 <= 0, "ROM needs a strictly positive mean (ratio-scale outcome)", "m2i", m2, rows, studies)
    yi = np.log(m1 / m2)
    if vtype == "LS":
        vi = sd1**2 / (n1 * m1**2) + sd2**2 / (n2 * m2**2)
    else:  # HO
        vi = sdp**2 / (n1 * m1**2) + sdp**2 / (n2 * m2**2)
    _check(vi <= 0, "both SDs are 0, so the variance is 0", "sd1i", sd1, rows, studies)
    return yi, vi


def _binary(
    measure: str,
    a: dict[str, np.ndarray],
    add: float,
    to: str,
    vtype: str,
    drop00: bool,
    rows: Sequence[Any],
    studies: Sequence[Any],
) -> tuple[np.ndarray, np.ndarray]:
    for name in ("ai", "ci"):
        if name not in a:
            raise EffectInputError(f"required for measure {measure}", field=name)
    ai, ci = a["ai"], a["ci"]
    _check(ai < 0, "event count must be >= 0", "ai", ai, rows, studies)
    _check(ci < 0, "event count must be >= 0", "ci", ci, rows, studies)
    cols = {}
    for b, n, ev in (("bi", "n1i", "ai"), ("di", "n2i", "ci")):
        if b in a:
            _check(a[b] < 0, "non-event count must be >= 0", b, a[b], rows, studies)
            if n in a:
                _check(
                    ~np.isclose(a[n], a[ev] + a[b], rtol=0, atol=1e-9),
                    f"must equal {ev} + {b}",
                    n,
                    a[n],
                    rows,
                    studies,
                )
            cols[b] = a[b]
        elif n in a:
            _check(a[n] <= 0, "group size must be > 0", n, a[n], rows, studies)
            _check(a[ev] > a[n], f"events ({ev}) exceed the group size", n, a[n], rows, studies)
            cols[b] = a[n] - a[ev]
        else:
            raise EffectInputError(f"give {b} or {n} for measure {measure}", field=f"{b}/{n}")
    bi, di = cols["bi"], cols["di"]
    _check(ai + bi <= 0, "group 1 is empty (ai + bi = 0)", "ai", ai, rows, studies)
    _check(ci + di <= 0, "group 2 is empty (ci + di = 0)", "ci", ci, rows, studies)

    ai, bi, ci, di = (x.astype(float).copy() for x in (ai, bi, ci, di))
    id00 = ((ai == 0) & (ci == 0)) | ((bi == 0) & (di == 0))
    id0 = (ai == 0) | (bi == 0) | (ci == 0) | (di == 0)
    if to == "all":
        corr = np.ones_like(ai, dtype=bool)
    elif to == "only0":
        corr = id0
    elif to == "if0all":
        corr = np.full_like(ai, id0.any(), dtype=bool)
    else:
        corr = np.zeros_like(ai, dtype=bool)
    ai, bi, ci, di = (x + np.where(corr, add, 0.0) for x in (ai, bi, ci, di))
    n1, n2 = ai + bi, ci + di
    p1, p2 = ai / n1, ci / n2
    with np.errstate(divide="ignore", invalid="ignore"):
        if measure == "RR":
            yi = np.log(p1) - np.log(p2)
            vi = 1 / ai - 1 / n1 + 1 / ci - 1 / n2
        elif measure == "OR":
            yi = np.log(p1 / (1 - p1)) - np.log(p2 / (1 - p2))
            vi = 1 / ai + 1 / bi + 1 / ci + 1 / di
        else:  # RD
            yi = p1 - p2
            if vtype == "UB":
                vi = p1 * (1 - p1) / (n1 - 1) + p2 * (1 - p2) / (n2 - 1)
            else:
                vi = p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2
    if drop00:
        yi = np.where(id00, np.nan, yi)
        vi = np.where(id00, np.nan, vi)
    return yi, vi


# --------------------------------------------------------------------------- generic inverse variance


def _vec(value: Any, field: str) -> np.ndarray:
    arr = _to_float_array(value, field)
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise EffectInputError(
            f"missing or non-finite value ({arr[bad[0]]})", field=field, row=int(bad[0]),
            position=int(bad[0]),
        )
    return arr


def _bcast(**named: Any) -> dict[str, np.ndarray]:
    arrays = {k: _vec(v, k) for k, v in named.items() if v is not None}
    try:
        shape = np.broadcast_shapes(*(a.shape for a in arrays.values()))
    except ValueError:
        detail = ", ".join(f"{n}={len(a)}" for n, a in arrays.items())
        raise EffectInputError(f"inputs have different lengths ({detail})", field="(all)") from None
    return {k: np.broadcast_to(a, shape).astype(float) for k, a in arrays.items()}


def _crit(level: float, df: Any) -> tuple[np.ndarray, str]:
    if not 0 < level < 1:
        raise EffectInputError(f"level must be in (0, 1) (got {level!r})", field="level")
    q = 1 - (1 - level) / 2
    if df is None:
        return np.asarray(stats.norm.ppf(q)), f"z_{q:g}"
    dfa = _vec(df, "df")
    if (dfa <= 0).any():
        raise EffectInputError("degrees of freedom must be > 0", field="df")
    return stats.t.ppf(q, dfa), f"t_{q:g},df"


def _result(yi: npt.ArrayLike, vi: npt.ArrayLike, method: str | Sequence[str]) -> pd.DataFrame:
    y = np.atleast_1d(np.asarray(yi, dtype=float))
    v = np.atleast_1d(np.asarray(vi, dtype=float))
    methods = [method] * len(y) if isinstance(method, str) else list(method)
    return pd.DataFrame({"yi": y, "vi": v, "method": methods})


def from_se(estimate: Any, se: Any, *, log_scale: bool = False) -> pd.DataFrame:
    """Generic inverse-variance input from an estimate and its standard error.

    Parameters
    ----------
    estimate : array_like
        Effect estimate.  If ``log_scale`` is True it is a ratio (RR, OR, HR,
        ratio of means) on its natural scale and is log-transformed.
    se : array_like
        Standard error, already on the analysis scale (for ratios: SE of the
        *log* ratio, as reported by regression output).  Must be > 0.
    log_scale : bool, default False
        Take ``yi = log(estimate)``.

    Returns
    -------
    pandas.DataFrame
        Columns ``yi``, ``vi = se²``, ``method`` (one row per estimate).

    References
    ----------
    Cochrane Handbook v6.4, section 6.3 (generic inverse-variance outcome data).
    """
    a = _bcast(estimate=estimate, se=se)
    est, s = a["estimate"], a["se"]
    if (s <= 0).any():
        raise EffectInputError("standard error must be > 0", field="se")
    if log_scale:
        if (est <= 0).any():
            raise EffectInputError("ratio estimate must be > 0 to take logs", field="estimate")
        return _result(np.log(est), s**2, "yi = log(estimate); vi = SE^2 (SE of log ratio as given)")
    return _result(est, s**2, "yi = estimate; vi = SE^2")


def from_ci(
    estimate: Any,
    ci_low: Any,
    ci_high: Any,
    level: float = 0.95,
    log_scale: bool = False,
    df: Any = None,
    *,
    symmetry_tol: float = 0.1,
) -> pd.DataFrame:
    """Generic inverse-variance input from an estimate and its confidence interval.

    ``SE = (upper - lower) / (2·q)`` with ``q = z_{1-α/2}`` (normal, default;
    1.959964 for 95%) or ``q = t_{1-α/2, df}`` when ``df`` is given (small
    samples: for a mean difference from two groups use ``df = n1 + n2 - 2``).
    For ratio measures (``log_scale=True``) estimate and limits are ratios and
    everything is log-transformed first: ``yi = log(est)``,
    ``SE = (log(upper) - log(lower))/(2q)`` (as in ``metadat::dat.hackshaw1998``).

    Parameters
    ----------
    estimate, ci_low, ci_high : array_like
        Point estimate and CI limits on the reported scale.
    level : float, default 0.95
        Confidence level of the reported interval.
    log_scale : bool, default False
        The interval is for a ratio; analyse on the natural-log scale.
    df : array_like, optional
        Degrees of freedom for a t-based interval; None means normal.
    symmetry_tol : float, default 0.1
        A :class:`KetamineEvidenceWarning` is issued when, on the analysis
        scale, ``|(upper - est) - (est - lower)| > symmetry_tol·(upper - lower)``:
        an asymmetric interval suggests a wrong scale (e.g. a ratio CI given
        with ``log_scale=False``) or a transcription error.

    Returns
    -------
    pandas.DataFrame
        Columns ``yi``, ``vi = SE²``, ``method``.

    Raises
    ------
    EffectInputError
        If ``lower >= upper``, the estimate lies outside the interval, or a
        ratio/limit is not positive with ``log_scale``.

    References
    ----------
    Cochrane Handbook v6.4, sections 6.3.1 (ratio measures on the log scale)
    and 6.5.2.2-6.5.2.3 (t-based intervals for small samples).
    """
    a = _bcast(estimate=estimate, ci_low=ci_low, ci_high=ci_high)
    est, lo, hi = a["estimate"], a["ci_low"], a["ci_high"]
    if (lo >= hi).any():
        i = int(np.flatnonzero(lo >= hi)[0])
        raise EffectInputError("lower limit must be below upper limit", field="ci_low", row=i, position=i)
    if ((est < lo) | (est > hi)).any():
        i = int(np.flatnonzero((est < lo) | (est > hi))[0])
        raise EffectInputError("estimate lies outside its CI", field="estimate", row=i, position=i)
    if log_scale:
        if (lo <= 0).any():
            raise EffectInputError("ratio CI limits must be > 0 to take logs", field="ci_low")
        est, lo, hi = np.log(est), np.log(lo), np.log(hi)
    q, qname = _crit(level, df)
    se = (hi - lo) / (2 * q)
    asym = np.abs((hi - est) - (est - lo)) > symmetry_tol * (hi - lo)
    if asym.any():
        warnings.warn(
            f"CI asymmetric around the estimate on the {'log' if log_scale else 'raw'} scale for "
            f"rows {list(np.flatnonzero(asym))}; check scale (log_scale?) and transcription",
            KetamineEvidenceWarning,
            stacklevel=2,
        )
    scale = "log " if log_scale else ""
    method = (
        f"yi = {'log(estimate)' if log_scale else 'estimate'}; "
        f"SE = ({scale}upper - {scale}lower)/(2*{qname}) from {level:.0%} CI; vi = SE^2"
    )
    if df is not None:
        dfa = np.broadcast_to(_vec(df, "df"), se.shape)
        return _result(est, se**2, [method.replace("df", f"df={d:g}") for d in dfa])
    return _result(est, se**2, method)


def from_pvalue(
    estimate: Any,
    pvalue: Any,
    df: Any = None,
    two_sided: bool = True,
    *,
    log_scale: bool = False,
) -> pd.DataFrame:
    """Generic inverse-variance input from an estimate and its exact p value.

    ``SE = |estimate| / q`` where ``q = Φ⁻¹(1 - p/2)`` (two-sided) or
    ``Φ⁻¹(1 - p)`` (one-sided), or the t quantile with ``df`` degrees of
    freedom when ``df`` is given.  Only use *exact* p values: "p < 0.05"
    cannot be converted (a bound gives only a bound on the SE).  The estimate
    must not be 0 (the SE is then unidentifiable); p = 1 is rejected for the
    same reason.

    Parameters
    ----------
    estimate : array_like
        Effect estimate (a ratio if ``log_scale``; then ``yi = log(estimate)``).
    pvalue : array_like
        Exact p value in (0, 1), from a Wald-type z or t test of estimate = 0
        (ratio = 1).
    df : array_like, optional
        Degrees of freedom of a t test (e.g. n1 + n2 - 2); None means normal.
    two_sided : bool, default True
        Whether the reported p value is two-sided.
    log_scale : bool, default False
        The estimate is a ratio; analyse on the natural-log scale.

    Returns
    -------
    pandas.DataFrame
        Columns ``yi``, ``vi = SE²``, ``method``.

    References
    ----------
    Cochrane Handbook v6.4, sections 6.3.2 (obtaining SEs from P values) and
    6.5.2.3 (t statistic from P values).
    """
    a = _bcast(estimate=estimate, pvalue=pvalue)
    est, p = a["estimate"], a["pvalue"]
    if ((p <= 0) | (p >= 1)).any():
        raise EffectInputError("p value must be strictly between 0 and 1", field="pvalue")
    if log_scale:
        if (est <= 0).any():
            raise EffectInputError("ratio estimate must be > 0 to take logs", field="estimate")
        est = np.log(est)
    if (est == 0).any():
        raise EffectInputError("estimate (on the analysis scale) is 0: SE not identifiable", field="estimate")
    tail = p / 2 if two_sided else p
    if df is None:
        q = stats.norm.isf(tail)
        qname = "z"
    else:
        dfa = _vec(df, "df")
        if (dfa <= 0).any():
            raise EffectInputError("degrees of freedom must be > 0", field="df")
        q = stats.t.isf(tail, dfa)
        qname = "t(df)"
    se = np.abs(est) / q
    sided = "two-sided" if two_sided else "one-sided"
    method = f"SE = |{'log(estimate)' if log_scale else 'estimate'}| / {qname} quantile of {sided} p; vi = SE^2"
    return _result(est, se**2, method)


def from_cohen_d(d: Any, n1: Any, n2: Any, *, vtype: str = "LS") -> pd.DataFrame:
    """Convert a reported Cohen's d (pooled-SD standardised mean difference) to Hedges' g.

    ``g = J(n1 + n2 - 2)·d`` with the exact factor :func:`hedges_j`, and
    variance as :func:`escalc` ``SMD`` (default ``"LS"``:
    ``1/n1 + 1/n2 + g²/(2(n1 + n2))``).  Identical to
    ``metafor::escalc("SMD", di=d, n1i=n1, n2i=n2)``.  Only valid when d was
    standardised by the pooled within-group SD of two independent groups (not
    by a change-score SD or a baseline SD).

    Returns
    -------
    pandas.DataFrame
        Columns ``yi`` (g), ``vi``, ``method``.
    """
    a = _bcast(d=d, n1=n1, n2=n2)
    out = escalc("SMD", m1i=a["d"], m2i=0.0, sd1i=1.0, sd2i=1.0, n1i=a["n1"], n2i=a["n2"], vtype=vtype)
    return _result(out["yi"], out["vi"], f"g = J(n1+n2-2)*d (exact J); vi = SMD vtype {vtype}")


def from_t_independent(t: Any, n1: Any, n2: Any, *, vtype: str = "LS") -> pd.DataFrame:
    """Hedges' g from an independent-samples (pooled-variance) t statistic.

    ``d = t·√(1/n1 + 1/n2)``, then as :func:`from_cohen_d`; identical to
    ``metafor::escalc("SMD", ti=t, n1i=n1, n2i=n2)``.  The sign of ``t`` must
    follow the group-1-minus-group-2 convention.  Not for paired/crossover
    t statistics (see :mod:`ketamine_evidence.conversions`).

    Returns
    -------
    pandas.DataFrame
        Columns ``yi`` (g), ``vi``, ``method``.

    References
    ----------
    Borenstein M et al. (2009). *Introduction to Meta-Analysis*, eq. 4.21-4.22.
    """
    a = _bcast(t=t, n1=n1, n2=n2)
    d = a["t"] * np.sqrt(1 / a["n1"] + 1 / a["n2"])
    out = from_cohen_d(d, a["n1"], a["n2"], vtype=vtype)
    out["method"] = f"d = t*sqrt(1/n1+1/n2); g = J(n1+n2-2)*d; vi = SMD vtype {vtype}"
    return out


def percent_reduction_from_rom(yi: Any, ci_low: Any = None, ci_high: Any = None) -> pd.DataFrame:
    """Back-transform a log ratio of means (``ROM``) to a percent reduction.

    ``reduction = 100·(1 - exp(yi))``: the percentage by which the group-1
    mean is lower than the group-2 mean (negative = higher).  Because the map
    is decreasing, the CI limits swap: ``reduction_low = 100·(1 - exp(ci_high))``
    and ``reduction_high = 100·(1 - exp(ci_low))``.

    Parameters
    ----------
    yi : array_like
        Log ratio(s) of means, natural log.
    ci_low, ci_high : array_like, optional
        CI limits of ``yi`` on the log scale (e.g. from a pooled estimate).

    Returns
    -------
    pandas.DataFrame
        Column ``reduction`` (percent), plus ``reduction_low`` and
        ``reduction_high`` when limits are given.
    """
    a = _bcast(yi=yi, ci_low=ci_low, ci_high=ci_high)
    out = pd.DataFrame({"reduction": np.atleast_1d(100 * (1 - np.exp(a["yi"])))})
    if ("ci_low" in a) != ("ci_high" in a):
        raise EffectInputError("give both ci_low and ci_high, or neither", field="ci_low")
    if "ci_low" in a:
        if (a["ci_low"] > a["ci_high"]).any():
            raise EffectInputError("ci_low must be <= ci_high", field="ci_low")
        out["reduction_low"] = np.atleast_1d(100 * (1 - np.exp(a["ci_high"])))
        out["reduction_high"] = np.atleast_1d(100 * (1 - np.exp(a["ci_low"])))
    return out


def measure_scale(measure: str) -> str:
    """``"log"`` for ratio measures (ROM, RR, OR, HR, IRR: analysed as log ratios, as in
    metafor), else ``"identity"`` (MD, SMD, RD: analysed as they are)."""
    return "log" if str(measure).upper() in RATIO_MEASURES else "identity"

