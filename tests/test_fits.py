"""results/analyses.json: what the analysis step saves gives back exactly what it computed."""

import json

import numpy as np
import pandas as pd
import pytest

from ketamine_evidence import meta
from ketamine_evidence.analysis.fits import FitsError, read_fits, write_fits
from ketamine_evidence.analysis.pooling import run_analyses, study_effects_table
from ketamine_evidence.config import AnalysisSettings

SETTINGS = AnalysisSettings.coerce({
    "method": "REML", "test": "knha", "analyses": [
        {"id": "end", "title": "End of treatment", "outcome": "ptsd_severity",
         "measure": "SMD", "window_days": [1, 35]},
        {"id": "none", "title": "Nothing selected", "outcome": "relapse", "measure": "RR"},
    ]})


def _effects() -> pd.DataFrame:
    rows = [("a2014", -0.9, 0.10, 2014), ("b2018", -0.2, 0.12, 2018), ("c2020", -0.6, 0.05, 2020),
            ("d2021", np.nan, 0.07, 2021), ("e2022", -0.35, 0.09, 2022)]
    frame = pd.DataFrame(rows, columns=["study_id", "yi", "vi", "year"])
    frame["label"] = frame["study_id"].str.upper()
    frame["comparison"] = "k vs c"
    frame["outcome"] = "ptsd_severity"
    frame["instrument"] = ["CAPS-5", None, "PCL-5", "CAPS-5", "IES-R"]
    frame["timepoint_days"] = 7.0
    frame["measure"] = "SMD"
    frame["sensitivity"] = False
    return frame


def _same(a, b) -> None:
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    elif hasattr(a, "__dataclass_fields__"):
        assert type(a) is type(b)
        for name in a.__dataclass_fields__:
            if name != "fit":
                _same(getattr(a, name), getattr(b, name))
    elif isinstance(a, float) and np.isnan(a):
        assert isinstance(b, float) and np.isnan(b)
    else:
        assert a == b


def test_saved_fits_read_back_exactly(tmp_path):
    outcomes = run_analyses(_effects(), SETTINGS)
    assert outcomes[0].k == 4 and outcomes[0].trimfill is not None   # every part present
    path = write_fits(outcomes, SETTINGS, tmp_path / "analyses.json")
    settings, back = read_fits(path)
    assert settings == SETTINGS
    for before, after in zip(outcomes, back, strict=True):
        assert (after.analysis_id, after.spec, after.model, after.notes) == (
            before.analysis_id, before.spec, before.model, before.notes)
        for part in ("selected", "result", "tau2_ci", "egger", "trimfill", "leave1out",
                     "cumulative"):
            if getattr(before, part) is None:
                assert getattr(after, part) is None
            else:
                _same(getattr(before, part), getattr(after, part))
        _same(study_effects_table(before), study_effects_table(after))
    assert back[0].result.estimate == pytest.approx(
        meta.rma([-0.9, -0.2, -0.6, -0.35], [0.10, 0.12, 0.05, 0.09]).estimate, rel=1e-15)


def test_file_is_plain_json_with_the_settings_used(tmp_path):
    path = write_fits(run_analyses(_effects(), SETTINGS), SETTINGS, tmp_path / "a.json")
    data = json.loads(path.read_text())
    assert data["settings"]["method"] == "REML"
    assert data["analyses"][0]["result"]["__type__"] == "RMAResult"
    assert data["analyses"][1]["result"] is None


def test_unreadable_file_is_named(tmp_path):
    with pytest.raises(FitsError, match="no such file"):
        read_fits(tmp_path / "absent.json")
    (tmp_path / "x.json").write_text('{"format": "other"}')
    with pytest.raises(FitsError, match="x.json: not an analyses file"):
        read_fits(tmp_path / "x.json")
