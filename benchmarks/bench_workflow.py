"""Time the whole review from a clean clone: a cold run and a no-op re-run.

    .venv/bin/python benchmarks/bench_workflow.py               # 3 repeats, 2 cores
    .venv/bin/python benchmarks/bench_workflow.py --repeats 1   # quicker

Each repeat clones the repository's committed HEAD into a fresh temporary folder (so nothing
left over from earlier runs, no ``.snakemake`` metadata, no outputs), then runs, with the
interpreter running this script (the project's ``.venv``):

1. ``snakemake --cores N``: the cold end-to-end run (records -> ... -> report);
2. ``snakemake --cores N`` again: the no-op re-run, which must report "Nothing to be done".

``PYTHONPATH`` points at the clone's ``src/`` so the clone's package is run, not the editable
install of the working tree. Prints a table of medians and writes every timing to
``benchmarks/out/bench_workflow-<UTC time>.json`` (git-ignored). Not a timed test.
Targets: cold < 60 s and no-op < 5 s on 2 cores.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out"
TARGETS = {"cold": 60.0, "noop": 5.0}


def _git(*args: str, cwd: Path = ROOT) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout.strip()


def _timed(cmd: list[str], cwd: Path, env: dict) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    return time.perf_counter() - start, proc


def one_repeat(repo: Path, cores: int, keep: bool) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="ke-bench-"))
    clone = tmp / "ketamine-evidence"
    try:
        _git("clone", "--quiet", "--no-hardlinks", str(repo), str(clone), cwd=tmp)
        env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=str(clone / "src"))
        cmd = [sys.executable, "-m", "snakemake", "--cores", str(cores)]
        cold, proc = _timed(cmd, clone, env)
        if proc.returncode != 0:
            raise RuntimeError(f"cold run failed in {clone}:\n{proc.stderr[-4000:]}")
        jobs = proc.stderr.count("Finished jobid")
        noop, proc = _timed(cmd, clone, env)
        if proc.returncode != 0 or "Nothing to be done" not in proc.stdout + proc.stderr:
            raise RuntimeError(f"re-run did something or failed in {clone}:\n"
                               f"{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
        return {"cold_s": cold, "noop_s": noop, "jobs": jobs,
                "folder": str(clone) if keep else None}
    finally:
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--repo", type=Path, default=ROOT, help="repository to clone (HEAD)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary clones")
    args = parser.parse_args(argv)

    commit = _git("rev-parse", "--short", "HEAD", cwd=args.repo)
    runs = []
    for i in range(args.repeats):
        run = one_repeat(args.repo, args.cores, args.keep)
        runs.append(run)
        print(f"repeat {i + 1}/{args.repeats}: cold {run['cold_s']:.1f} s "
              f"({run['jobs']} jobs), no-op {run['noop_s']:.2f} s", flush=True)
    median = {k: statistics.median(r[f"{k}_s"] for r in runs) for k in TARGETS}
    result = {
        "benchmark": "bench_workflow",
        "when_utc": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "commit": commit,
        "cores": args.cores,
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "snakemake": metadata.version("snakemake"),
        "machine": platform.platform(),
        "runs": runs,
        "median_s": median,
        "targets_s": TARGETS,
        "meets_targets": {k: median[k] < TARGETS[k] for k in TARGETS},
    }
    print(f"\nworkflow from a clean clone of {commit}, {args.cores} cores, "
          f"{args.repeats} repeats (os.cpu_count() = {os.cpu_count()})\n")
    print("| run | median s | min s | max s | target s | meets |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    for key, label in (("cold", "cold `snakemake --cores 2`"), ("noop", "no-op re-run")):
        values = [r[f"{key}_s"] for r in runs]
        print(f"| {label} | {median[key]:.2f} | {min(values):.2f} | {max(values):.2f} | "
              f"< {TARGETS[key]:g} | {'yes' if median[key] < TARGETS[key] else 'NO'} |")
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"bench_workflow-{result['when_utc'].replace(':', '')}.json"
    path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
