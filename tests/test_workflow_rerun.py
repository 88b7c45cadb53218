"""The workflow re-runs what a changed source affects, and recovers after an interruption.

Runs the synthetic review of ``tests/e2e/`` once, then works on copies of that finished run:
edited and deleted curated sheets (dry runs), and a run interrupted with Ctrl-C while a
step is writing its outputs, followed by ``make review``.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from test_workflow_e2e import ROOT, _explain, _snakemake, _stage

pytestmark = pytest.mark.slow

# Imported by every Python process started with this folder on PYTHONPATH: the `figures`
# step writes part of its output folder, then tells the test so by connecting to its socket
# and stays in the step until the test hangs up. Nothing depends on time or on which process
# a signal reaches first: the test waits for the connection and presses Ctrl-C; the step
# ignores the signal, so snakemake always handles it while the step is still running (under
# load the order used to vary), and the step ends, with status 130 as after Ctrl-C, when the
# test hangs up.
HOOK = """
import os, signal, socket, sys
argv = getattr(sys, "orig_argv", [])
if "ketamine_evidence.cli" in argv and "figures" in argv:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the hang-up, not the signal, ends it
    out = argv[argv.index("--outdir") + 1]
    os.makedirs(out, exist_ok=True)  # the step has begun writing its figures folder
    open(os.path.join(out, "forest_partial.png"), "wb").close()
    test = socket.create_connection(("127.0.0.1", int(os.environ["KE_TEST_PORT"])))
    try:
        test.recv(1)  # returns when the test hangs up
    finally:
        os._exit(130)
"""


def _wait_for_the_step(proc: subprocess.Popen, listener: socket.socket):
    """The hooked step's connection, or ``None`` when snakemake ended without starting it;
    and snakemake's output so far.

    Event-driven, no clock: ``select`` wakes on the step's connection or on snakemake's
    output, which is drained as it comes (a full pipe would stall snakemake).
    """
    out = bytearray()
    stdout = proc.stdout.fileno()
    while True:
        ready, _, _ = select.select([listener, stdout], [], [])
        if listener in ready:
            return listener.accept()[0], out.decode(errors="replace")
        chunk = os.read(stdout, 65536)
        if not chunk:  # end of output: snakemake has exited
            proc.wait()
            return None, out.decode(errors="replace")
        out += chunk


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
    shutil.rmtree(copy / "results" / "figures")  # the figures step must run again ...
    (copy / "results" / "report.html").unlink()  # ... for a report that is needed
    with socket.create_server(("127.0.0.1", 0)) as listener:
        env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=str(hook),
                   KE_TEST_PORT=str(listener.getsockname()[1]))
        proc = subprocess.Popen([sys.executable, "-m", "snakemake", "--cores", "1"],
                                cwd=copy, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)
        step = None
        try:
            step, before = _wait_for_the_step(proc, listener)
            assert step is not None, f"snakemake ended before the figures step began:\n{before}"
            os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C goes to the whole foreground group
            step.close()  # now the step ends
            interrupted = before + proc.communicate()[0].decode(errors="replace")
        finally:
            if step is not None:
                step.close()
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    assert proc.returncode != 0, interrupted
    # the half-written figures folder is never taken for a finished one: snakemake either
    # removed it or marked it incomplete (then plain snakemake refuses to go on)
    stuck = _planned(_snakemake(copy, "-n", "--cores", "2"))
    assert "Nothing to be done" not in stuck, stuck
    assert "ncomplete" in stuck or "Missing output files: results/figures" in stuck, stuck
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

