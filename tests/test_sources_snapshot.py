"""Raw snapshot: atomic commit, hash verification, failed refresh leaves the old one intact."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from ketamine_evidence.sources._http import RetryPolicy, SourceError, Throttle, parse_retry_after
from ketamine_evidence.sources.pubmed import RawFile
from ketamine_evidence.sources.snapshot import (
    RefreshError,
    SnapshotError,
    SnapshotIntegrityError,
    commit_retrieval,
    init_snapshot,
    load_snapshot,
    read_manifest,
    refresh,
)

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "tests" / "fixtures"
NOW = dt.datetime(2026, 11, 27, 16, 0, tzinfo=dt.UTC)
SEARCH = {"date_from": "1990/01/01", "date_to": None,
          "pubmed": {"term": "ketamine AND ptsd"},
          "ctgov": {"conditions": ["PTSD"], "interventions": ["ketamine"]}}


def raw(name, content=b"<x/>", source="pubmed", kind="efetch", params=None):
    return RawFile(name, content, source, kind, params or {})


def test_committed_repository_snapshot_says_not_run():
    manifest = read_manifest(ROOT / "data" / "raw" / "snapshot")
    assert manifest["database_search"]["status"] in {"not_run", "complete"}
    if manifest["database_search"]["status"] == "not_run":
        assert manifest["sources"]["pubmed"]["counts"]["records"] == 0
        assert manifest["files"] == []
        dt.date.fromisoformat(manifest["database_search"]["as_of"])
    load_snapshot(ROOT / "data" / "raw" / "snapshot")


def test_init_then_commit_and_load(tmp_path):
    init_snapshot(tmp_path, dt.date(2026, 11, 27))
    assert read_manifest(tmp_path)["database_search"]["status"] == "not_run"
    with pytest.raises(SnapshotError, match="already exists"):
        init_snapshot(tmp_path)
    folder = commit_retrieval(tmp_path, [raw("pubmed/efetch_w01_b0001.xml", b"<a/>"),
                                         raw("ctgov/study_NCT90000001.json", b"{}", "ctgov",
                                             "study")],
                              {"pubmed": {"status": "complete"}}, now=NOW)
    assert folder.name == "2026-11-27T160000Z"
    snap = load_snapshot(tmp_path)
    assert snap.manifest["current"] == folder.name
    assert snap.manifest["database_search"]["status"] == "complete"
    assert [f.content for f in snap.of("pubmed")] == [b"<a/>"]
    entry = snap.manifest["files"][0]
    assert len(entry["sha256"]) == 64 and entry["bytes"] == 4
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp leftovers
    later = commit_retrieval(tmp_path, [raw("pubmed/efetch_w01_b0001.xml", b"<b/>")],
                             {}, now=NOW + dt.timedelta(days=1))
    manifest = read_manifest(tmp_path)
    assert manifest["current"] == later.name
    assert manifest["previous"][0]["folder"] == folder.name


def test_hash_mismatch_names_the_file(tmp_path):
    folder = commit_retrieval(tmp_path, [raw("pubmed/efetch_w01_b0001.xml", b"<a/>")], {},
                              now=NOW)
    (folder / "pubmed" / "efetch_w01_b0001.xml").write_bytes(b"<tampered/>")
    with pytest.raises(SnapshotIntegrityError, match="efetch_w01_b0001.xml has SHA-256"):
        load_snapshot(tmp_path)
    (folder / "pubmed" / "efetch_w01_b0001.xml").unlink()
    with pytest.raises(SnapshotIntegrityError, match="missing"):
        load_snapshot(tmp_path)


def test_missing_manifest_is_a_clear_error(tmp_path):
    with pytest.raises(SnapshotError, match="manifest.json: no such file"):
        load_snapshot(tmp_path)


def test_secrets_are_refused(tmp_path, monkeypatch):
    with pytest.raises(SnapshotError, match="secret parameter 'email'"):
        commit_retrieval(tmp_path, [raw("pubmed/x.xml", params={"email": "a@b.org"})], {},
                         now=NOW)
    monkeypatch.setenv("NCBI_API_KEY", "SECRET-KEY-XYZ")
    with pytest.raises(SnapshotError, match="NCBI_API_KEY"):
        commit_retrieval(tmp_path, [raw("pubmed/x.xml", params={"term": "SECRET-KEY-XYZ"})],
                         {}, now=NOW)
    assert not any(tmp_path.iterdir())


def test_unsafe_names_refused(tmp_path):
    with pytest.raises(SnapshotError, match="unsafe"):
        commit_retrieval(tmp_path, [raw("../evil.xml")], {}, now=NOW)


def test_interrupted_write_leaves_previous_snapshot(tmp_path, monkeypatch):
    init_snapshot(tmp_path, dt.date(2026, 11, 1))
    before = (tmp_path / "manifest.json").read_bytes()
    import ketamine_evidence.sources.snapshot as snapshot

    calls = {"n": 0}
    real_write = snapshot._write_file

    def flaky(path, data):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full")
        real_write(path, data)

    monkeypatch.setattr(snapshot, "_write_file", flaky)
    with pytest.raises(OSError, match="disk full"):
        commit_retrieval(tmp_path, [raw("pubmed/a.xml"), raw("pubmed/b.xml")], {}, now=NOW)
    assert (tmp_path / "manifest.json").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.json"]


class FakePubMed:
    batch_size = 200

    def __init__(self, error=None):
        self.error = error

    def retrieve(self, term, date_from, date_to):
        if self.error:
            raise self.error
        from ketamine_evidence.sources.pubmed import PubMedRetrieval
        content = (FIX / "pubmed" / "efetch_synthetic_3records.xml").read_bytes()
        return PubMedRetrieval(term, date_from, date_to, 3, ["90000001", "90000002", "90000003"],
                               [raw("pubmed/efetch_w01_b0001.xml", content,
                                    params={"db": "pubmed", "tool": "ketamine-evidence"})],
                               [{"window": "w01", "count": 3}])


class FakeCTGov:
    def __init__(self, error=None):
        self.error = error

    def retrieve(self, conditions, interventions):
        if self.error:
            raise self.error
        from ketamine_evidence.sources.ctgov import CTGovRetrieval
        content = (FIX / "ctgov" / "study_synthetic_NCT90000001.json").read_bytes()
        return CTGovRetrieval({"query.cond": "PTSD"}, 1, ["NCT90000001"],
                              [raw("ctgov/study_NCT90000001.json", content, "ctgov", "study")])


def test_refresh_success_records_query_and_counts(tmp_path):
    init_snapshot(tmp_path, dt.date(2026, 11, 1))
    refresh(tmp_path, SEARCH, FakePubMed(), FakeCTGov(), now=NOW)
    manifest = read_manifest(tmp_path)
    assert manifest["sources"]["pubmed"]["counts"] == {"esearch_count": 3, "records": 3}
    assert manifest["sources"]["pubmed"]["query"]["term"] == "ketamine AND ptsd"
    assert manifest["sources"]["pubmed"]["query"]["maxdate"] == "2026/11/27"
    assert manifest["sources"]["ctgov"]["counts"]["studies"] == 1
    assert manifest["software"]["biopython"]
    assert len(load_snapshot(tmp_path).files) == 2


@pytest.mark.parametrize("pub_error,ct_error,where", [
    (SourceError("PubMed EFetch window w01 batch 2 failed after 5 attempts"), None, "PubMed"),
    (None, SourceError("CT.gov study NCT90000001 failed after 5 attempts; last error: HTTP 503"),
     "ClinicalTrials.gov"),
])
def test_failed_refresh_keeps_previous_and_says_what_failed(tmp_path, pub_error, ct_error,
                                                            where):
    init_snapshot(tmp_path, dt.date(2026, 11, 1))
    before = (tmp_path / "manifest.json").read_bytes()
    with pytest.raises(RefreshError, match=f"during {where}.*previous snapshot.*unchanged"):
        refresh(tmp_path, SEARCH, FakePubMed(pub_error), FakeCTGov(ct_error), now=NOW)
    assert (tmp_path / "manifest.json").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.json"]


def test_refresh_end_to_end_with_real_clients_and_failures(tmp_path):
    """Real client code, fake transports: a 429 and a reset are absorbed; a snapshot results."""
    import io
    import urllib.error
    from email.message import Message

    import requests
    import responses

    from ketamine_evidence.sources.ctgov import CTGovClient
    from ketamine_evidence.sources.pubmed import PubMedClient

    headers = Message()
    headers["Retry-After"] = "3"
    answers = {"esearch": [urllib.error.HTTPError("u", 429, "slow", headers, io.BytesIO()),
                           (FIX / "pubmed" / "esearch_3hits.xml").read_bytes()],
               "efetch": [ConnectionResetError(104, "reset"),
                          (FIX / "pubmed" / "efetch_synthetic_3records.xml").read_bytes()]}

    def transport(request, timeout):
        utility = request.full_url.split("?")[0].rsplit("/", 1)[-1].split(".")[0]
        answer = answers[utility].pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    sleeps = []
    fast = {"sleep": sleeps.append, "throttle": Throttle(0), "policy": RetryPolicy(3, 0.1)}
    pubmed = PubMedClient(email="x@example.org", transport=transport, **fast)
    ctgov = CTGovClient(requests.Session(), base_url="https://ct.test/api/v2", **fast)
    with responses.RequestsMock() as mock:
        mock.get("https://ct.test/api/v2/studies",
                 body=(FIX / "ctgov" / "search_synthetic_p1.json").read_bytes())
        mock.get("https://ct.test/api/v2/studies", status=502)
        mock.get("https://ct.test/api/v2/studies",
                 body=(FIX / "ctgov" / "search_synthetic_p2.json").read_bytes())
        for nct in ("NCT90000001", "NCT90000003"):
            name = next((FIX / "ctgov").glob(f"study_synthetic_{nct}*.json"))
            mock.get(f"https://ct.test/api/v2/studies/{nct}", body=name.read_bytes())
        refresh(tmp_path, SEARCH, pubmed, ctgov, now=NOW)
    assert 3.0 in sleeps
    snap = load_snapshot(tmp_path)
    assert len(snap.of("pubmed")) == 2 and len(snap.of("ctgov")) == 4
    text = (tmp_path / "manifest.json").read_text()
    assert "x@example.org" not in text
    assert json.loads(text)["sources"]["ctgov"]["counts"] == {"total_count": 2, "studies": 2}


def test_parse_retry_after_http_date():
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
    assert parse_retry_after("garbage") is None and parse_retry_after(None) is None
    assert parse_retry_after(" 5 ") == 5.0
