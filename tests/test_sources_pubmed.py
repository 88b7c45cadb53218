"""PubMed client on recorded/hand-written responses through an injected transport (no network)."""

from __future__ import annotations

import http.client
import io
import urllib.error
import urllib.parse
from email.message import Message
from pathlib import Path

import pytest

from ketamine_evidence.sources._http import RetryPolicy, SourceError, Throttle
from ketamine_evidence.sources.pubmed import PubMedClient, check_efetch, parse_esearch

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "tests" / "fixtures" / "pubmed"
REAL = ROOT.parent / "shared" / "fixtures" / "real"
EMAIL = "reviewer@example.org"
KEY = "SECRET-KEY-123"


def http_error(code, retry_after=None):
    headers = Message()
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return urllib.error.HTTPError("https://x/", code, "error", headers, io.BytesIO(b""))


class FakeTransport:
    """Replays a queue of answers (bytes or exceptions) per E-utility; records requests."""

    def __init__(self, answers: dict[str, list]):
        self.answers = {k: list(v) for k, v in answers.items()}
        self.requests = []

    def __call__(self, request, timeout):
        url = request.full_url
        utility = url.split("?")[0].rsplit("/", 1)[-1].replace(".fcgi", "")
        body = request.data.decode() if request.data else url.split("?", 1)[1]
        params = dict(urllib.parse.parse_qsl(body))
        self.requests.append((utility, params))
        answer = self.answers[utility].pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer


def make_client(transport, sleeps=None, **kw):
    sleeps = [] if sleeps is None else sleeps
    return PubMedClient(email=EMAIL, api_key=kw.pop("api_key", None), transport=transport,
                        sleep=sleeps.append, throttle=Throttle(0, sleep=sleeps.append),
                        policy=RetryPolicy(max_attempts=4, backoff=1.0), **kw)


def read(name):
    return (FIX / name).read_bytes()


def test_requires_email(monkeypatch):
    monkeypatch.delenv("NCBI_EMAIL", raising=False)
    with pytest.raises(SourceError, match="NCBI_EMAIL"):
        PubMedClient(transport=lambda r, t: b"")


def test_email_and_key_from_env_sent_but_not_in_repr_or_safe_params(monkeypatch):
    monkeypatch.setenv("NCBI_EMAIL", EMAIL)
    monkeypatch.setenv("NCBI_API_KEY", KEY)
    fake = FakeTransport({"esearch": [read("esearch_3hits.xml")]})
    client = PubMedClient(transport=fake, sleep=lambda s: None)
    client.esearch("ketamine", "2000/01/01", "2020/12/31")
    utility, params = fake.requests[0]
    assert params["email"] == EMAIL and params["api_key"] == KEY
    assert params["tool"] == "ketamine-evidence" and params["usehistory"] == "y"
    assert params["datetype"] == "pdat" and params["mindate"] == "2000/01/01"
    assert EMAIL not in repr(client) and KEY not in repr(client)
    safe = client.safe_params(params)
    assert "email" not in safe and "api_key" not in safe and safe["api_key_used"] is True
    assert client.throttle.min_interval < 0.15  # 10 requests/s with a key


def test_retrieve_uses_history_and_batches(monkeypatch):
    efetch = read("efetch_synthetic_3records.xml")
    fake = FakeTransport({"esearch": [read("esearch_3hits.xml")], "efetch": [efetch]})
    result = make_client(fake, batch_size=200).retrieve("ketamine", "1990/01/01", "2025/12/31")
    assert result.count == 3 and result.pmids == ["90000001", "90000002", "90000003"]
    _, fetch = fake.requests[1]
    assert fetch["WebEnv"] == "MCID_synthetic" and fetch["query_key"] == "1"
    assert fetch["retstart"] == "0" and fetch["retmax"] == "200"
    assert [f.name for f in result.files] == ["pubmed/esearch_w01.xml",
                                              "pubmed/efetch_w01_b0001.xml"]
    assert result.files[1].content == efetch  # stored exactly as sent
    assert "WebEnv" not in result.files[1].params and "email" not in result.files[1].params


def test_small_batches_page_with_retstart():
    efetch = read("efetch_synthetic_3records.xml")
    fake = FakeTransport({"esearch": [read("esearch_3hits.xml")],
                          "efetch": [efetch, read("efetch_empty.xml")]})
    result = make_client(fake, batch_size=2).retrieve("k", "1990/01/01", "2025/12/31")
    assert [p["retstart"] for u, p in fake.requests if u == "efetch"] == ["0", "2"]
    assert len(result.files) == 3


def test_batch_size_limit():
    with pytest.raises(ValueError):
        make_client(FakeTransport({}), batch_size=500)


def test_429_honours_retry_after_then_succeeds():
    sleeps = []
    fake = FakeTransport({"esearch": [http_error(429, 7), read("esearch_3hits.xml")]})
    make_client(fake, sleeps).esearch("k")
    assert 7.0 in sleeps


@pytest.mark.parametrize("failure", [
    http_error(500), http_error(503), TimeoutError("timed out"),
    ConnectionResetError(104, "Connection reset by peer"),
    urllib.error.URLError("temporary failure"), http.client.IncompleteRead(b"x"),
])
def test_transient_failures_are_retried_with_backoff(failure):
    sleeps = []
    fake = FakeTransport({"esearch": [failure, failure, read("esearch_3hits.xml")]})
    assert make_client(fake, sleeps).esearch("k").count == 3
    assert sleeps == [1.0, 2.0]  # exponential backoff, injected sleep


def test_persistent_500_gives_clear_error():
    fake = FakeTransport({"esearch": [http_error(500)] * 4})
    with pytest.raises(SourceError, match="failed after 4 attempts; last error: HTTP 500"):
        make_client(fake).esearch("k")


def test_client_error_is_not_retried():
    fake = FakeTransport({"esearch": [http_error(400)]})
    with pytest.raises(SourceError, match="HTTP 400"):
        make_client(fake).esearch("k")
    assert len(fake.requests) == 1


def test_truncated_efetch_is_retried_then_reported():
    truncated = read("efetch_truncated.xml")
    fake = FakeTransport({"esearch": [read("esearch_3hits.xml")], "efetch": [truncated] * 4})
    with pytest.raises(SourceError, match="not well-formed XML"):
        make_client(fake).retrieve("k", "1990/01/01", "2025/12/31")


def test_truncated_then_complete_efetch_succeeds():
    fake = FakeTransport({"esearch": [read("esearch_3hits.xml")],
                          "efetch": [read("efetch_truncated.xml"),
                                     read("efetch_synthetic_3records.xml")]})
    assert make_client(fake).retrieve("k", "1990/01/01", "2025/12/31").count == 3


def test_esearch_error_element_is_an_error():
    fake = FakeTransport({"esearch": [read("esearch_error.xml")]})
    with pytest.raises(SourceError, match="synthetic test error"):
        make_client(fake).esearch("k")


def test_entity_bomb_refused_by_client():
    with pytest.raises(SourceError, match="refused"):
        check_efetch(read("efetch_entity_bomb.xml"))


def test_more_than_10000_hits_split_by_date():
    def es(count, ids=""):
        return (f"<eSearchResult><Count>{count}</Count><QueryKey>1</QueryKey>"
                f"<WebEnv>W</WebEnv><IdList>{ids}</IdList></eSearchResult>").encode()

    fake = FakeTransport({"esearch": [es(15000), es(8000), es(7000)]})
    windows = make_client(fake).date_windows("k", "2000/01/01", "2000/12/31")
    assert [(a, b, r.count) for a, b, r in windows] == [
        ("2000/01/01", "2000/07/01", 8000), ("2000/07/02", "2000/12/31", 7000)]


def test_single_day_over_limit_is_an_error():
    fake = FakeTransport({"esearch": [b"<eSearchResult><Count>20000</Count></eSearchResult>"]})
    with pytest.raises(SourceError, match="single day"):
        make_client(fake).date_windows("k", "2000/01/01", "2000/01/01")


def test_empty_search_fetches_nothing():
    real = REAL / "entrez_esearch_biopython_esearch8_no_results_errorlist.xml"
    body = real.read_bytes() if real.exists() else (
        b"<eSearchResult><Count>0</Count><IdList/></eSearchResult>")
    fake = FakeTransport({"esearch": [body]})
    result = make_client(fake).retrieve("nothing", "1990/01/01", "2025/12/31")
    assert result.count == 0 and result.pmids == [] and len(result.files) == 1


@pytest.mark.skipif(not REAL.exists(), reason="shared real fixtures absent")
@pytest.mark.parametrize("name", sorted(p.name for p in REAL.glob("*esearch*.xml")))
def test_parse_real_esearch(name):
    result = parse_esearch((REAL / name).read_bytes())
    assert result.count >= 0
    if "usehistory" in name:
        assert result.webenv == "MCID_6927d6e7fee3e90f880ec190" and result.query_key == "1"
        assert len(result.ids) == 100


@pytest.mark.skipif(not REAL.exists(), reason="shared real fixtures absent")
@pytest.mark.parametrize("name", sorted(p.name for p in REAL.glob("pubmed_efetch*.xml")))
def test_check_real_efetch(name):
    assert check_efetch((REAL / name).read_bytes())
