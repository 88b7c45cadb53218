"""Shared retry, throttling and progress helpers for the network clients.

Both clients (PubMed over urllib, ClinicalTrials.gov over requests) use the same small retry
loop instead of ``urllib3.Retry`` mounted on an adapter: one policy for both services, the
``Retry-After`` header honoured in seconds or as an HTTP date, and a ``sleep`` function that
tests replace so that a 429 with ``Retry-After: 30`` is checked without waiting 30 seconds.
"""

from __future__ import annotations

import email.utils
import logging
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from tqdm import tqdm

from .. import KetamineEvidenceError, __version__

log = logging.getLogger(__name__)

T = TypeVar("T")

#: HTTP status codes worth retrying: rate limited or a transient server fault.
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


def user_agent(library: str) -> str:
    """The User-Agent every request sends: the project, its version and the HTTP library."""
    return f"ketamine-evidence/{__version__} (living systematic review; {library})"


class SourceError(KetamineEvidenceError, RuntimeError):
    """A retrieval failed for good (after retries, or on a non-retryable answer)."""


class TransientError(Exception):
    """A failure that may succeed when tried again.

    Parameters
    ----------
    message : str
        What went wrong, without secrets (no API key, no e-mail).
    retry_after : float, optional
        Seconds the server asked us to wait (``Retry-After``), if any.
    """

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date).

    Returns ``None`` when the header is absent or unreadable.
    """
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    parsed = email.utils.parsedate_tz(value)
    if parsed is None:
        return None
    now = time.time() if now is None else now
    return max(0.0, email.utils.mktime_tz(parsed) - now)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: wait ``backoff * 2**(attempt-1)`` s, capped, or what the server asks.

    Parameters
    ----------
    max_attempts : int
        Total attempts including the first one.
    backoff : float
        Base wait in seconds before the second attempt.
    max_wait : float
        Cap on any single wait, including a server's ``Retry-After``.
    """

    max_attempts: int = 5
    backoff: float = 1.0
    max_wait: float = 120.0

    def wait_for(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_wait)
        return min(self.backoff * 2 ** (attempt - 1), self.max_wait)


def with_retries(
    call: Callable[[], T],
    *,
    what: str,
    policy: RetryPolicy,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run ``call`` until it succeeds, retrying on :class:`TransientError`.

    Raises
    ------
    SourceError
        After ``policy.max_attempts`` transient failures; the message names ``what`` and the
        last failure.
    """
    for attempt in range(1, policy.max_attempts + 1):
        try:
            return call()
        except TransientError as exc:
            if attempt >= policy.max_attempts:
                raise SourceError(
                    f"{what} failed after {attempt} attempts; last error: {exc}"
                ) from exc
            wait = policy.wait_for(attempt, exc.retry_after)
            log.warning("%s: %s; retrying in %.1f s (attempt %d/%d)", what, exc, wait,
                        attempt + 1, policy.max_attempts)
            sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover


class Throttle:
    """Minimum interval between requests, shared by every caller holding the same instance.

    NCBI counts all E-utility calls from one key or IP together, so one throttle per
    service is kept at module level and used by every client object (see ``pubmed``).
    """

    def __init__(
        self,
        min_interval: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.min_interval = min_interval
        self.clock = clock
        self.sleep = sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = self.clock()
            if now < self._next:
                self.sleep(self._next - now)
                now = self._next
            self._next = now + self.min_interval


def progress_bar(total: int | None, desc: str) -> tqdm:
    """A tqdm bar on stderr, shown only when stderr is a terminal (silent in CI and logs)."""
    disable = not (hasattr(sys.stderr, "isatty") and sys.stderr.isatty())
    return tqdm(total=total, desc=desc, disable=disable, leave=False)
