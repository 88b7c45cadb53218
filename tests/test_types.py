"""The shared types list the same values as everything that names them.

A coded value lives in ``ketamine_evidence.types``; the config schema, the labels in
``wording`` and the two codebooks spell the values out again for their readers. These tests
fail when one of them gains or loses a value the others do not.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ketamine_evidence import types, wording
from ketamine_evidence.config import load_schema

ROOT = Path(__file__).resolve().parents[1]


def _enums_of(node, key):
    """Every ``enum`` under a property named ``key`` anywhere in a JSON-schema tree."""
    if isinstance(node, dict):
        for name, child in node.items():
            if name == key and isinstance(child, dict) and "enum" in child:
                yield child["enum"]
            yield from _enums_of(child, key)
    elif isinstance(node, list):
        for child in node:
            yield from _enums_of(child, key)


def test_config_schema_metrics_are_the_types_metrics():
    enums = list(_enums_of(load_schema(), "metric"))
    assert len(enums) >= 2  # the claim's metric and its comparisons'
    for enum in enums:
        assert tuple(enum) == types.METRICS


@pytest.mark.parametrize(("labels", "values"), [
    (wording.VERDICT_LABELS, types.VERDICTS),
    (wording.VERDICT_SYMBOLS, types.VERDICTS),
    (wording.CERTAINTY_LABELS, types.CERTAINTY_LEVELS),
    (wording.CERTAINTY_SYMBOLS, types.CERTAINTY_LEVELS),
    (wording.GRADE_DOMAIN_TERMS, types.GRADE_DOMAINS),
    (wording.GRADE_DOMAIN_LABELS, types.GRADE_DOMAINS),
    (wording.DIRECTION_SYMBOLS, types.VOTES),
    (wording.ROB_LABELS, types.ROB_JUDGEMENTS),
    (wording.ROB_DOMAINS, types.ROB_DOMAINS),
    (wording.PI_STATUS_TEXT, types.PI_STATUSES),
    (wording.METRIC_LABELS, types.METRICS),
    (wording.CLAIM_AXIS_LABELS, types.METRICS),
    (types.METRIC_NULLS, types.METRICS),
], ids=lambda x: "" if isinstance(x, dict) else "-".join(map(str, x))[:40])
def test_every_value_has_its_label(labels, values):
    assert set(labels) == set(values)


def test_measure_metrics_name_known_metrics():
    assert set(types.MEASURE_METRICS.values()) <= set(types.METRICS)


def test_votes_are_the_directions_and_two_more():
    assert types.VOTES[:3] == types.DIRECTIONS
    assert (types.FAVOURS, types.AGAINST, types.NO_DIFFERENCE) == types.DIRECTIONS
    assert types.VOTES[3:] == (types.MIXED, types.NOT_JUDGED)


def _codebook_values(path: Path, column: str) -> list[set[str]]:
    """The backticked values of every codebook row that documents ``column``."""
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) > 1 and f"`{column}`" in cells[0].split(", "):
            found.append(set(re.findall(r"`([a-z_]+)`", "|".join(cells[1:]))))
    return found


@pytest.mark.parametrize(("codebook", "column", "values"), [
    ("results/CODEBOOK.md", "verdict", types.VERDICTS),
    ("results/CODEBOOK.md", "pi_status", types.PI_STATUSES),
    ("results/CODEBOOK.md", "certainty", types.CERTAINTY_LEVELS),
    ("results/CODEBOOK.md", "direction", types.DIRECTIONS),
    ("results/CODEBOOK.md", "rob", types.ROB_JUDGEMENTS),
    ("data/raw/CODEBOOK.md", "direction", types.DIRECTIONS),
    ("data/raw/CODEBOOK.md", "judgement", types.ROB_JUDGEMENTS),
])
def test_codebooks_list_every_value(codebook, column, values):
    rows = _codebook_values(ROOT / codebook, column)
    assert rows, f"{codebook} documents no column {column!r}"
    for documented in rows:
        assert set(values) <= documented, (
            f"{codebook}: a row for {column!r} lacks {sorted(set(values) - documented)}")
