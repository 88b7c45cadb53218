"""Where and how politely a refresh talks to the services: options, environment, defaults.

``ketamine-evidence refresh`` can run against the real services (the defaults), a mirror, a
proxy or a local replay server. Each setting comes from, in this order, the command-line
option, the environment variable, the default:

=====================  ===============================  =========================================
setting                environment variable             default
=====================  ===============================  =========================================
E-utilities base URL   ``KETAMINE_EVIDENCE_EUTILS_URL``  ``https://eutils.ncbi.nlm.nih.gov/entrez/eutils/``
CT.gov API base URL    ``KETAMINE_EVIDENCE_CTGOV_URL``   ``https://clinicaltrials.gov/api/v2``
timeout (s)            ``KETAMINE_EVIDENCE_TIMEOUT``     60
retries                ``KETAMINE_EVIDENCE_RETRIES``     4 (5 attempts in all)
rate limit (req/s)     ``KETAMINE_EVIDENCE_RATE_LIMIT``  each service's policy: PubMed 3/s (10/s
                                                         with an API key), ClinicalTrials.gov 1/s
=====================  ===============================  =========================================

A rate limit above a service's policy is honoured (a local server has no policy), so it must
only be raised against a mirror or a replay server. Pure: reads a mapping, not ``os.environ``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from .. import KetamineEvidenceError
from ._http import RetryPolicy, Throttle
from .ctgov import CTGOV_BASE as CTGOV_DEFAULT
from .pubmed import EUTILS_BASE as EUTILS_DEFAULT

TIMEOUT_DEFAULT = 60.0
RETRIES_DEFAULT = RetryPolicy().max_attempts - 1

#: setting name -> environment variable.
ENV = {
    "eutils_url": "KETAMINE_EVIDENCE_EUTILS_URL",
    "ctgov_url": "KETAMINE_EVIDENCE_CTGOV_URL",
    "timeout": "KETAMINE_EVIDENCE_TIMEOUT",
    "retries": "KETAMINE_EVIDENCE_RETRIES",
    "rate_limit": "KETAMINE_EVIDENCE_RATE_LIMIT",
}


class SettingsError(KetamineEvidenceError, ValueError):
    """A retrieval setting (option or environment variable) is not usable."""


@dataclass(frozen=True)
class RetrievalSettings:
    """Resolved retrieval settings; see the module docstring for sources and defaults.

    Attributes
    ----------
    eutils_url, ctgov_url : str
        Base URLs (``http`` or ``https``).
    timeout : float
        Seconds to wait for each answer.
    retries : int
        Further attempts after a transient failure (0 = try once).
    rate_limit : float or None
        Requests per second per service; ``None`` = the service's own policy.
    """

    eutils_url: str = EUTILS_DEFAULT
    ctgov_url: str = CTGOV_DEFAULT
    timeout: float = TIMEOUT_DEFAULT
    retries: int = RETRIES_DEFAULT
    rate_limit: float | None = None

    def policy(self) -> RetryPolicy:
        """The retry policy: ``retries + 1`` attempts with the default backoff."""
        return RetryPolicy(max_attempts=self.retries + 1)

    def throttle(self) -> Throttle | None:
        """A throttle at ``rate_limit`` requests/s, or ``None`` for the service's default."""
        return None if self.rate_limit is None else Throttle(1.0 / self.rate_limit)


def _where(name: str, from_option: bool) -> str:
    return f"--{name.replace('_', '-')}" if from_option else ENV[name]


def _url(value: str, where: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError(f"{where}: {value!r} is not an http(s) URL")
    return value


def _number(value, where: str, *, integer: bool, minimum: float, strict: bool) -> float | int:
    try:
        number = int(value) if integer else float(value)
    except (TypeError, ValueError):
        kind = "a whole number" if integer else "a number"
        raise SettingsError(f"{where}: {value!r} is not {kind}") from None
    if not math.isfinite(number) or number < minimum or (strict and number == minimum):
        bound = f"> {minimum:g}" if strict else f">= {minimum:g}"
        raise SettingsError(f"{where}: {value!r} must be {bound}")
    return number


def resolve_settings(options: Mapping[str, object], environ: Mapping[str, str]) -> RetrievalSettings:
    """Combine command-line options and environment variables into :class:`RetrievalSettings`.

    Parameters
    ----------
    options : mapping
        ``eutils_url``, ``ctgov_url``, ``timeout``, ``retries``, ``rate_limit``; a value of
        ``None`` (option not given) falls through to the environment.
    environ : mapping
        Usually ``os.environ``; empty values count as unset.

    Raises
    ------
    SettingsError
        Naming the option or variable whose value is unusable.
    """
    raw: dict[str, tuple[object, bool]] = {}
    for name, variable in ENV.items():
        if options.get(name) is not None:
            raw[name] = (options[name], True)
        elif environ.get(variable, "").strip():
            raw[name] = (environ[variable].strip(), False)
    values: dict[str, object] = {}
    for name in ("eutils_url", "ctgov_url"):
        if name in raw:
            value, opt = raw[name]
            values[name] = _url(str(value), _where(name, opt))
    if "timeout" in raw:
        value, opt = raw["timeout"]
        values["timeout"] = _number(value, _where("timeout", opt), integer=False, minimum=0,
                                    strict=True)
    if "retries" in raw:
        value, opt = raw["retries"]
        values["retries"] = _number(value, _where("retries", opt), integer=True, minimum=0,
                                    strict=False)
    if "rate_limit" in raw:
        value, opt = raw["rate_limit"]
        values["rate_limit"] = _number(value, _where("rate_limit", opt), integer=False,
                                       minimum=0, strict=True)
    return RetrievalSettings(**values)
