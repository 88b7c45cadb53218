"""ClinicalTrials.gov API v2 client (``requests``).

``GET /studies`` with ``query.cond`` / ``query.intr`` (Essie ``OR`` lists from config),
``pageSize`` 1000 and ``nextPageToken`` paging, ``countTotal`` for the total; then the full
record of every hit via ``GET /studies/{nctId}`` (with ``resultsSection``). Every response body
is kept exactly as received. Retries use the shared policy in ``_http`` (``Retry-After``
honoured; injectable ``sleep``) rather than ``urllib3.Retry`` on the adapter, because the
adapter-level retry sleeps with ``time.sleep`` and is bypassed by the ``responses`` mock, so its
behaviour could not be tested offline.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import requests

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
from .pubmed import RawFile

CTGOV_BASE = "https://clinicaltrials.gov/api/v2"
USER_AGENT = user_agent(f"python-requests/{requests.__version__}")
NCT_RE = re.compile(r"^NCT\d{8}$", re.IGNORECASE)
#: Fields asked for in the search pages; full records are fetched one by one afterwards.
SEARCH_FIELDS = ("NCTId", "BriefTitle", "OverallStatus", "HasResults", "StudyType", "Phase",
                 "Condition", "InterventionName", "LastUpdatePostDate")
#: Safety stop for paging: 1,000 pages of 1,000 studies exceed the whole registry (~550,000).
MAX_PAGES = 1000
#: No official limit is published; ~1 request/s stays well under the ~50/min often quoted.
_SHARED_THROTTLE = Throttle(1.0)


def _object(value, what: str) -> dict:
    """``value`` when it is a JSON object; otherwise a :class:`SourceError` naming ``what``."""
    if not isinstance(value, dict):
        raise SourceError(f"{what} is a {type(value).__name__}, not an object")
    return value


def _identification(study, what: str) -> dict:
    """``protocolSection.identificationModule`` of a study, checking each level's type."""
    study = _object(study, what)
    protocol = _object(study.get("protocolSection", {}), f"{what}: protocolSection")
    return _object(protocol.get("identificationModule", {}),
                   f"{what}: protocolSection.identificationModule")


def _nct_of(study, what: str) -> str | None:
    nct = _identification(study, what).get("nctId")
    if nct is not None and not isinstance(nct, str):
        raise SourceError(f"{what}: nctId is a {type(nct).__name__}, not a string")
    return nct


@dataclass
class CTGovRetrieval:
    params: dict
    total_count: int | None
    nct_ids: list[str]
    files: list[RawFile]


def essie_or(terms: Iterable[str]) -> str:
    """Join terms into an Essie ``OR`` expression, quoting multi-word terms."""
    parts = []
    for term in terms:
        term = term.strip()
        if not term:
            continue
        parts.append(f'"{term}"' if re.search(r"\s|-", term) else term)
    return " OR ".join(parts)


class CTGovClient:
    """Polite ClinicalTrials.gov v2 client.

    Parameters
    ----------
    session : requests.Session, optional
        Injected session (tests pass one whose requests ``responses`` intercepts).
    base_url : str
        API root, default ``https://clinicaltrials.gov/api/v2``.
    sleep, throttle, policy
        Injectable waiting, rate limit and retry policy.
    timeout : float
        Seconds to wait for each answer.
    page_size : int
        Studies per search page (1 to 1000).
    max_pages : int
        Search pages after which paging stops with an error instead of running on.
    """

    def __init__(
        self,
        session: requests.Session | None = None,
        *,
        base_url: str = CTGOV_BASE,
        sleep: Callable[[float], None] = time.sleep,
        throttle: Throttle | None = None,
        policy: RetryPolicy | None = None,
        timeout: float = 60.0,
        page_size: int = 1000,
        max_pages: int = MAX_PAGES,
    ):
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        self.base_url = base_url.rstrip("/")
        self.sleep = sleep
        self.throttle = throttle or _SHARED_THROTTLE
        self.policy = policy or RetryPolicy()
        self.timeout = timeout
        self.page_size = min(max(int(page_size), 1), 1000)
        self.max_pages = int(max_pages)

    def _get_json(self, path: str, params: dict, what: str) -> tuple[bytes, dict]:
        url = f"{self.base_url}{path}"

        def once():
            self.throttle.wait()
            try:
                response = self.session.get(url, params=params, timeout=self.timeout)
            except (requests.Timeout, requests.ConnectionError,
                    requests.exceptions.ChunkedEncodingError) as exc:
                raise TransientError(f"{type(exc).__name__}: {exc}") from None
            if response.status_code in RETRY_STATUS:
                raise TransientError(f"HTTP {response.status_code}",
                                     parse_retry_after(response.headers.get("Retry-After")))
            if response.status_code != 200:
                snippet = response.text[:200].strip()
                raise SourceError(f"{what}: HTTP {response.status_code} {snippet}")
            body = response.content
            try:
                data = json.loads(body)
            except ValueError as exc:  # truncated or not JSON: try again
                raise TransientError(f"answer is not valid JSON ({exc})") from None
            except RecursionError:
                raise SourceError(f"{what}: the JSON answer is nested too deeply to read; "
                                  "it is not a study record") from None
            if not isinstance(data, dict):
                raise SourceError(f"{what}: expected a JSON object, got {type(data).__name__}")
            return body, data

        return with_retries(once, what=what, policy=self.policy, sleep=self.sleep)

    def search_params(self, conditions: Iterable[str], interventions: Iterable[str]) -> dict:
        return {
            "query.cond": essie_or(conditions),
            "query.intr": essie_or(interventions),
            "fields": ",".join(SEARCH_FIELDS),
            "pageSize": self.page_size,
            "countTotal": "true",
            "format": "json",
        }

    def search(self, conditions: Iterable[str], interventions: Iterable[str]):
        """Page through ``/studies``; return ``(params, totalCount, nct_ids, files)``.

        Paging stops at the first page without a ``nextPageToken`` or without studies (a
        server that hands out a fresh token with every empty page would otherwise be paged
        forever), and fails after ``max_pages`` pages.
        """
        params = self.search_params(conditions, interventions)
        files: list[RawFile] = []
        nct_ids: list[str] = []
        total: int | None = None
        token: str | None = None
        seen_tokens: set[str] = set()
        page = 0
        while True:
            page += 1
            page_params = dict(params)
            if token:
                page_params["pageToken"] = token
            what = f"CT.gov search page {page}"
            body, data = self._get_json("/studies", page_params, what)
            if page == 1:
                total = data.get("totalCount")
                if total is not None and (isinstance(total, bool) or not isinstance(total, int)):
                    raise SourceError(f"{what}: totalCount is {total!r}, not a whole number")
            studies = data.get("studies")
            if studies is None:
                raise SourceError(f"{what} has no 'studies' array")
            if not isinstance(studies, list):
                raise SourceError(f"{what}: 'studies' is a {type(studies).__name__}, not a list")
            for j, study in enumerate(studies, start=1):
                nct = _nct_of(study, f"{what}: study {j}")
                if nct:
                    nct_ids.append(nct.upper())
            safe = {k: v for k, v in page_params.items() if k != "pageToken"}
            safe["page"] = page
            files.append(RawFile(f"ctgov/search_p{page:03d}.json", body, "ctgov", "search", safe))
            token = data.get("nextPageToken")
            if not token or not studies:
                break
            if token in seen_tokens:
                raise SourceError(f"CT.gov returned the same nextPageToken twice (page {page})")
            if page >= self.max_pages:
                raise SourceError(
                    f"CT.gov search: more than {self.max_pages} pages of {self.page_size} "
                    "studies; narrow the query or raise max_pages")
            seen_tokens.add(token)
        nct_ids = list(dict.fromkeys(nct_ids))
        if total is not None and total != len(nct_ids):
            raise SourceError(
                f"CT.gov search reported totalCount {total} but {len(nct_ids)} studies were paged"
            )
        return params, total, nct_ids, files

    def fetch_study(self, nct_id: str) -> RawFile:
        """Full record of one study (all fields, including ``resultsSection``)."""
        if not NCT_RE.match(nct_id):
            raise ValueError(f"not an NCT id: {nct_id!r}")
        nct_id = nct_id.upper()
        what = f"CT.gov study {nct_id}"
        body, data = self._get_json(f"/studies/{nct_id}", {"format": "json"}, what)
        ident = _identification(data, what)
        returned = str(ident.get("nctId", "")).upper()
        aliases = ident.get("nctIdAliases") or []
        if not isinstance(aliases, list):
            raise SourceError(f"{what}: nctIdAliases is a {type(aliases).__name__}, not a list")
        aliases = {str(a).upper() for a in aliases}
        if returned != nct_id and nct_id not in aliases:
            raise SourceError(f"CT.gov answered {returned or 'no nctId'} when asked for {nct_id}")
        return RawFile(f"ctgov/study_{nct_id}.json", body, "ctgov", "study",
                       {"path": f"/studies/{nct_id}", "format": "json"})

    def retrieve(self, conditions: Iterable[str], interventions: Iterable[str]) -> CTGovRetrieval:
        params, total, nct_ids, files = self.search(conditions, interventions)
        bar = progress_bar(len(nct_ids), "CT.gov studies")
        for nct in nct_ids:
            files.append(self.fetch_study(nct))
            bar.update(1)
        bar.close()
        return CTGovRetrieval(params=params, total_count=total, nct_ids=nct_ids, files=files)
