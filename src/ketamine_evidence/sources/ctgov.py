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

from .. import __version__
from ._http import (
    RETRY_STATUS,
    RetryPolicy,
    SourceError,
    Throttle,
    TransientError,
    parse_retry_after,
    progress_bar,
    with_retries,
)
from .pubmed import RawFile

CTGOV_BASE = "https://clinicaltrials.gov/api/v2"
USER_AGENT = (
    f"ketamine-evidence/{__version__} (living systematic review of ketamine for PTSD; "
    f"python-requests/{requests.__version__})"
)
NCT_RE = re.compile(r"^NCT\d{8}$", re.IGNORECASE)
#: Fields asked for in the search pages; full records are fetched one by one afterwards.
SEARCH_FIELDS = ("NCTId", "BriefTitle", "OverallStatus", "HasResults", "StudyType", "Phase",
                 "Condition", "InterventionName", "LastUpdatePostDate")
#: No official limit is published; ~1 request/s stays well under the ~50/min often quoted.
_SHARED_THROTTLE = Throttle(1.0)


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
    ):
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        self.base_url = base_url.rstrip("/")
        self.sleep = sleep
        self.throttle = throttle or _SHARED_THROTTLE
        self.policy = policy or RetryPolicy()
        self.timeout = timeout
        self.page_size = min(max(int(page_size), 1), 1000)

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
        """Page through ``/studies``; return ``(params, totalCount, nct_ids, files)``."""
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
            body, data = self._get_json("/studies", page_params, f"CT.gov search page {page}")
            if page == 1:
                total = data.get("totalCount")
            studies = data.get("studies")
            if studies is None:
                raise SourceError(f"CT.gov search page {page} has no 'studies' array")
            for study in studies:
                nct = (study.get("protocolSection", {}).get("identificationModule", {})
                       .get("nctId"))
                if nct:
                    nct_ids.append(nct.upper())
            safe = {k: v for k, v in page_params.items() if k != "pageToken"}
            safe["page"] = page
            files.append(RawFile(f"ctgov/search_p{page:03d}.json", body, "ctgov", "search", safe))
            token = data.get("nextPageToken")
            if not token:
                break
            if token in seen_tokens:
                raise SourceError(f"CT.gov returned the same nextPageToken twice (page {page})")
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
        body, data = self._get_json(f"/studies/{nct_id}", {"format": "json"},
                                    f"CT.gov study {nct_id}")
        ident = data.get("protocolSection", {}).get("identificationModule", {})
        returned = str(ident.get("nctId", "")).upper()
        aliases = {a.upper() for a in ident.get("nctIdAliases", [])}
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
