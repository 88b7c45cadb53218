"""``refresh`` takes base URLs, timeout, retries and rate limit from options or the environment."""

from __future__ import annotations

import pytest

from ketamine_evidence import cli
from ketamine_evidence.sources import pubmed as pubmed_module
from ketamine_evidence.sources.settings import (
    CTGOV_DEFAULT,
    EUTILS_DEFAULT,
    RetrievalSettings,
    SettingsError,
    resolve_settings,
)


def test_defaults_are_the_real_services():
    s = resolve_settings({}, {})
    assert s == RetrievalSettings()
    assert s.eutils_url == "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/"
    assert s.ctgov_url == "https://clinicaltrials.gov/api/v2"
    assert s.throttle() is None  # each service keeps its own policy
    assert s.policy().max_attempts == s.retries + 1


def test_environment_then_option_wins():
    env = {"KETAMINE_EVIDENCE_EUTILS_URL": "http://127.0.0.1:9/eutils/",
           "KETAMINE_EVIDENCE_CTGOV_URL": "http://127.0.0.1:9/api/v2",
           "KETAMINE_EVIDENCE_TIMEOUT": "2.5", "KETAMINE_EVIDENCE_RETRIES": "0",
           "KETAMINE_EVIDENCE_RATE_LIMIT": "50"}
    s = resolve_settings({"eutils_url": None}, env)
    assert (s.eutils_url, s.ctgov_url, s.timeout, s.retries, s.rate_limit) == (
        "http://127.0.0.1:9/eutils/", "http://127.0.0.1:9/api/v2", 2.5, 0, 50.0)
    assert s.policy().max_attempts == 1
    assert s.throttle().min_interval == pytest.approx(0.02)
    s = resolve_settings({"ctgov_url": "https://mirror.example/api/v2", "retries": "7"}, env)
    assert s.ctgov_url == "https://mirror.example/api/v2" and s.retries == 7
    assert s.eutils_url == "http://127.0.0.1:9/eutils/"
    # an empty variable counts as unset
    assert resolve_settings({}, {"KETAMINE_EVIDENCE_TIMEOUT": " "}).timeout == 60.0


@pytest.mark.parametrize("options, env, named", [
    ({"timeout": "0"}, {}, "--timeout"),
    ({}, {"KETAMINE_EVIDENCE_TIMEOUT": "nan"}, "KETAMINE_EVIDENCE_TIMEOUT"),
    ({}, {"KETAMINE_EVIDENCE_RETRIES": "1.5"}, "KETAMINE_EVIDENCE_RETRIES"),
    ({"retries": "-1"}, {}, "--retries"),
    ({}, {"KETAMINE_EVIDENCE_RATE_LIMIT": "0"}, "KETAMINE_EVIDENCE_RATE_LIMIT"),
    ({"eutils_url": "ftp://x/"}, {}, "--eutils-url"),
    ({}, {"KETAMINE_EVIDENCE_CTGOV_URL": "clinicaltrials.gov"}, "KETAMINE_EVIDENCE_CTGOV_URL"),
])
def test_unusable_settings_name_their_origin(options, env, named):
    with pytest.raises(SettingsError, match=named):
        resolve_settings(options, env)


def test_help_documents_options_and_variables(capsys):
    with pytest.raises(SystemExit):
        cli.main(["refresh", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    for text in ("--eutils-url", "--ctgov-url", "--timeout", "--retries", "--rate-limit",
                 "KETAMINE_EVIDENCE_EUTILS_URL", "KETAMINE_EVIDENCE_CTGOV_URL",
                 "KETAMINE_EVIDENCE_TIMEOUT", "KETAMINE_EVIDENCE_RETRIES",
                 "KETAMINE_EVIDENCE_RATE_LIMIT", EUTILS_DEFAULT, CTGOV_DEFAULT):
        assert text in out
    assert "None" not in out.split("--eutils-url", 1)[1]


def test_bad_variable_is_a_one_line_error(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("KETAMINE_EVIDENCE_RETRIES", "many")
    assert cli.main(["refresh", "--snapshot-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "KETAMINE_EVIDENCE_RETRIES" in err and "Traceback" not in err
    assert not any(tmp_path.iterdir())


def test_configured_eutils_url_is_the_one_requested(monkeypatch, tmp_path):
    """Bio.Entrez keeps a module-level base URL; the client must not fall back to it."""
    seen = []

    def transport(request, timeout):
        seen.append((request.full_url, timeout))
        raise OSError("stop here")  # not retried: only the URL matters

    monkeypatch.setenv("NCBI_EMAIL", "reviewer@example.org")
    settings = resolve_settings({"eutils_url": "http://127.0.0.1:9/mirror/eutils",
                                 "timeout": "3", "retries": "0"}, {})
    client = pubmed_module.PubMedClient(base_url=settings.eutils_url, transport=transport,
                                        timeout=settings.timeout, policy=settings.policy(),
                                        throttle=settings.throttle())
    with pytest.raises(OSError):
        client.esearch("ketamine", "2020/01/01", "2020/12/31")
    assert seen[0][0].startswith("http://127.0.0.1:9/mirror/eutils/esearch.fcgi?")
    assert seen[0][1] == 3.0
