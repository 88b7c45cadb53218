"""PubMed client: ESearch (History server) + batched EFetch through ``Bio.Entrez``.

Requests are built by ``Bio.Entrez`` (parameter defaults, id formatting, switch to POST for
long requests); sending them goes through an injectable ``transport`` so tests replay recorded
responses. ``Bio.Entrez._open`` is not used because it sleeps a fixed 15 s between tries,
ignores ``Retry-After`` and keeps its own clock; the retry policy and throttle here replace it.

The e-mail address and API key are sent with every request and never stored: the raw files
keep the response bodies only, and :meth:`PubMedClient.safe_params` is what goes into the
manifest.
"""

from __future__ import annotations

import datetime as dt
import http.client
import logging
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field

import Bio
import defusedxml.ElementTree as safe_et
from Bio import Entrez
from defusedxml import DefusedXmlException

from ._http import (
    RETRY_STATUS,
    RetryPolicy,
    SourceError,
    Throttle,
    TransientError,
    parse_retry_after,
    progress_bar,
    user_agent,
    with_retries,
)

log = logging.getLogger(__name__)

EUTILS_BASE = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/"
USER_AGENT = user_agent(f"Biopython/{Bio.__version__}; urllib")
TOOL = "ketamine-evidence"
#: ESearch cannot page past the first 10,000 ids of a query; larger queries are split by date.
ESEARCH_MAX = 10_000
#: NCBI policy: 3 requests/s without a key, 10 with one; a small margin is kept.
_INTERVAL_NO_KEY = 0.34
_INTERVAL_KEY = 0.11

Transport = Callable[[urllib.request.Request, float], bytes]

#: One throttle per rate class, shared by every client in the process (NCBI counts all calls).
_SHARED_THROTTLES: dict[bool, Throttle] = {
    False: Throttle(_INTERVAL_NO_KEY),
    True: Throttle(_INTERVAL_KEY),
}


def urllib_transport(request: urllib.request.Request, timeout: float) -> bytes:
    """Send ``request`` with :func:`urllib.request.urlopen` and return the body bytes."""
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.read()


@dataclass
class RawFile:
    """One response body exactly as the service sent it, with the safe request parameters."""

    name: str
    content: bytes
    source: str
    kind: str
    params: dict = field(default_factory=dict)


@dataclass
class ESearchResult:
    count: int
    ids: list[str]
    webenv: str | None
    query_key: str | None
    raw: bytes


@dataclass
class PubMedRetrieval:
    term: str
    date_from: str
    date_to: str
    count: int
    pmids: list[str]
    files: list[RawFile]
    windows: list[dict]


def _credentials_from_env(email: str | None, api_key: str | None) -> tuple[str | None, str | None]:
    return (email or os.environ.get("NCBI_EMAIL") or None,
            api_key or os.environ.get("NCBI_API_KEY") or None)


def _answer_root(raw: bytes, what: str):
    """The root element of an E-utilities XML answer, parsed safely.

    A refused entity is a :class:`SourceError`; a body that is not well-formed (e.g.
    truncated) is a :class:`TransientError`, worth another try.
    """
    try:
        return safe_et.fromstring(raw)
    except DefusedXmlException as exc:
        raise SourceError(f"{what} answer refused by the safe XML parser: {exc}") from exc
    except safe_et.ParseError as exc:
        raise TransientError(f"{what} answer is not well-formed XML ({exc})") from exc


def parse_esearch(raw: bytes) -> ESearchResult:
    """Parse an ESearch XML answer (safely).

    Raises
    ------
    TransientError
        The body is not well-formed XML (e.g. truncated): worth another try.
    SourceError
        The service answered with an ``<ERROR>`` (it does so with HTTP 200).
    """
    root = _answer_root(raw, "ESearch")
    if root.tag != "eSearchResult":
        raise SourceError(f"unexpected ESearch answer: root element <{root.tag}>")
    error = root.findtext("ERROR")
    if error:
        raise SourceError(f"ESearch reported an error: {error.strip()}")
    count_text = root.findtext("Count")
    if count_text is None:
        raise SourceError("ESearch answer has no <Count>")
    if not count_text.strip().isdigit():
        raise SourceError(f"<Count> is {count_text!r}, not a whole number")
    return ESearchResult(
        count=int(count_text),
        ids=[e.text.strip() for e in root.findall("IdList/Id") if e.text],
        webenv=root.findtext("WebEnv"),
        query_key=root.findtext("QueryKey"),
        raw=raw,
    )


def check_efetch(raw: bytes) -> list[str]:
    """Check an EFetch body is a complete ``PubmedArticleSet``; return the PMIDs in it."""
    root = _answer_root(raw, "EFetch")
    if root.tag != "PubmedArticleSet":
        message = (root.findtext("ERROR") or "").strip()
        raise SourceError(f"unexpected EFetch answer <{root.tag}> {message}".strip())
    pmids = []
    for article in list(root):
        pmid = article.findtext("MedlineCitation/PMID") or article.findtext("BookDocument/PMID")
        if pmid:
            pmids.append(pmid.strip())
    return pmids


class PubMedClient:
    """Polite PubMed E-utilities client.

    Parameters
    ----------
    email : str, optional
        Contact address sent as ``email`` (NCBI asks for it). Defaults to env ``NCBI_EMAIL``.
    api_key : str, optional
        NCBI API key; defaults to env ``NCBI_API_KEY``. Raises the limit from 3 to 10 requests/s.
    base_url : str
        E-utilities base URL (ends with ``/``); tests point it elsewhere.
    transport : callable
        ``transport(request, timeout) -> bytes``, raising like ``urlopen`` does.
    sleep, throttle, policy
        Injectable waiting, rate limit and retry policy (tests use a fake ``sleep``).
    batch_size : int
        Records per EFetch request (at most 200 here; NCBI allows more via POST).
    """

    def __init__(
        self,
        email: str | None = None,
        api_key: str | None = None,
        *,
        tool: str = TOOL,
        base_url: str = EUTILS_BASE,
        transport: Transport = urllib_transport,
        sleep: Callable[[float], None] = time.sleep,
        throttle: Throttle | None = None,
        policy: RetryPolicy | None = None,
        timeout: float = 60.0,
        batch_size: int = 200,
    ):
        self.email, self.api_key = _credentials_from_env(email, api_key)
        if not self.email:
            raise SourceError(
                "PubMed needs a contact e-mail: set the NCBI_EMAIL environment variable "
                "(it is sent to NCBI and never written to disk)."
            )
        if " " in tool:
            raise ValueError("the Entrez 'tool' parameter may not contain spaces")
        if not 1 <= batch_size <= 200:
            raise ValueError("batch_size must be between 1 and 200")
        self.tool = tool
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.transport = transport
        self.sleep = sleep
        self.throttle = throttle or _SHARED_THROTTLES[bool(self.api_key)]
        self.policy = policy or RetryPolicy()
        self.timeout = timeout
        self.batch_size = batch_size

    def __repr__(self) -> str:  # never show the e-mail or key
        return f"PubMedClient(base_url={self.base_url!r}, api_key={'set' if self.api_key else 'unset'})"

    # -- transport -----------------------------------------------------------------------
    def _send(self, utility: str, params: dict, what: str, check: Callable[[bytes], object]):
        full = dict(params)
        full.update(tool=self.tool, email=self.email, api_key=self.api_key)
        request = Entrez._build_request(f"{self.base_url}{utility}.fcgi", full)
        request.add_header("User-Agent", USER_AGENT)

        def once():
            self.throttle.wait()
            try:
                body = self.transport(request, self.timeout)
            except urllib.error.HTTPError as exc:
                if exc.code in RETRY_STATUS:
                    headers = exc.headers or {}
                    raise TransientError(
                        f"HTTP {exc.code}", parse_retry_after(headers.get("Retry-After"))
                    ) from None
                raise SourceError(f"{what}: HTTP {exc.code} {exc.reason}") from None
            except (urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException) as exc:
                reason = getattr(exc, "reason", exc)
                raise TransientError(f"{type(exc).__name__}: {reason}") from None
            try:
                return body, check(body)
            except SourceError as exc:  # name the request the answer belongs to
                raise SourceError(f"{what}: {exc}") from None

        return with_retries(once, what=what, policy=self.policy, sleep=self.sleep)

    # -- ESearch -------------------------------------------------------------------------
    def esearch(self, term: str, mindate: str | None = None, maxdate: str | None = None,
                retmax: int = ESEARCH_MAX) -> ESearchResult:
        """Run ESearch with ``usehistory=y`` over publication dates ``mindate``..``maxdate``."""
        params = self._esearch_params(term, mindate, maxdate, retmax)
        _, result = self._send("esearch", params, f"PubMed ESearch {mindate}-{maxdate}",
                               parse_esearch)
        return result

    @staticmethod
    def _esearch_params(term, mindate, maxdate, retmax) -> dict:
        params = {"db": "pubmed", "term": term, "usehistory": "y", "retmax": retmax}
        if mindate or maxdate:
            params.update(datetype="pdat", mindate=mindate or "1800/01/01",
                          maxdate=maxdate or dt.date.today().strftime("%Y/%m/%d"))
        return params

    def date_windows(self, term: str, date_from: str, date_to: str) -> list[tuple]:
        """Split ``date_from..date_to`` until each window has at most 10,000 hits.

        Returns a list of ``(mindate, maxdate, ESearchResult)``.
        """
        result = self.esearch(term, date_from, date_to)
        if result.count <= ESEARCH_MAX:
            return [(date_from, date_to, result)]
        start, end = _parse_date(date_from), _parse_date(date_to)
        if start >= end:
            raise SourceError(
                f"PubMed query has {result.count} hits on the single day {date_from}; "
                "ESearch cannot list more than 10,000. Narrow the query."
            )
        middle = start + (end - start) // 2
        return (self.date_windows(term, _fmt_date(start), _fmt_date(middle))
                + self.date_windows(term, _fmt_date(middle + dt.timedelta(days=1)),
                                    _fmt_date(end)))

    # -- whole retrieval -----------------------------------------------------------------
    def retrieve(self, term: str, date_from: str, date_to: str | None = None) -> PubMedRetrieval:
        """Search and fetch every record; keep every response body.

        Raises
        ------
        SourceError
            A request failed after retries, or the fetched PMIDs do not match the search.
        """
        date_to = date_to or dt.date.today().strftime("%Y/%m/%d")
        windows = self.date_windows(term, date_from, date_to)
        files: list[RawFile] = []
        pmids: list[str] = []
        window_info = []
        total = sum(w[2].count for w in windows)
        bar = progress_bar(total, "PubMed efetch")
        for w, (mindate, maxdate, search) in enumerate(windows, start=1):
            tag = f"w{w:02d}"
            files.append(RawFile(
                f"pubmed/esearch_{tag}.xml", search.raw, "pubmed", "esearch",
                self.safe_params(self._esearch_params(term, mindate, maxdate, ESEARCH_MAX)),
            ))
            window_info.append({"window": tag, "mindate": mindate, "maxdate": maxdate,
                                "count": search.count})
            if search.count == 0:
                continue
            if not (search.webenv and search.query_key):
                raise SourceError("ESearch answer lacks WebEnv/QueryKey (usehistory failed)")
            if len(search.ids) < search.count:
                # retmax is 10,000 and windows hold at most 10,000 hits: every id is listed.
                raise SourceError(
                    f"PubMed ESearch {mindate}-{maxdate} reported {search.count} records but "
                    f"listed {len(search.ids)} PMIDs; the answer is incomplete, try again")
            fetched: list[str] = []
            for b, retstart in enumerate(range(0, search.count, self.batch_size), start=1):
                params = {"db": "pubmed", "WebEnv": search.webenv,
                          "query_key": search.query_key, "retstart": retstart,
                          "retmax": self.batch_size, "retmode": "xml"}
                body, batch_pmids = self._send(
                    "efetch", params, f"PubMed EFetch window {tag} batch {b}", check_efetch)
                files.append(RawFile(f"pubmed/efetch_{tag}_b{b:04d}.xml", body, "pubmed",
                                     "efetch", self.safe_params(params, drop=("WebEnv",))))
                fetched.extend(batch_pmids)
                bar.update(len(batch_pmids))
            missing = sorted(set(search.ids) - set(fetched))
            window_info[-1]["fetched"] = len(fetched)
            window_info[-1]["missing_pmids"] = missing
            if missing:  # e.g. a record withdrawn between ESearch and EFetch
                log.warning("PubMed window %s: %d searched PMIDs were not returned by EFetch: %s",
                            tag, len(missing), ", ".join(missing[:10]))
            pmids.extend(fetched)
        bar.close()
        return PubMedRetrieval(term=term, date_from=date_from, date_to=date_to,
                               count=total, pmids=list(dict.fromkeys(pmids)), files=files,
                               windows=window_info)

    def safe_params(self, params: dict, drop: tuple[str, ...] = ()) -> dict:
        """Request parameters fit for the manifest: no e-mail, no API key."""
        out = {k: v for k, v in params.items()
               if k not in {"email", "api_key", *drop} and v is not None}
        out["tool"] = self.tool
        out["api_key_used"] = bool(self.api_key)
        return out


def _parse_date(text: str) -> dt.date:
    parts = [int(p) for p in text.replace("-", "/").split("/")]
    while len(parts) < 3:
        parts.append(1)
    return dt.date(*parts[:3])


def _fmt_date(day: dt.date) -> str:
    return day.strftime("%Y/%m/%d")
