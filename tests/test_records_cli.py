"""The records -> screen -> prisma subcommands chain on files, as the Snakemake rules call them."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import yaml

from ketamine_evidence import cli
from ketamine_evidence.sources.snapshot import init_snapshot

ROOT = Path(__file__).resolve().parents[1]


def run(*argv):
    return cli.main(list(argv))


def review_config(path: Path, **review) -> Path:
    """The repository's config.yaml with ``review`` folders replaced, written to ``path``."""
    config = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    config["review"].update({k: str(v) for k, v in review.items()})
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def test_chain(tmp_path):
    snap = tmp_path / "snap"
    init_snapshot(snap, dt.date(2026, 11, 27))
    curated = tmp_path / "curated"
    curated.mkdir()
    (curated / "known_reports.csv").write_text(
        "report_id,record_type,pmid,nct_id,doi,study_id,decision,reason_code,reason_text\n"
        "KR001,publication,90000001,,10.9/x,alpha2021,include,include,rct\n"
        "KR002,registration,,NCT90000001,,alpha2021,include,include,registration\n"
        "KR003,review,,,,,exclude,review,review\n")
    config = review_config(tmp_path / "config.yaml", snapshot_dir=snap, curated_dir=curated)
    out = tmp_path / "out"
    assert run("records", "--config", str(config), "--records", str(out / "records.csv"),
               "--studies", str(out / "studies.csv")) == 0
    assert run("screen", "--config", str(config), "--records", str(out / "records.csv"),
               "--studies", str(out / "studies.csv"), "--overrides", str(tmp_path / "none.csv"),
               "--output", str(out / "screening.csv")) == 0
    assert run("prisma", "--records", str(out / "records.csv"), "--screening",
               str(out / "screening.csv"), "--snapshot-dir", str(snap),
               "--output", str(out / "prisma.json")) == 0
    counts = json.loads((out / "prisma.json").read_text())
    assert counts["database_search"]["status"] == "not_run"
    assert counts["identification"]["other_methods"]["known_reports"] == 3
    assert counts["included"] == {"studies": 1, "reports": 2,
                                  "reports_by_type": {"publication": 1, "registration": 1},
                                  "study_ids": ["alpha2021"]}


def test_refresh_without_email_fails_cleanly(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("NCBI_EMAIL", raising=False)
    config = review_config(tmp_path / "config.yaml", snapshot_dir=tmp_path / "s")
    assert run("refresh", "--config", str(config)) == 2
    assert "NCBI_EMAIL" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()
