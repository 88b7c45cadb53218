"""escalc() against metafor reference values (tests/results/escalc_reference.json).

The JSON is produced by tests/r/escalc_reference.R; these tests only read it, so R is
not needed to run them.  Agreement required: rtol 1e-6 (atol 1e-12 for exact zeros),
and NA in metafor <=> NaN here.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from ketamine_evidence import KetamineEvidenceWarning
from ketamine_evidence.effects import escalc, from_ci, from_cohen_d, from_t_independent

REF = json.loads((Path(__file__).parent / "results" / "escalc_reference.json").read_text())
CASES = {c["id"]: c for c in REF["cases"]}
RTOL, ATOL = 1e-6, 1e-12


def _arr(values):
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def _assert_matches(got_yi, got_vi, case):
    np.testing.assert_allclose(got_yi, _arr(case["yi"]), rtol=RTOL, atol=ATOL, equal_nan=True)
    np.testing.assert_allclose(got_vi, _arr(case["vi"]), rtol=RTOL, atol=ATOL, equal_nan=True)


def test_reference_records_versions():
    assert REF["metafor_version"]
    assert REF["R_version"].startswith("R version")
    assert len(CASES) >= 40


ESCALC_CASES = [cid for cid, c in CASES.items() if not cid.startswith("smd_from")]


@pytest.mark.parametrize("case_id", ESCALC_CASES)
def test_escalc_matches_metafor(case_id):
    case = CASES[case_id]
    opts = dict(case["options"]) if case["options"] else {}
    kwargs = {k: np.asarray(v, dtype=float) for k, v in case["inputs"].items()}
    with warnings.catch_warnings():
        # to="none" gives infinite estimates that are (like metafor) recoded to NaN with a warning
        warnings.simplefilter("ignore", KetamineEvidenceWarning)
        res = escalc(case["measure"], **kwargs, **opts)
    _assert_matches(res["yi"].to_numpy(), res["vi"].to_numpy(), case)


def test_from_cohen_d_matches_metafor_di():
    for cid in ("smd_from_d", "smd_from_d_UB"):
        case = CASES[cid]
        vtype = (case["options"] or {}).get("vtype", "LS")
        inp = case["inputs"]
        res = from_cohen_d(inp["di"], inp["n1i"], inp["n2i"], vtype=vtype)
        _assert_matches(res["yi"], res["vi"], case)


def test_from_t_independent_matches_metafor_ti():
    case = CASES["smd_from_t"]
    inp = case["inputs"]
    res = from_t_independent(inp["ti"], inp["n1i"], inp["n2i"])
    _assert_matches(res["yi"], res["vi"], case)


def test_from_ci_matches_hackshaw1998_log_or():
    g = REF["generic"]["hackshaw1998"]
    res = from_ci(g["or"], g["or_lb"], g["or_ub"], log_scale=True, symmetry_tol=1.0)
    np.testing.assert_allclose(res["yi"], g["yi"], rtol=RTOL)
    np.testing.assert_allclose(res["vi"], g["vi"], rtol=RTOL)


def test_double_zero_default_is_continuity_corrected_like_metafor():
    # collins1985a trial 14: 0/14 vs 0/14 -> with add=1/2 to all cells: RR = (0.5/15)/(0.5/15) = 1
    case = CASES["collins1985a_RR"]
    i = [k for k, (a, c) in enumerate(zip(case["inputs"]["ai"], case["inputs"]["ci"], strict=True))
         if a == 0 and c == 0][0]
    assert case["yi"][i] == pytest.approx(0.0, abs=1e-12)
    assert case["vi"][i] == pytest.approx(2 * (1 / 0.5 - 1 / 15))
    assert CASES["collins1985a_RR_drop00"]["yi"][i] is None
