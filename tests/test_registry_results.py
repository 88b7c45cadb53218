"""Extraction of arm-level numbers from ClinicalTrials.gov posted results (API v2 JSON)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
from scipy import stats

from ketamine_evidence import registry_results as rr
from ketamine_evidence.config import load_settings

#: the default review's vocabulary (config.yaml): arm pattern, instrument aliases, outcomes
VOCAB = load_settings(Path(__file__).resolve().parent.parent / "config.yaml").vocabulary

HERE = Path(__file__).resolve().parent
FIXTURE = HERE / "fixtures" / "registry" / "ketamine_midazolam_posted.json"
REAL = HERE.parent.parent / "shared" / "fixtures" / "real"
OM = "resultsSection.outcomeMeasuresModule.outcomeMeasures"


@pytest.fixture(scope="module")
def study():
    return rr.load_study_json(FIXTURE)


@pytest.fixture(scope="module")
def arms(study):
    return rr.registry_arm_rows(study)


def _arm(arms, outcome, group):
    row = arms[(arms.outcome_index == outcome) & (arms.group_id == group)]
    assert len(row) == 1
    return row.iloc[0]


# --------------------------------------------------------------------------- parsers
@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("24 hours", 1.0),
        ("24 hours after first infusion", 1.0),
        ("Day 7", 7.0),
        ("Week 2", 14.0),
        ("2 weeks", 14.0),
        ("From Baseline to Week 12", 84.0),
        ("Baseline (Week 0)", 0.0),
        ("Baseline", 0.0),
        ("40 minutes after start of infusion", 40 / 1440),
        ("2 year/end of study", 730.5),
        ("Throughout the study conduct (up to Week 52)", 364.0),
        ("end of treatment", None),
        (None, None),
    ],
)
def test_parse_timeframe_days(text, days):
    got = rr.parse_timeframe_days(text)
    if days is None:
        assert got is None
    else:
        assert got == pytest.approx(days)


@pytest.mark.parametrize(
    ("text", "value", "qual", "ok"),
    [
        ("11.88", 11.88, None, True),
        ("-2.13", -2.13, None, True),
        ("<0.001", 0.001, "<", True),
        ("≤0.05", 0.05, "<=", True),
        ("1,234", 1234.0, None, True),
        ("NA", None, None, False),
        ("", None, None, False),
        (None, None, None, False),
        ("n/a", None, None, False),
    ],
)
def test_parse_registry_number(text, value, qual, ok):
    v, q, problem = rr.parse_registry_number(text)
    assert (problem is None) == ok
    assert v == value
    assert q == qual


@pytest.mark.parametrize(
    ("text", "norm"),
    [
        ("Standard Deviation", "STANDARD_DEVIATION"),
        ("STANDARD_DEVIATION", "STANDARD_DEVIATION"),
        ("Standard Error", "STANDARD_ERROR"),
        ("STANDARD_ERROR_OF_MEAN", "STANDARD_ERROR"),
        ("95% Confidence Interval", "CONFIDENCE_95"),
        ("90% Confidence Interval", "CONFIDENCE_90"),
        ("CONFIDENCE_95", "CONFIDENCE_95"),
        ("Inter-Quartile Range", "INTER_QUARTILE_RANGE"),
        ("Full Range", "FULL_RANGE"),
        ("Geometric Coefficient of Variation", "GEOMETRIC_COEFFICIENT"),
        ("something new", "OTHER:something new"),
        (None, None),
    ],
)
def test_normalise_dispersion(text, norm):
    assert rr.normalise_dispersion(text) == norm


# --------------------------------------------------------------------------- hand-made record
def test_every_measurement_and_missing_group_is_a_row(arms):
    # 6 outcomes x 2 groups, none dropped
    assert len(arms) == 12
    assert set(arms.source_id) == {"NCT99999901"}
    assert list(arms.columns) == rr.ARM_ROW_COLUMNS


def test_mean_sd_as_posted_with_json_path(arms):
    k = _arm(arms, 0, "OG000")
    assert k.value == 11.88 and k.sd == 9.1 and k.n == 15
    assert k.sd_derivation == "SD as posted"
    assert k.location == f"{OM}[0].classes[0].categories[0].measurements[0].value"
    assert k.n_location == f"{OM}[0].denoms[0].counts[0].value"
    assert k.spread_location == f"{OM}[0].classes[0].categories[0].measurements[0].spread"
    assert k.timepoint_days == 14
    assert k.extractable


def test_ls_mean_se_converted_to_sd(arms):
    k = _arm(arms, 1, "OG000")
    assert k.param_type == "LEAST_SQUARES_MEAN"
    assert k.sd == pytest.approx(3.0 * math.sqrt(16))
    assert "SD = SE*sqrt(n)" in k.sd_derivation
    assert k.se == 3.0


def test_ci_converted_to_sd_with_t(arms):
    k = _arm(arms, 2, "OG000")
    q = stats.t.ppf(0.975, 14)
    assert k.sd == pytest.approx(math.sqrt(15) * (16.0 - 8.0) / (2 * q))
    assert "95% CI" in k.sd_derivation
    assert k.timepoint_days == 1


def test_count_of_participants(arms):
    k = _arm(arms, 3, "OG000")
    c = _arm(arms, 3, "OG001")
    assert (k.value, k.n, c.value, c.n) == (10, 15, 3, 15)
    assert k.extractable and math.isnan(k.sd)


def test_missing_dispersion_is_not_extractable_with_reason(arms):
    k = _arm(arms, 4, "OG000")
    assert k.value == 14.2
    assert not k.extractable
    assert "no dispersion" in k.reason


def test_na_value_is_recorded_not_dropped(arms):
    m = _arm(arms, 5, "OG001")
    assert not m.extractable
    assert (
        "NA" in m.reason and f"{OM}[5].classes[0].categories[0].measurements[1].value" in m.reason
    )
    assert m.comment == "Data not collected at this visit."
    assert _arm(arms, 5, "OG000").extractable


def test_analyses_block(study):
    an = rr.registry_analyses(study)
    assert len(an) == 2
    md = an.iloc[0]
    assert md.measure == "MD" and md.estimate == -11.68
    assert (md.ci_low, md.ci_high, md.ci_level) == (-19.2, -4.16, 0.95)
    assert md.pvalue == 0.003 and md.pvalue_qualifier == "="
    assert md.location == f"{OM}[0].analyses[0]"
    assert md.group_ids == "OG000;OG001"
    rrow = an.iloc[1]
    assert rrow.measure == "RR" and rrow.pvalue_qualifier == "<"


def test_baseline_counts(study):
    b = rr.registry_baseline_counts(study)
    assert b.set_index("group_id").n.to_dict() == {"BG000": 15, "BG001": 15, "BG002": 30}


def test_to_extraction_rows_pairs_ketamine_as_arm1(arms):
    wide = rr.registry_to_extraction_rows(arms, arm1_pattern=VOCAB.arm_pattern,
                                          study_ids={"NCT99999901": "test2099"})
    assert len(wide) == 6
    caps = wide[wide.outcome_index == 0].iloc[0]
    assert caps.study_id == "test2099"
    assert (caps.m1i, caps.sd1i, caps.n1i, caps.m2i, caps.sd2i, caps.n2i) == (
        11.88,
        9.1,
        15,
        23.56,
        10.9,
        15,
    )
    assert caps.data_type == "arm" and caps.extractable
    resp = wide[wide.outcome_index == 3].iloc[0]
    assert resp.data_type == "count" and (resp.ai, resp.ci) == (10, 3)
    ies = wide[wide.outcome_index == 5].iloc[0]
    assert not ies.extractable and "OG001" in ies.reason


def test_unpairable_groups_are_kept(arms):
    wide = rr.registry_to_extraction_rows(arms, arm1_pattern="(?i)psilocybin")
    assert len(wide) == 6
    assert set(wide.data_type) == {"unpaired"}
    assert wide.reason.str.contains("could not be paired").all()


def test_not_a_study_object(tmp_path):
    bad = tmp_path / "search.json"
    bad.write_text(json.dumps({"studies": []}))
    with pytest.raises(rr.RegistryResultsError, match="not a ClinicalTrials.gov API v2 study"):
        rr.load_study_json(bad)
    arms, analyses, problems = rr.snapshot_registry_tables([bad, FIXTURE])
    assert len(problems) == 1 and "search.json" in problems[0]
    assert len(arms) == 12 and len(analyses) == 2


def test_study_without_results_gives_empty_tables():
    study = {"protocolSection": {"identificationModule": {"nctId": "NCT00000001"}}}
    assert rr.registry_arm_rows(study).empty
    assert rr.registry_analyses(study).empty


# --------------------------------------------------------------------------- comparison
def _curated(**over):
    base = {
        "row_id": "E0001",
        "study_id": "test2099",
        "comparison": "ketamine vs midazolam",
        "outcome": "ptsd_severity",
        "instrument": "CAPS-5",
        "timepoint": "week 2",
        "timepoint_days": 14.0,
        "data_type": "arm",
        "m1i": 11.9,
        "sd1i": 9.1,
        "se1i": None,
        "n1i": 15.0,
        "m2i": 25.0,
        "sd2i": None,
        "se2i": 2.81,
        "n2i": 15.0,
        "ai": None,
        "ci": None,
        "source_id": "PMID:1",
        "location": "table 2",
    }
    return base | over


def test_compare_registry_publication(arms):
    wide = rr.registry_to_extraction_rows(arms, arm1_pattern=VOCAB.arm_pattern)
    chars = pd.DataFrame({"study_id": ["test2099"], "nct_ids": ["NCT99999901"]})
    cur = pd.DataFrame(
        [
            _curated(),
            _curated(
                row_id="E0002",
                outcome="response",
                data_type="count",
                m1i=None,
                sd1i=None,
                m2i=None,
                se2i=None,
                ai=10.0,
                ci=4.0,
            ),
            _curated(row_id="E0003", instrument="CAPS-5", timepoint="week 6", timepoint_days=42.0),
        ]
    )
    cmp = rr.compare_registry_publication(wide, cur, characteristics=chars,
                                          instrument_aliases=VOCAB.instrument_aliases)
    assert list(cmp.columns) == rr.COMPARISON_COLUMNS
    by = cmp[cmp.row_id == "E0001"].set_index("field")
    assert by.loc["m1i", "status"] == "agree"  # 11.88 vs 11.9: rounding
    assert by.loc["m2i", "status"] == "discrepancy"  # 23.56 vs 25.0
    assert by.loc["m2i", "relative_difference"] == pytest.approx(1.44 / 25.0)
    assert by.loc["sd2i", "status"] == "agree"  # 2.81*sqrt(15) = 10.88 vs 10.9
    assert "SE" in by.loc["sd2i", "note"]
    assert by.loc["m1i", "registry_location"].endswith("measurements[0].value")
    cnt = cmp[cmp.row_id == "E0002"].set_index("field")
    assert cnt.loc["ai", "status"] == "agree" and cnt.loc["ci", "status"] == "discrepancy"
    assert cmp[cmp.row_id == "E0003"].status.tolist() == ["no_registry_match"]
    # registry outcomes that no curated row matched are listed, not dropped
    unmatched = cmp[cmp.status == "registry_unmatched"]
    assert len(unmatched) >= 2
    assert unmatched.registry_outcome_title.str.contains("PCL-5").any()


# --------------------------------------------------------------------------- real records
def _real_files():
    if not REAL.is_dir():
        pytest.skip(f"real fixtures not available at {REAL}")
    files = sorted(REAL.glob("ctgov_v2_study_aact_*.json"))
    if not files:
        pytest.skip("no ctgov_v2_study_aact_*.json in the real fixtures")
    return files


def test_real_records_every_measurement_accounted_for():
    for path in _real_files():
        study = json.loads(path.read_text())
        arms = rr.registry_arm_rows(study)
        module = (study.get("resultsSection") or {}).get("outcomeMeasuresModule") or {}
        expected = 0
        for om in module.get("outcomeMeasures", []):
            groups = len(om.get("groups", []))
            classes = om.get("classes") or []
            if not classes:
                expected += groups
            for cl in classes:
                expected += groups * len(cl.get("categories", []))
        assert len(arms) == expected, path.name
        # each non-extractable row says why
        assert arms.loc[~arms.extractable, "reason"].notna().all(), path.name
        # the JSON path resolves to the number it was read from
        for _, row in arms[arms.extractable].head(5).iterrows():
            assert _resolve(study, row.location) is not None


def _resolve(obj, path: str):
    for part in path.split("."):
        name, *idx = part.replace("]", "").split("[")
        obj = obj[name]
        for i in idx:
            obj = obj[int(i)]
    return obj


def test_real_record_dispersions_and_analyses():
    files = {p.name: p for p in _real_files()}
    name = "ctgov_v2_study_aact_NCT02552212.json"
    if name not in files:
        pytest.skip(f"{name} missing")
    study = rr.load_study_json(files[name])
    arms = rr.registry_arm_rows(study)
    # "Standard Deviation" text in the real record maps to SD as posted
    sd_rows = arms[arms.dispersion_type == "STANDARD_DEVIATION"]
    assert len(sd_rows) > 0 and (sd_rows.sd == sd_rows.spread).all()
    # LS means with "Standard Error" get SD = SE*sqrt(n)
    se_rows = arms[(arms.dispersion_type == "STANDARD_ERROR") & arms.extractable]
    assert ((se_rows.sd - se_rows.spread * se_rows.n.pow(0.5)).abs() < 1e-9).all()
    # geometric means with a CI cannot give an arithmetic SD: kept, with a reason
    geo = arms[arms.param_type == "GEOMETRIC_MEAN"]
    assert len(geo) > 0 and not geo.extractable.any()
    # the PK measure posted without classes stays, one row per group
    empty = arms[arms.outcome_index == 2]
    assert len(empty) == 2 and empty.reason.str.contains("no measurements posted").all()
    an = rr.registry_analyses(study)
    first = an.iloc[0]
    assert (first.measure, first.estimate, first.ci_low, first.ci_high) == (
        "OR",
        15.231,
        7.336,
        31.623,
    )
    assert first.pvalue_qualifier == "<"


def test_real_record_90pct_ci_and_se_analysis():
    files = {p.name: p for p in _real_files()}
    name = "ctgov_v2_study_aact_NCT02210780.json"
    if name not in files:
        pytest.skip(f"{name} missing")
    an = rr.registry_analyses(rr.load_study_json(files[name]))
    ls = an[an.param_type_raw == "LS Mean Difference"].iloc[0]
    assert ls.ci_level == 0.90 and ls.dispersion_type == "STANDARD_ERROR_OF_MEAN"
    assert ls.dispersion_value == 0.354


def test_real_record_full_range_and_no_results():
    files = {p.name: p for p in _real_files()}
    if "ctgov_v2_study_aact_NCT00763412.json" in files:
        arms = rr.registry_arm_rows(
            rr.load_study_json(files["ctgov_v2_study_aact_NCT00763412.json"])
        )
        fr = arms[arms.dispersion_type == "FULL_RANGE"]
        assert fr.extractable.sum() > 0
        assert fr.loc[fr.extractable, "sd_derivation"].str.contains("Wan 2014").all()
        # a range of zero width cannot give an SD: recorded, not dropped
        assert fr.loc[~fr.extractable, "reason"].str.contains("spread is zero").all()
    if "ctgov_v2_study_aact_NCT03418623.json" in files:
        study = rr.load_study_json(files["ctgov_v2_study_aact_NCT03418623.json"])
        assert "resultsSection" not in study
        assert rr.registry_arm_rows(study).empty
