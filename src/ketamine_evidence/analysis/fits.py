"""What the analysis step computed, saved once for the steps after it (``results/analyses.json``).

The ``analyze`` step is the only one that pools. Besides the tidy tables (``pooled.csv``,
``study_effects.csv``, ``sensitivity.csv``, ``moderators.csv``) it writes this JSON file with
everything later steps draw or describe, so that they read it instead of pooling again:

``format``
    ``"ketamine-evidence analyses 1"``.
``settings``
    the ``analysis`` settings the step ran with (estimator, test, level, PI df, crossover
    correlations, instrument priority, the pre-specified analyses), as in ``config.yaml``.
``analyses``
    one object per pre-specified analysis, in order: ``analysis_id``, ``spec`` (its entry of
    ``analysis.analyses``), ``model`` (method, test, level, pi_df), ``notes``, ``selected``
    (the effect rows pooled), ``result`` (the random-effects fit, metafor ``rma``),
    ``tau2_ci`` (Q-profile interval), ``egger`` (metafor ``regtest``), ``trimfill`` (its
    filled points and refit), ``leave1out`` and ``cumulative`` (frames, metafor ``leave1out``
    and ``cumul``); absent parts are ``null``.

Encoding: a result object is a JSON object with ``"__type__"`` naming its class in
:mod:`ketamine_evidence.meta` and one key per attribute (the regression internals of
``regtest``, ``fit``, are not saved); a numpy array is ``{"__array__": [...], "dtype": ...}``;
a table is ``{"__frame__": {"columns", "dtypes", "index", "data"}}`` (rows of values); a tuple
is ``{"__tuple__": [...]}``. Floats are written with full precision, missing values as
``NaN`` (Python's ``json`` module, R's ``jsonlite::fromJSON`` read it), so reading the file
gives back the objects exactly.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ketamine_evidence import KetamineEvidenceError, meta
from ketamine_evidence.analysis.pooling import AnalysisOutcome
from ketamine_evidence.config import AnalysisSettings, AnalysisSpec
from ketamine_evidence.tables import write_text

FORMAT = "ketamine-evidence analyses 1"
_TYPES = {cls.__name__: cls for cls in (meta.RMAResult, meta.Tau2CI, meta.RegtestResult,
                                        meta.TrimfillResult)}
_NOT_SAVED = {"RegtestResult": {"fit"}}
_PARTS = ("result", "tau2_ci", "egger", "trimfill", "leave1out", "cumulative")


class FitsError(KetamineEvidenceError, ValueError):
    """``analyses.json`` is missing or not what the analysis step writes; names the file."""


def _encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        name = type(value).__name__
        if name not in _TYPES:
            raise TypeError(f"cannot save a {name}")
        skip = _NOT_SAVED.get(name, set())
        return {"__type__": name, **{f.name: _encode(getattr(value, f.name))
                                     for f in dataclasses.fields(value) if f.name not in skip}}
    if isinstance(value, np.ndarray):
        return {"__array__": _encode(value.tolist()), "dtype": str(value.dtype)}
    if isinstance(value, pd.DataFrame):
        index = value.index
        return {"__frame__": {
            "columns": [str(c) for c in value.columns],
            "dtypes": [str(t) for t in value.dtypes],
            "index": None if index.equals(pd.RangeIndex(len(value))) else _encode(list(index)),
            "data": [[_encode(v) for v in row] for row in value.itertuples(index=False)],
        }}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _encode(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "__type__" in value:
        cls = _TYPES[value["__type__"]]
        fields = {k: _decode(v) for k, v in value.items() if k != "__type__"}
        return cls(**fields)
    if "__array__" in value:
        return np.asarray(_decode(value["__array__"]), dtype=value["dtype"])
    if "__tuple__" in value:
        return tuple(_decode(v) for v in value["__tuple__"])
    if "__frame__" in value:
        spec = value["__frame__"]
        frame = pd.DataFrame([_decode(row) for row in spec["data"]], columns=spec["columns"])
        for column, dtype in zip(spec["columns"], spec["dtypes"], strict=True):
            if str(frame[column].dtype) != dtype:
                frame[column] = frame[column].astype(dtype)
        if spec["index"] is not None:
            frame.index = _decode(spec["index"])
        return frame
    return {k: _decode(v) for k, v in value.items()}


def fits_document(outcomes: Sequence[AnalysisOutcome], settings: AnalysisSettings) -> dict:
    """The JSON-ready content of ``analyses.json`` (see the module docstring)."""
    return {
        "format": FORMAT,
        "settings": settings.to_dict(),
        "analyses": [{
            "analysis_id": o.analysis_id,
            "spec": o.spec.to_dict(),
            "model": _encode(o.model),
            "notes": list(o.notes),
            "selected": _encode(o.selected),
            **{part: _encode(getattr(o, part)) for part in _PARTS},
        } for o in outcomes],
    }


def write_fits(outcomes: Sequence[AnalysisOutcome], settings: AnalysisSettings,
               path: str | Path) -> Path:
    """Write ``analyses.json`` atomically."""
    text = json.dumps(fits_document(outcomes, settings), indent=1, ensure_ascii=False)
    return write_text(text + "\n", path)


def _read_document(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FitsError(f"{path}: no such file (run the analyze step first)") from None
    except ValueError as exc:
        raise FitsError(f"{path}: not JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise FitsError(f"{path}: not an analyses file of format {FORMAT!r}")
    return data


def read_recorded_settings(path: str | Path) -> AnalysisSettings:
    """The ``analysis`` settings the analysis step ran with (for the report's Methods)."""
    return AnalysisSettings.coerce(_read_document(Path(path))["settings"])


def read_fits(path: str | Path) -> tuple[AnalysisSettings, list[AnalysisOutcome]]:
    """The settings and the outcomes the analysis step saved, exactly as it computed them."""
    data = _read_document(Path(path))
    settings = AnalysisSettings.coerce(data["settings"])
    outcomes = []
    for item in data["analyses"]:
        outcomes.append(AnalysisOutcome(
            item["analysis_id"], AnalysisSpec.coerce(item["spec"]), _decode(item["selected"]),
            model=_decode(item["model"]), notes=list(item["notes"]),
            **{part: _decode(item[part]) for part in _PARTS}))
    return settings, outcomes
