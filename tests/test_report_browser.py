"""Render the report in headless Chromium (Debian's package), as a reviewer would open it."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from test_report import _full_inputs  # tests/ is on sys.path (pytest's rootdir import mode)

from ketamine_evidence import report

pytestmark = pytest.mark.chromium

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars",
]


def _chromium() -> str:
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"),
                      shutil.which("chromium-browser")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    pytest.skip("headless chromium is not installed (apt-get install chromium)")


def _run(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    cmd = [_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False,
                          cwd=tmp_path)


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("report") / "report.html"
    return report.write_report(_full_inputs(), path)


def test_dom_has_summary_table(page: Path, tmp_path: Path):
    result = _run(["--dump-dom", page.as_uri()], tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    assert 'id="summary-table"' in dom
    assert "Summary of findings" in dom
    assert "Contradicted" in dom and "Supported" in dom


def test_screenshot_is_a_nonempty_png(page: Path, tmp_path: Path):
    shot = tmp_path / "report.png"
    result = _run([f"--screenshot={shot}", "--window-size=1400,1800", page.as_uri()], tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(data) > 10_000  # a blank page is a few kB


def test_wide_tables_wrap_instead_of_scrolling(tmp_path: Path):
    """At a laptop width, no table needs a horizontal scroll bar: long URLs and derivations
    wrap inside their cells (a reviewer never has to scroll sideways to read a source)."""
    import json as _json

    import pandas as pd

    inputs = _full_inputs()
    long_url = ("https://psychiatryonline.org/doi/abs/10.1176/appi.focus.23021014"
                "?with=a&very=long&query=string&that=keeps&going=on&and=on")
    effects = inputs.study_effects.copy()
    effects["source_id"] = long_url
    effects["location"] = ("abstract (results), read on a PubMed mirror "
                           "(https://suppr.wilddata.cn/browses/detail/pubmed/24740528/and/more)")
    effects["derivation"] = ("generic inverse variance from reported 95% CI of the MD: "
                             "yi = estimate; SE = (upper - lower)/(2*z_0.975) from 95% CI; "
                             "vi = SE^2; paired contrast (no r assumed)")
    not_poolable = pd.concat([inputs.not_poolable] * 3).assign(source=long_url)
    page = report.write_report(
        report.ReportInputs(**{**inputs.__dict__, "study_effects": effects,
                               "not_poolable": not_poolable}),
        tmp_path / "wide.html")
    probe = (
        "<script>window.addEventListener('load', () => {"
        "const bad = [...document.querySelectorAll('.scroll')]"
        ".filter(d => d.scrollWidth > d.clientWidth + 1)"
        ".map(d => (d.previousElementSibling || d).textContent.slice(0, 60));"
        "document.body.setAttribute('data-overflow', JSON.stringify(bad));});</script>")
    page.write_text(page.read_text(encoding="utf-8").replace("</body>", probe + "</body>"),
                    encoding="utf-8")
    result = _run(["--window-size=1280,2000", "--virtual-time-budget=5000", "--dump-dom",
                   page.as_uri()], tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    marker = result.stdout.split('data-overflow="')[1].split('"')[0]
    assert _json.loads(marker.replace("&quot;", '"')) == []
