"""The captions and methods text for ``snakemake --report`` render (Jinja, then reStructuredText)."""

from __future__ import annotations

import io
from pathlib import Path

import jinja2
import pytest
import yaml

docutils_core = pytest.importorskip("docutils.core")

ROOT = Path(__file__).resolve().parents[1]
REPORT_DIR = ROOT / "workflow" / "report"
CAPTIONS = sorted(REPORT_DIR.glob("*.rst"))


class _Snakemake:
    """What Snakemake passes to a caption: the config and the job's wildcards."""

    config = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    wildcards = {"analysis": "ptsd_smd_end", "name": "forest_ptsd_smd_end"}


def test_every_published_output_has_a_caption():
    names = {p.stem for p in CAPTIONS}
    assert {"workflow", "forest", "funnel", "prisma", "rob", "claims", "pooled"} <= names


@pytest.mark.parametrize("path", CAPTIONS, ids=lambda p: p.name)
def test_caption_renders_without_warnings(path: Path):
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    text = env.from_string(path.read_text(encoding="utf-8")).render(
        snakemake=_Snakemake, categories={}, files={})
    warnings = io.StringIO()
    html = docutils_core.publish_parts(
        text, writer="html",
        settings_overrides={"warning_stream": warnings, "halt_level": 5})["html_body"]
    assert warnings.getvalue() == ""
    assert len(html) > 200


@pytest.mark.parametrize("name", ["forest_ptsd_smd_end", "funnel_ptsd_smd_end", "prisma",
                                  "rob_summary", "cumulative_x", "leave1out_x", "other"])
def test_figures_caption_follows_the_file_name(name: str):
    """``figures.rst`` captions every PNG of the figures folder, chosen by its ``{name}``."""

    class Job(_Snakemake):
        wildcards = {"name": name}

    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    text = env.from_string((REPORT_DIR / "figures.rst").read_text(encoding="utf-8")).render(
        snakemake=Job, categories={}, files={})
    first_words = {"forest": "Forest plot", "funnel": "Funnel plot", "prisma": "PRISMA 2020",
                   "rob": "Risk of bias", "cumulative": "Cumulative", "leave1out": "Leave-one-out",
                   "other": "Figure ``other``"}
    assert text.strip().startswith(first_words[name.split("_")[0]])
