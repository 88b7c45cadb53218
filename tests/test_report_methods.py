"""The report's Methods table says what the analysis step did (test, interval, level)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ketamine_evidence import report
from ketamine_evidence.config import load_config

ROOT = Path(__file__).resolve().parents[1]


def _choices(**analysis) -> dict[str, str]:
    config = load_config(ROOT / "config.yaml")
    config["analysis"].update(analysis)
    inputs = report.ReportInputs(config=config)
    return dict(report._methods_section(inputs)["choices"])


@pytest.mark.parametrize(
    ("test", "pi_df", "expected", "absent"),
    [
        ("z", None, "normal (z)", "k\u22121"),
        ("knha", None, "t distribution with k\u22121 df", "normal"),
        ("adhoc", None, "t distribution with k\u22121 df", "normal"),
        ("z", "k-2", "t distribution with k\u22122 df", "normal"),
        ("z", "k-1", "t distribution with k\u22121 df", "normal"),
    ],
)
def test_prediction_interval_text_follows_the_test(test, pi_df, expected, absent):
    text = _choices(test=test, pi_df=pi_df)["Prediction interval"]
    assert expected in text
    assert absent not in text


def test_report_command_fails_when_inputs_are_missing(tmp_path, monkeypatch, capsys):
    from ketamine_evidence import cli

    monkeypatch.chdir(tmp_path)  # every default input path is missing here
    out = tmp_path / "results" / "report.html"
    assert cli.main(["report", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "missing inputs" in err
    assert "results/claims.csv" in err and "data/processed/prisma.json" in err
    assert "published_syntheses" not in err  # context only: may be absent
    assert not out.exists()


def test_methods_follow_the_settings_the_analysis_step_recorded(tmp_path):
    """The config may have changed since the analyze step ran: the Methods say what ran."""
    from ketamine_evidence.analysis.fits import write_fits
    from ketamine_evidence.config import Settings

    config = load_config(ROOT / "config.yaml")
    ran = dict(config["analysis"], method="DL", test="z")
    path = write_fits([], Settings.from_config({"analysis": ran}).analysis,
                      tmp_path / "analyses.json")
    inputs = report.load_report_inputs(config=config, analyses=path, versions={},
                                       generated_on="2026-01-01")
    choices = dict(report._methods_section(inputs)["choices"])
    assert choices["Between-study variance (tau\u00b2)"] == "DerSimonian-Laird"
    assert "Wald-type normal (z)" in choices["Confidence interval of the pooled effect"]
