"""The workflow re-runs what a changed source affects, and recovers after an interruption.

Runs the synthetic review of ``tests/e2e/`` once, then works on copies of that finished run:
edited and deleted curated sheets (dry runs), and a run interrupted (Ctrl-C, or killed)
while a step is writing its outputs, followed by ``make review``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_workflow_e2e import ROOT, _explain, _snakemake, _stage

pytestmark = pytest.mark.slow

# Imported by every Python process started with this folder on PYTHONPATH: the `figures`
# step writes part of its output folder, announces that, and waits, so the test can
# interrupt it mid-step.
HOOK = '''
import os, sys, time
argv = getattr(sys, "orig_argv", [])
if "ketamine_evidence.cli" in argv and "figures" in argv:
    out = argv[argv.index("--outdir") + 1]
    os.makedirs(out, exist_ok=True)  # the step has begun writing its figures folder
    open(os.path.join(out, "forest_partial.png"), "wb").close()
    open(os.environ["KE_TEST_STARTED"], "w").close()
    time.sleep(600)
'''


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    workdir = _stage(tmp_path_factory.mktemp("rerun"))
    proc = _snakemake(workdir, "--cores", "2")
    assert proc.returncode == 0, _explain(proc, workdir)
    return workdir


@pytest.fixture
def copy(finished, tmp_path) -> Path:
    """A copy of the finished run, time stamps and Snakemake's metadata included."""
    dest = tmp_path / "run"
    shutil.copytree(finished, dest, symlinks=True)
    return dest


def _planned(proc: subprocess.CompletedProcess) -> str:
    return proc.stdout + proc.stderr


def test_finished_run_has_nothing_to_do(copy):
    proc = _snakemake(copy, "-n", "--cores", "2")
    assert proc.returncode == 0 and "Nothing to be done" in _planned(proc), _planned(proc)


def test_edited_sheet_with_an_old_time_stamp_reruns_its_steps(copy):
    sheet = copy / "curated" / "extraction.csv"
    stat = sheet.stat()
    text = sheet.read_text(encoding="utf-8")
    sheet.write_text(text.replace("25.0,10.0", "24.0,10.0", 1), encoding="utf-8")
    assert sheet.read_text(encoding="utf-8") != text
    os.utime(sheet, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # as `cp -p` or `rsync -a` do
    proc = _snakemake(copy, "-n", "--cores", "2")
    out = _planned(proc)
    assert proc.returncode == 0, out
    assert "Nothing to be done" not in out
    for rule in ("effects", "analyze", "claims", "report"):
        assert f"rule {rule}:" in out, (rule, out)


def test_deleted_sheet_is_a_missing_input_error(copy):
    (copy / "curated" / "extraction.csv").unlink()
    proc = _snakemake(copy, "-n", "--cores", "2")
    out = _planned(proc)
    assert proc.returncode != 0, out
    assert "Missing input files" in out and "curated/extraction.csv" in out, out


def test_interrupted_run_recovers_with_the_one_command(copy, tmp_path):
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(HOOK, encoding="utf-8")
    started = tmp_path / "figures-started"
    shutil.rmtree(copy / "results" / "figures")  # the figures step must run again ...
    (copy / "results" / "report.html").unlink()  # ... for a report that is needed
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=str(hook),
               KE_TEST_STARTED=str(started))
    proc = subprocess.Popen([sys.executable, "-m", "snakemake", "--cores", "1"], cwd=copy,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 300  # a guard against hanging, not a timing check
        while not started.exists():
            assert proc.poll() is None, proc.communicate()[0]
            assert time.monotonic() < deadline, "the figures step never started"
            time.sleep(0.2)
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C goes to the whole foreground group
        interrupted = proc.communicate(timeout=120)[0]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode != 0, interrupted
    # the half-written figures folder is marked incomplete: plain snakemake refuses to go on
    stuck = _snakemake(copy, "-n", "--cores", "2")
    assert stuck.returncode != 0 and "ncomplete" in _planned(stuck), _planned(stuck)
    # `make review` recovers (its snakemake call re-runs incomplete jobs)
    shutil.copy2(ROOT / "Makefile", copy / "Makefile")
    again = subprocess.run(
        ["make", "-o", "setup", "review", f"BIN={Path(sys.executable).parent}"], cwd=copy,
        env=dict(os.environ, MPLBACKEND="Agg"), capture_output=True, text=True, timeout=600,
        check=False)
    assert again.returncode == 0, _explain(again, copy)
    done = _snakemake(copy, "-n", "--cores", "2")
    assert "Nothing to be done" in _planned(done), _planned(done)


def test_failed_run_marks_the_build_stamp_stale(copy):
    stamp = copy / "results" / "build_stamp.json"
    assert json.loads(stamp.read_text())["status"] == "complete"
    sheet = copy / "curated" / "extraction.csv"
    sheet.write_text(sheet.read_text(encoding="utf-8").replace("25.0,10.0", "25.0,-10.0", 1),
                     encoding="utf-8")  # a negative SD: the effects step fails
    proc = _snakemake(copy, "--cores", "2")
    assert proc.returncode != 0, _planned(proc)
    data = json.loads(stamp.read_text())
    assert data["status"] == "stale" and "failed" in data["stale_note"]
    assert (copy / "results" / "report.html").is_file()  # the old report stays, but ...

