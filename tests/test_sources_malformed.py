"""Malformed or endless answers from the services become clear errors naming the request.

Each test reproduces one observation of issue 9 ("Retrieval answers that are malformed"); the
previous snapshot is left as it was whenever a refresh stops.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
import requests
import responses
from test_sources_pubmed import EMAIL, FakeTransport, make_client
from test_sources_snapshot import SEARCH, FakePubMed, raw

from ketamine_evidence.sources._http import RetryPolicy, SourceError, Throttle
from ketamine_evidence.sources.ctgov import CTGovClient
from ketamine_evidence.sources.snapshot import (
    RefreshError,
    commit_retrieval,
    init_snapshot,
    refresh,
)

BASE = "https://ctgov.test/api/v2"
NOW = dt.datetime(2026, 11, 27, 16, 0, tzinfo=dt.UTC)


def ctgov(**kw):
    return CTGovClient(requests.Session(), base_url=BASE, sleep=lambda s: None,
                       throttle=Throttle(0, sleep=lambda s: None),
                       policy=RetryPolicy(max_attempts=2, backoff=0.1), **kw)


def _study(nct):
    return {"protocolSection": {"identificationModule": {"nctId": nct}}}


# -- ClinicalTrials.gov paging ---------------------------------------------------------------
@responses.activate
def test_empty_page_with_a_fresh_token_ends_the_paging():
    tokens = iter(f"T{i}" for i in range(10_000))

    def page(request):
        if "pageToken" not in request.url:
            return 200, {}, json.dumps({"totalCount": 1, "studies": [_study("NCT90000001")],
                                        "nextPageToken": next(tokens)})
        return 200, {}, json.dumps({"studies": [], "nextPageToken": next(tokens)})

    responses.add_callback(responses.GET, f"{BASE}/studies", callback=page)
    _, total, ncts, files = ctgov().search(["PTSD"], ["ketamine"])
    assert ncts == ["NCT90000001"] and total == 1
    assert len(files) == 2 and len(responses.calls) == 2


@responses.activate
def test_page_count_is_capped():
    counter = iter(range(10_000))

    def page(request):
        i = next(counter)
        return 200, {}, json.dumps({"studies": [_study(f"NCT9{i:07d}")],
                                    "nextPageToken": f"T{i}"})

    responses.add_callback(responses.GET, f"{BASE}/studies", callback=page)
    with pytest.raises(SourceError, match=r"CT.gov search: more than 5 pages"):
        ctgov(max_pages=5).search(["PTSD"], ["ketamine"])
    assert len(responses.calls) == 5


# -- malformed JSON shapes -------------------------------------------------------------------
@responses.activate
@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ({"totalCount": 1, "studies": {"NCT90000001": {}}},
         r"CT.gov search page 1: 'studies' is a dict, not a list"),
        ({"totalCount": 1, "studies": ["NCT90000001"]},
         r"CT.gov search page 1: study 1 is a str, not an object"),
        ({"totalCount": 1, "studies": [{"protocolSection": []}]},
         r"CT.gov search page 1: study 1: protocolSection is a list, not an object"),
        ({"totalCount": "many", "studies": []},
         r"CT.gov search page 1: totalCount is 'many', not a whole number"),
    ],
)
def test_malformed_search_pages_are_named(answer, message):
    responses.get(f"{BASE}/studies", json=answer)
    with pytest.raises(SourceError, match=message):
        ctgov().search(["PTSD"], ["ketamine"])


@responses.activate
def test_deeply_nested_json_is_a_clear_error():
    responses.get(f"{BASE}/studies/NCT90000001", body="[" * 100_000 + "]" * 100_000)
    with pytest.raises(SourceError, match=r"CT.gov study NCT90000001: .*nested too deeply"):
        ctgov().fetch_study("NCT90000001")


@responses.activate
def test_study_record_with_wrong_shape_is_named():
    responses.get(f"{BASE}/studies/NCT90000001", json={"protocolSection": "none"})
    with pytest.raises(SourceError, match=r"CT.gov study NCT90000001: protocolSection is a str"):
        ctgov().fetch_study("NCT90000001")


@responses.activate
def test_malformed_answer_during_refresh_leaves_the_previous_snapshot(tmp_path):
    init_snapshot(tmp_path, dt.date(2026, 11, 1))
    before = (tmp_path / "manifest.json").read_bytes()
    responses.get(f"{BASE}/studies", json={"totalCount": 1, "studies": "NCT90000001"})
    with pytest.raises(RefreshError, match=r"ClinicalTrials.gov: CT.gov search page 1: "
                                           r"'studies' is a str.*left unchanged"):
        refresh(tmp_path, SEARCH, FakePubMed(), ctgov(), now=NOW)
    assert (tmp_path / "manifest.json").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.json"]


# -- PubMed ----------------------------------------------------------------------------------
def _esearch(count, ids=(), history=True):
    hist = "<QueryKey>1</QueryKey><WebEnv>W</WebEnv>" if history else ""
    id_list = "".join(f"<Id>{i}</Id>" for i in ids)
    return (f"<eSearchResult><Count>{count}</Count>{hist}<IdList>{id_list}</IdList>"
            "</eSearchResult>").encode()


def test_esearch_count_that_is_not_a_number_names_the_request():
    fake = FakeTransport({"esearch": [_esearch("12a")]})
    with pytest.raises(SourceError, match=r"PubMed ESearch 2000/01/01-2000/12/31: <Count> is "
                                          r"'12a', not a whole number"):
        make_client(fake).esearch("k", "2000/01/01", "2000/12/31")


def test_esearch_count_larger_than_the_ids_listed_fails():
    fake = FakeTransport({"esearch": [_esearch(5, ["1", "2", "3"])]})
    with pytest.raises(SourceError, match=r"ESearch .* reported 5 records but listed 3 PMIDs"):
        make_client(fake).retrieve("k", "2000/01/01", "2000/12/31")


def test_entrez_requests_carry_the_user_agent():
    fake = FakeTransport({"esearch": [_esearch(0)]})
    seen = []

    def transport(request, timeout):
        seen.append(request.get_header("User-agent"))
        return fake(request, timeout)

    make_client(transport).retrieve("k", "2000/01/01", "2000/12/31")
    assert seen and seen[0].startswith("ketamine-evidence/") and EMAIL not in seen[0]


# -- leftovers of a killed refresh -----------------------------------------------------------
def test_hidden_temporary_folders_of_a_killed_refresh_are_removed(tmp_path):
    init_snapshot(tmp_path, dt.date(2026, 11, 1))
    stale = tmp_path / ".2026-11-26T100000Z-abc123"
    (stale / "pubmed").mkdir(parents=True)
    (stale / "pubmed" / "efetch_w01_b0001.xml").write_bytes(b"<partial")
    stale_manifest = tmp_path / ".manifest-xyz.tmp"  # the name before tables.write_bytes
    stale_manifest.write_text("{")
    stale_current = tmp_path / ".manifest.json.k2j4h.tmp"  # tables.write_bytes' name
    stale_current.write_text("{")
    unrelated = tmp_path / ".keep-me"
    unrelated.mkdir()
    commit_retrieval(tmp_path, [raw("pubmed/efetch_w01_b0001.xml", b"<a/>")], {}, now=NOW)
    assert not stale.exists() and not stale_manifest.exists() and unrelated.exists()
    assert not stale_current.exists()
