"""The living-review parts of the report: the provenance header and "What changed since the
previous version" (``ketamine_evidence.report.living``), and the version stamps ``diff`` reads."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from ketamine_evidence import provenance, report
from ketamine_evidence.cli.changes import STAMP, load_version, version_inputs
from ketamine_evidence.living.changes import Version, compare
from ketamine_evidence.report.living import changes_view, header_view

ROOT = Path(__file__).resolve().parents[1]
E2E_SNAPSHOT = ROOT / "tests" / "e2e" / "snapshot"

COMMIT = "0123456789abcdef0123456789abcdef01234567"
CONFIG_SHA = "ab" * 32
STAMP_DICT = {"status": "complete", "built_utc": None, "git_commit": COMMIT, "git_dirty": False,
              "config": "results/settings/config.json", "config_sha256": CONFIG_SHA,
              "snapshot_date": "2026-11-30", "inputs": {}}
SEARCHED = {"database_search": {"status": "complete", "as_of": "2026-11-30"},
            "current": "2026-11-30T221135Z", "written_utc": "2026-11-30T22:11:40Z"}
NOT_RUN = {"database_search": {"status": "not_run", "as_of": "2026-11-27"}, "current": None,
           "written_utc": "2026-11-27T16:20:21Z"}


def _header(html: str) -> str:
    return html.split("</header>")[0]


def _section(html: str) -> str:
    return html.split('<section id="changes">')[1].split("</section>")[0]


# ------------------------------------------------------------------------------ header
def test_header_view_after_a_database_search():
    view = header_view(STAMP_DICT, SEARCHED, "data/raw/snapshot/")
    assert view["evidence_date"] == "2026-11-30" and view["searched"]
    assert view["snapshot"] == "data/raw/snapshot/2026-11-30T221135Z"
    assert view["snapshot_note"] == "retrieved 2026-11-30"
    assert view["commit"] == {"short": COMMIT[:12], "full": COMMIT}
    assert view["config"] == {"short": CONFIG_SHA[:12], "full": CONFIG_SHA}
    assert view["built"] == "" and not view["dirty"]


def test_header_view_without_a_search_or_a_stamp():
    view = header_view(None, NOT_RUN, "snap")
    assert view["evidence_date"] == "2026-11-27" and not view["searched"]
    assert view["snapshot"] == "snap"
    assert "reviewers' list only" in view["snapshot_note"]
    assert view["commit"] is None and view["config"] is None
    assert header_view(None, None, None)["snapshot_note"] == "no manifest"


def test_report_header_shows_evidence_date_snapshot_commit_and_config_hash():
    stamp = dict(STAMP_DICT, git_dirty=True, built_utc="2026-11-30T21:30:00Z")
    html = report.build_report(report.ReportInputs(stamp=stamp, manifest=SEARCHED))
    header = _header(html)
    assert re.search(r"Evidence current to</dt><dd[^>]*>2026-11-30<", header)
    assert "2026-11-30T221135Z" in header
    assert f'<code title="{COMMIT}">{COMMIT[:12]}</code> (with uncommitted changes)' in header
    assert f'<code title="{CONFIG_SHA}">{CONFIG_SHA[:12]}</code>' in header
    assert "results/settings/config.json" in header
    assert "2026-11-30 21:30 UTC" in header  # a build time only when the stamp has one
    assert "Built" not in _header(report.build_report(report.ReportInputs(stamp=STAMP_DICT)))


def test_report_header_without_a_repository():
    header = _header(report.build_report(report.ReportInputs(
        stamp=dict(STAMP_DICT, git_commit=None, config_sha256=None), manifest=NOT_RUN)))
    assert "outside a git work tree" in header and "not recorded" in header


# ------------------------------------------------------------------------------ section
OLD = Version("old", records=[
    {"pmid": "111", "title": "Old"},
    {"nct_id": "NCT00000001", "title": "A", "overall_status": "RECRUITING",
     "has_results": False}],
    prisma={"included": {"studies": 1, "study_ids": ["a2020"]}},
    claims=[{"claim_id": "C1", "verdict": "inconclusive", "certainty": "very_low", "k": 1,
             "n_participants": 30, "estimate": -0.5, "ci_low": -1.2, "ci_high": 0.2}],
    info={"evidence_date": "2026-11-01", "git_commit": "f" * 40})
NEW = Version("new", records=[
    {"pmid": "111", "title": "Old"},
    {"pmid": "333", "title": "<script>alert(1)</script> & co"},
    {"nct_id": "NCT00000001", "title": "A", "overall_status": "COMPLETED", "has_results": True},
    {"nct_id": "NCT00000009", "title": "B", "overall_status": "NOT_YET_RECRUITING"}],
    prisma={"included": {"studies": 2, "study_ids": ["a2020", "b2026"]}},
    claims=[{"claim_id": "C1", "verdict": "supported", "certainty": "low", "k": 2,
             "n_participants": 70, "estimate": -0.61, "ci_low": -1.0, "ci_high": -0.2}],
    info={"evidence_date": "2026-11-30", "git_commit": COMMIT})


def test_changes_view_states():
    assert changes_view(None) == {"state": "missing"}
    assert changes_view(compare(None, NEW))["state"] == "no_previous"
    assert changes_view(compare(OLD, OLD))["state"] == "same"
    view = changes_view(compare(OLD, NEW))
    assert view["state"] == "changed"
    lists = dict(view["record_lists"])
    assert [i["id"] for i in lists["New PubMed records"]] == ["333"]
    assert lists["New PubMed records"][0]["url"] == "https://pubmed.ncbi.nlm.nih.gov/333/"
    assert [i["id"] for i in lists["New registrations (ClinicalTrials.gov)"]] == ["NCT00000009"]
    assert view["status_changes"] == [{"id": "NCT00000001",
                                       "url": "https://clinicaltrials.gov/study/NCT00000001",
                                       "old": "RECRUITING", "new": "COMPLETED"}]
    assert [c["id"] for c in view["results_posted"]] == ["NCT00000001"]
    assert view["prisma_counts"] == [{"count": "included.studies", "old": "1", "new": "2"}]
    assert view["studies_added"] == ["b2026"]
    fields = {c["field"]: (c["old"], c["new"]) for c in view["claim_changes"]}
    assert fields == {"verdict": ("inconclusive", "supported"),
                      "certainty (GRADE)": ("very_low", "low"),
                      "studies pooled (k)": ("1", "2"), "participants": ("30", "70"),
                      "estimate": ("-0.5", "-0.61"), "95% CI, lower": ("-1.2", "-1"),
                      "95% CI, upper": ("0.2", "-0.2")}
    commit = next(r for r in view["versions"] if r["label"] == "git commit")
    assert commit["hash"] and commit["differs"] and commit["new"]["full"] == COMMIT


def test_report_section_lists_the_changes_linked_and_escaped():
    html = report.build_report(report.ReportInputs(changes=compare(OLD, NEW)))
    section = _section(html)
    assert '<a href="https://pubmed.ncbi.nlm.nih.gov/333/">333</a>' in section
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in section
    assert "<script>" not in html
    assert '<a href="https://clinicaltrials.gov/study/NCT00000009">NCT00000009</a>' in section
    assert "RECRUITING &rarr; COMPLETED" in section
    assert "Results newly posted on ClinicalTrials.gov" in section
    assert "<code>included.studies</code>" in section and "<code>b2026</code>" in section
    assert "<td>C1</td><td>verdict</td><td>inconclusive</td><td>supported</td>" in section
    assert "<td>C1</td><td>participants</td><td>30</td><td>70</td>" in section
    assert f'<code title="{COMMIT}">{COMMIT[:12]}</code>' in section
    assert 'href="#changes">what changed since the previous version</a>' in _header(html)


def test_report_section_without_a_previous_version_says_how_to_give_one():
    section = _section(report.build_report(report.ReportInputs(changes=compare(None, NEW))))
    assert "No previous version was given" in section
    assert "review.previous_version" in section and "--config" in section
    same = _section(report.build_report(report.ReportInputs(changes=compare(OLD, OLD))))
    assert "Nothing changed" in same
    missing = _section(report.build_report(report.ReportInputs()))
    assert "Not compared" in missing and "results/changes.json" in missing


# ------------------------------------------------------------------------------ version stamps
def _review_folder(root: Path) -> Path:
    (root / "results").mkdir(parents=True)
    (root / "data" / "processed").mkdir(parents=True)
    shutil.copytree(E2E_SNAPSHOT, root / "data" / "raw" / "snapshot")
    (root / "results" / "claims.csv").write_text("claim_id,verdict,k\nC1,supported,2\n")
    (root / "data" / "processed" / "prisma.json").write_text(
        json.dumps({"included": {"studies": 2, "study_ids": []}}))
    return root


@pytest.fixture
def repo(tmp_path) -> Path:
    """A review folder that is a git work tree with one commit."""
    root = _review_folder(tmp_path / "review")
    (root / "config.json").write_text('{"review": {}}\n')
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"}
    for args in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "v1"]):
        subprocess.run(["git", *args], cwd=root, check=True, env={**env, "PATH": "/usr/bin:/bin"})
    return root


def test_load_version_reads_the_keys_the_build_stamp_writes(repo):
    stamp = provenance.build_stamp(config=repo / "config.json",
                                   manifest=repo / "data/raw/snapshot/manifest.json", root=repo)
    assert stamp["git_commit"] and stamp["config_sha256"]
    (repo / STAMP).write_text(json.dumps(stamp))
    info = load_version(repo).info
    assert info["git_commit"] == stamp["git_commit"]
    assert info["config_sha256"] == stamp["config_sha256"]
    # a stamp is optional; the file list the workflow depends on then leaves it out
    assert str(repo / STAMP) in version_inputs(repo)
    (repo / STAMP).unlink()
    assert "git_commit" not in load_version(repo).info
    assert str(repo / STAMP) not in version_inputs(repo)


def test_load_version_with_a_config_computes_what_the_stamp_would_record(repo):
    """The workflow compares before it writes its stamp: a stamp left on disk from an
    earlier build must not be read as this version's."""
    (repo / STAMP).write_text(json.dumps({"git_commit": "old", "config_sha256": "old"}))
    info = load_version(repo, config=repo / "config.json").info
    stamp = provenance.build_stamp(config=repo / "config.json", manifest=None, root=repo)
    assert info["git_commit"] == stamp["git_commit"] != "old"
    assert info["config_sha256"] == provenance.file_sha256(repo / "config.json")


def test_load_version_names_a_broken_stamp(repo):
    (repo / STAMP).write_text("{not json")
    with pytest.raises(ValueError, match="build_stamp.json"):
        load_version(repo)
