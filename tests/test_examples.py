"""The review is retargeted by configuration alone: the SYNTHETIC example review of another
question (``examples/psilocybin-depression``) runs through the same workflow with
``snakemake --configfile examples/psilocybin-depression/config.yaml`` into its own output root,
and nothing of the default review (ketamine for PTSD) reaches its outputs.

The workflow and the example are copied into a temporary folder and run in a subprocess, as a
researcher would run them from the repository's root.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from ketamine_evidence.config import load_config
from ketamine_evidence.wording import SYNTHETIC_NOTE

ROOT = Path(__file__).resolve().parents[1]
NAME = "psilocybin-depression"
EXAMPLE = ROOT / "examples" / NAME
TIMEOUT = 600
#: the default review's words; the package's own name (ketamine-evidence) is not one of them
DEFAULT_REVIEW_WORDS = re.compile(r"ketamine|midazolam|ptsd|post-?traumatic", re.IGNORECASE)
PACKAGE_NAME = re.compile(r"ketamine[-_]evidence", re.IGNORECASE)

pytestmark = pytest.mark.slow


def _without_package_name(text: str) -> str:
    return PACKAGE_NAME.sub("<package>", text)


@pytest.fixture(scope="module")
def example_run(tmp_path_factory) -> Path:
    """The example run once from a copy of the repository's workflow; its output root."""
    work = tmp_path_factory.mktemp("example")
    shutil.copy2(ROOT / "Snakefile", work / "Snakefile")
    shutil.copytree(ROOT / "workflow", work / "workflow")
    shutil.copytree(EXAMPLE, work / "examples" / NAME,
                    ignore=shutil.ignore_patterns("output"))
    config = f"examples/{NAME}/config.yaml"
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "2", "--configfile", config],
        cwd=work, env=dict(os.environ, MPLBACKEND="Agg"), capture_output=True, text=True,
        timeout=TIMEOUT, check=False)
    out = work / load_config(work / config)["review"]["output_root"]
    logs = "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-2000:]}"
                     for p in sorted((out / "logs").glob("*.log"))) if out.is_dir() else ""
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:] + logs
    # its own output root: nothing written where the main review's outputs live
    assert not (work / "results").exists() and not (work / "data").exists()
    return out


def test_example_config_is_complete_and_marked_synthetic():
    config = load_config(EXAMPLE / "config.yaml")
    assert config["review"]["synthetic_data"] is True
    assert config["review"]["output_root"] == f"examples/{NAME}/output"
    # a whole config of its own: nothing of the default review's question in it
    raw = (EXAMPLE / "config.yaml").read_text(encoding="utf-8")
    assert not DEFAULT_REVIEW_WORDS.search(_without_package_name(raw))
    assert "SYNTHETIC" in (EXAMPLE / "README.md").read_text(encoding="utf-8")


def test_example_claims_and_pooled_tables_have_the_expected_rows(example_run):
    config = yaml.safe_load((EXAMPLE / "config.yaml").read_text(encoding="utf-8"))
    claims = pd.read_csv(example_run / "results" / "claims.csv")
    pooled = pd.read_csv(example_run / "results" / "pooled.csv")
    assert list(claims["claim_id"]) == [c["id"] for c in config["claims"]]
    assert list(pooled["analysis_id"]) == [a["id"] for a in config["analysis"]["analyses"]]
    # three made-up trials, one of them three-armed: every analysis pooled something
    assert (pooled["k"] >= 2).all()
    assert set(pd.read_csv(example_run / "data" / "processed" / "effects.csv")["outcome"]) \
        <= set(config["vocabulary"]["outcomes"])


def test_example_report_names_its_own_question_and_says_it_is_synthetic(example_run):
    html = (example_run / "results" / "report.html").read_text(encoding="utf-8")
    assert not DEFAULT_REVIEW_WORDS.search(_without_package_name(html)), \
        DEFAULT_REVIEW_WORDS.findall(_without_package_name(html))
    assert "favours psilocybin" in html and "Psilocybin arm(s)" in html
    # a banner on the page and a note in every table and figure caption
    assert 'class="synthetic-banner"' in html
    captions = re.findall(r"<(?:fig)?caption>(.*?)</(?:fig)?caption>", html, flags=re.S)
    assert captions and all(SYNTHETIC_NOTE in c for c in captions)


def test_example_figures_and_tables_carry_no_default_review_words(example_run):
    for path in sorted((example_run / "results").rglob("*")) + sorted(
            (example_run / "data" / "processed").glob("*")):
        if path.suffix in {".csv", ".json", ".svg", ".R"}:
            text = _without_package_name(path.read_text(encoding="utf-8", errors="replace"))
            assert not DEFAULT_REVIEW_WORDS.search(text), (path, DEFAULT_REVIEW_WORDS.findall(text))
    forest = (example_run / "results" / "figures" / "forest_depression_smd_end.svg").read_text()
    assert "SYNTHETIC DATA" in forest


def test_example_report_names_its_own_files(example_run):
    # Every input is named where this review keeps it (its config's curated_dir, snapshot_dir
    # and output_root), also an optional sheet it does not have; never the default review's
    # data/raw/... or results/...
    html = (example_run / "results" / "report.html").read_text(encoding="utf-8")
    footer = html.split('<footer id="inputs">')[1]
    paths = re.findall(r"<td><code>(.*?)</code></td>", footer)
    assert len(paths) > 20 and all(p.startswith(f"examples/{NAME}/") for p in paths), paths
    for sheet in ("published_syntheses.csv", "registry_facts.csv"):
        assert not (EXAMPLE / "curated" / sheet).exists()
        assert f"<code>examples/{NAME}/curated/{sheet}</code>" in html.split(
            '<footer id="inputs">')[0]
    assert "data/raw/published_syntheses.csv" not in html
    assert "data/raw/registry_facts.csv" not in html
