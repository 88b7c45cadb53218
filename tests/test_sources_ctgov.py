"""CT.gov v2 client against ``responses`` mocks (no network)."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
import responses
from responses import matchers

from ketamine_evidence.sources._http import RetryPolicy, SourceError, Throttle
from ketamine_evidence.sources.ctgov import CTGovClient, essie_or

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "tests" / "fixtures" / "ctgov"
REAL = ROOT.parent / "shared" / "fixtures" / "real"
BASE = "https://ctgov.test/api/v2"


def client(sleeps=None):
    sleeps = [] if sleeps is None else sleeps
    return CTGovClient(requests.Session(), base_url=BASE, sleep=sleeps.append,
                       throttle=Throttle(0, sleep=sleeps.append),
                       policy=RetryPolicy(max_attempts=3, backoff=0.5))


def body(name):
    return (FIX / name).read_bytes()


def test_essie_or_quotes_multiword_terms():
    assert essie_or(["PTSD", "Posttraumatic Stress Disorder", "Post-Traumatic"]) == \
        'PTSD OR "Posttraumatic Stress Disorder" OR "Post-Traumatic"'


@responses.activate
def test_search_pages_and_fetches_full_records():
    first = responses.get(f"{BASE}/studies", body=body("search_synthetic_p1.json"),
                          match=[matchers.query_param_matcher(
                              {"query.cond": "PTSD", "query.intr": "ketamine OR esketamine",
                               "pageSize": "1000", "countTotal": "true", "format": "json"},
                              strict_match=False)])
    second = responses.get(f"{BASE}/studies", body=body("search_synthetic_p2.json"),
                           match=[matchers.query_param_matcher({"pageToken": "TOKEN_PAGE_2"},
                                                               strict_match=False)])
    responses.get(f"{BASE}/studies/NCT90000001", body=body("study_synthetic_NCT90000001.json"))
    responses.get(f"{BASE}/studies/NCT90000003",
                  body=body("study_synthetic_NCT90000003_ongoing.json"))
    result = client().retrieve(["PTSD"], ["ketamine", "esketamine"])
    assert result.total_count == 2 and result.nct_ids == ["NCT90000001", "NCT90000003"]
    assert [f.name for f in result.files] == [
        "ctgov/search_p001.json", "ctgov/search_p002.json",
        "ctgov/study_NCT90000001.json", "ctgov/study_NCT90000003.json"]
    assert result.files[2].content == body("study_synthetic_NCT90000001.json")
    assert first.call_count == 1 and second.call_count == 1
    ua = responses.calls[0].request.headers["User-Agent"]
    assert ua.startswith("ketamine-evidence/")
    assert "pageToken" not in result.files[1].params


@responses.activate
def test_empty_result():
    responses.get(f"{BASE}/studies", body=body("search_empty.json"))
    result = client().retrieve(["nothing"], ["nothing"])
    assert result.nct_ids == [] and result.total_count == 0 and len(result.files) == 1


@responses.activate
def test_429_retry_after_is_honoured():
    sleeps = []
    responses.get(f"{BASE}/studies/NCT90000001", status=429, headers={"Retry-After": "12"})
    responses.get(f"{BASE}/studies/NCT90000001", body=body("study_synthetic_NCT90000001.json"))
    client(sleeps).fetch_study("NCT90000001")
    assert 12.0 in sleeps


@responses.activate
@pytest.mark.parametrize("failure", [
    {"status": 500}, {"status": 503},
    {"body": requests.exceptions.ConnectTimeout("timeout")},
    {"body": requests.exceptions.ReadTimeout("read timeout")},
    {"body": requests.exceptions.ConnectionError("Connection reset by peer")},
    {"body": body("study_truncated.json")},
])
def test_transient_failures_are_retried(failure):
    sleeps = []
    responses.get(f"{BASE}/studies/NCT90000001", **failure)
    responses.get(f"{BASE}/studies/NCT90000001", body=body("study_synthetic_NCT90000001.json"))
    raw = client(sleeps).fetch_study("NCT90000001")
    assert raw.name == "ctgov/study_NCT90000001.json"
    assert sleeps == [0.5]


@responses.activate
def test_persistent_truncated_json_is_a_clear_error():
    for _ in range(3):
        responses.get(f"{BASE}/studies/NCT90000001", body=body("study_truncated.json"))
    with pytest.raises(SourceError, match="CT.gov study NCT90000001 failed after 3 attempts"
                                          ".*not valid JSON"):
        client().fetch_study("NCT90000001")


@responses.activate
def test_404_text_plain_is_not_retried():
    responses.get(f"{BASE}/studies/NCT90000009", status=404, body="Study not found",
                  content_type="text/plain")
    with pytest.raises(SourceError, match="HTTP 404 Study not found"):
        client().fetch_study("NCT90000009")
    assert len(responses.calls) == 1


@responses.activate
def test_wrong_study_returned_is_an_error():
    responses.get(f"{BASE}/studies/NCT90000003", body=body("study_synthetic_NCT90000001.json"))
    with pytest.raises(SourceError, match="answered NCT90000001"):
        client().fetch_study("NCT90000003")


def test_rejects_non_nct_ids():
    with pytest.raises(ValueError):
        client().fetch_study("../../etc")


@responses.activate
def test_missing_studies_array_is_an_error():
    responses.get(f"{BASE}/studies", json={"totalCount": 1})
    with pytest.raises(SourceError, match="no 'studies'"):
        client().search(["PTSD"], ["ketamine"])


@pytest.mark.skipif(not REAL.exists(), reason="shared real fixtures absent")
@responses.activate
def test_real_pages_follow_token_and_check_total():
    """Real biomcp pages (answers are served in the order registered): page 2 has no
    totalCount; 10 paged studies != totalCount 21, which must not pass silently."""
    responses.get(f"{BASE}/studies",
                  body=(REAL / "ctgov_v2_biomcp_search_phelan_limit5_20260811.json").read_bytes())
    responses.get(f"{BASE}/studies",
                  body=(REAL / "ctgov_v2_biomcp_search_phelan_next_20260811.json").read_bytes())
    responses.get(f"{BASE}/studies", json={"studies": []})
    with pytest.raises(SourceError, match="totalCount 21 but 10 studies"):
        client().search(["Phelan-McDermid Syndrome"], [])
    assert "pageToken=ZVt07cGHkvI2wRk2CJf6_LLq14bEL8swd7KrgP4dnDeTsPkw" in \
        responses.calls[1].request.url
