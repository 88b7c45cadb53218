"""Build stamps: hashes, git state, snapshot date, and the one-line form in the report."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import subprocess

import pytest

from ketamine_evidence import provenance, report


def _git(cwd, *args):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                   env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org",
                        "HOME": str(cwd), "PATH": "/usr/bin:/bin"})


@pytest.fixture
def repo(tmp_path):
    if subprocess.run(["git", "--version"], capture_output=True).returncode != 0:
        pytest.skip("git not installed")
    (tmp_path / "config.yaml").write_text("review: {}\n")
    (tmp_path / "sheet.csv").write_text("a,b\n1,2\n")
    (tmp_path / "manifest.json").write_text(json.dumps(
        {"written_utc": "2026-11-27T16:20:21Z", "current": None}))
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "x")
    return tmp_path


def test_stamp_records_commit_config_snapshot_and_hashes(repo):
    (repo / "out").mkdir()
    (repo / "out" / "pooled.csv").write_text("k\n1\n")
    now = dt.datetime(2026, 11, 30, 21, 30, tzinfo=dt.UTC)
    stamp = provenance.build_stamp(config=repo / "config.yaml", manifest=repo / "manifest.json",
                                   inputs={"sheet": repo / "sheet.csv", "gone": repo / "no.csv"},
                                   outputs=[repo / "out"], root=repo, now=now)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True,
                          text=True).stdout.strip()
    assert stamp["git_commit"] == head and stamp["git_dirty"] is False
    assert stamp["config_sha256"] == hashlib.sha256(b"review: {}\n").hexdigest()
    assert stamp["snapshot_date"] == "2026-11-27"
    assert stamp["inputs"]["sheet"] == hashlib.sha256(b"a,b\n1,2\n").hexdigest()
    assert stamp["inputs"]["gone"] is None
    assert len(stamp["outputs"][str(repo / "out")]) == 64
    assert stamp["built_utc"] == "2026-11-30T21:30:00Z" and stamp["status"] == "complete"
    line = provenance.stamp_line(stamp)
    assert line.startswith("built 2026-11-30 21:30 UTC, from commit " + head[:12])
    assert "snapshot of 2026-11-27" in line and "missing inputs: gone" in line
    json.dumps(stamp)  # JSON-ready


def test_uncommitted_changes_and_no_repository(repo, tmp_path_factory):
    (repo / "config.yaml").write_text("review: {title: x}\n")
    stamp = provenance.build_stamp(config=repo / "config.yaml", manifest=None, root=repo)
    assert stamp["git_dirty"] is True
    assert "(with uncommitted changes)" in provenance.stamp_line(stamp)
    outside = tmp_path_factory.mktemp("plain")
    stamp = provenance.build_stamp(config=None, manifest=None, root=outside)
    assert stamp["git_commit"] is None
    assert "outside a git work tree" in provenance.stamp_line(stamp)


def test_the_stamp_has_no_wall_clock_time_unless_asked(repo, monkeypatch):
    """Two builds from the same inputs give the same stamp (byte-identical reruns)."""
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    first = provenance.build_stamp(config=repo / "config.yaml", manifest=None, root=repo)
    second = provenance.build_stamp(config=repo / "config.yaml", manifest=None, root=repo)
    assert first == second and first["built_utc"] is None
    assert provenance.stamp_line(first).startswith("from commit ")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1796074200")
    stamp = provenance.build_stamp(config=repo / "config.yaml", manifest=None, root=repo)
    assert stamp["built_utc"] == "2026-11-30T21:30:00Z"


def test_a_stale_stamp_says_so():
    line = provenance.stamp_line({"status": "stale", "built_utc": "2026-11-30T21:30:00Z"})
    assert line.startswith("STALE")


def test_report_header_shows_the_stamp():
    stamp = {"built_utc": "2026-11-30T21:30:00Z", "git_commit": "0123456789abcdef0123",
             "config_sha256": "ab" * 32, "snapshot_date": "2026-11-27", "inputs": {}}
    header = report.build_report(report.ReportInputs(stamp=stamp)).split("</header>")[0]
    assert "2026-11-30 21:30 UTC" in header
    assert '<code title="0123456789abcdef0123">0123456789ab</code>' in header
    assert f'<code title="{"ab" * 32}">{"ab" * 6}</code>' in header
    assert "2026-11-27" in header


def test_stamp_command_writes_json(repo, monkeypatch):
    from ketamine_evidence import cli

    monkeypatch.chdir(repo)
    out = repo / "results" / "build_stamp.json"
    assert cli.main(["stamp", "--config", "config.yaml", "--manifest", "manifest.json",
                     "--inputs", "sheet.csv", "--outputs", "sheet.csv", "-o", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["inputs"]["sheet.csv"] == data["outputs"]["sheet.csv"]
    assert data["snapshot_date"] == "2026-11-27"


def test_evidence_date_is_the_search_date_and_judges_overdue_results(tmp_path):
    from ketamine_evidence.cli.analysis import judgement_date

    manifest = {"manifest_version": 1, "written_utc": "2026-11-29T10:00:00Z",
                "database_search": {"status": "complete", "as_of": "2026-11-28"},
                "current": {"folder": "2026-11-28T090000Z", "retrieved_utc": "2026-11-28T09:00Z"}}
    assert provenance.evidence_date(manifest) == "2026-11-28"
    assert provenance.evidence_date({"written_utc": "2026-11-29T10:00:00Z"}) == "2026-11-29"
    assert provenance.evidence_date(None) is None
    # the claims step judges registered completion dates against it, not against the clock
    path = tmp_path / "snapshot" / "manifest.json"
    path.parent.mkdir()
    path.write_text(json.dumps(manifest))
    assert judgement_date(None, path) == "2026-11-28"
    assert judgement_date("2026-01-01", path) == "2026-01-01"
