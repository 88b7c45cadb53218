"""The Snakemake profiles name only rules that exist (a renamed rule must not silently lose
its cluster resources, its group or its local execution)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
RULE_FILES = [ROOT / "Snakefile", *sorted((ROOT / "workflow" / "rules").glob("*.smk"))]
RULES = {m.group(1) for path in RULE_FILES
         for m in re.finditer(r"^rule (\w+):", path.read_text(encoding="utf-8"), re.M)}


def _profile(name: str) -> dict:
    return yaml.safe_load((ROOT / "workflow" / "profiles" / name / "config.yaml").read_text())


def test_slurm_profile_resources_and_groups_name_real_rules():
    slurm = _profile("slurm")
    assert slurm["executor"] == "slurm"
    assert set(slurm["set-resources"]) <= RULES, set(slurm["set-resources"]) - RULES
    assert set(slurm["groups"]) <= RULES, set(slurm["groups"]) - RULES
    assert set(slurm["group-components"]) == set(slurm["groups"].values())
    for resources in [slurm["default-resources"], *slurm["set-resources"].values()]:
        assert resources["mem_mb"] > 0 and resources["runtime"] > 0


def test_localrules_name_real_rules_and_are_not_grouped():
    text = (ROOT / "Snakefile").read_text(encoding="utf-8")
    block = re.search(r"^localrules:\n((?:\s+\w+,?\n)+)", text, re.M)
    assert block, "the Snakefile declares no localrules"
    local = set(re.findall(r"\w+", block.group(1)))
    assert local <= RULES, local - RULES
    assert not local & set(_profile("slurm")["groups"])


def test_default_profile_runs_locally():
    default = _profile("default")
    assert "executor" not in default
    assert default["cores"]
