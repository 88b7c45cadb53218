"""Benchmark: Bayesian random-effects meta-analysis of 10,000 simulated data sets (k = 5).

Run:  .venv/bin/python benchmarks/bench_bayes.py [--n 10000] [--k 5] [--r-n 50]

Times, on the same simulated data (half-normal(0.5) prior on tau, uniform prior on mu),
  * ``bayes_many`` on all n meta-analyses (vectorised),
  * ``bayes`` in a Python loop on the first ``--loop-n`` of them,
  * R's ``bayesmeta()`` (Roever 2020) in an R loop on the first ``--r-n`` of them, with its
    default accuracy (``delta = 0.01``, ``epsilon = 1e-4``), followed by the same summaries
    (``qposterior`` for the central intervals of mu, tau and the prediction), where
    ``Rscript`` and the bayesmeta package are available (set ``R_LIBS`` to where it is
    installed; this script does not install it).
Per-fit times are CPU seconds of the process (wall clock is printed too: on a shared
machine it is inflated for both). Not a test: prints a table.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from ketamine_evidence.meta import bayes, bayes_many

R_SCRIPT = r"""
suppressPackageStartupMessages(library(bayesmeta))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
k <- as.integer(args[2])
n <- nrow(d) / k
out <- matrix(NA_real_, n, 5)
t0 <- proc.time()
for (i in seq_len(n)) {
  rows <- ((i - 1) * k + 1):(i * k)
  bm <- bayesmeta(d$yi[rows], sqrt(d$vi[rows]),
                  tau.prior = function(t) dhalfnormal(t, scale = 0.5))
  out[i, 1:3] <- bm$qposterior(mu.p = c(0.025, 0.5, 0.975))
  out[i, 4:5] <- bm$qposterior(theta.p = c(0.025, 0.975), predict = TRUE)
  tq <- bm$qposterior(tau.p = c(0.025, 0.5, 0.975))
}
el <- proc.time() - t0
colnames(out) <- c("mu_ci_low", "mu_median", "mu_ci_high", "pred_ci_low", "pred_ci_high")
write.csv(out, args[3], row.names = FALSE)
cat(sprintf("%.6f %.6f\n", el[["user.self"]] + el[["sys.self"]], el[["elapsed"]]))
"""


def simulate(n, k, seed):
    rng = np.random.default_rng(seed)
    v = rng.uniform(0.01, 0.2, size=(n, k))
    tau = rng.choice([0.0, 0.1, 0.3, 0.6], size=(n, 1))
    y = -0.3 + rng.normal(0.0, 1.0, size=(n, k)) * tau + rng.normal(0.0, np.sqrt(v))
    return y, v


def timed(fn):
    c0, w0 = time.process_time(), time.perf_counter()
    out = fn()
    return out, time.process_time() - c0, time.perf_counter() - w0


def run_r(y, v):
    if shutil.which("Rscript") is None:
        return None
    check = subprocess.run(["Rscript", "-e", "library(bayesmeta)"], capture_output=True)
    if check.returncode != 0:
        return None
    n, k = y.shape
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "bench.R").write_text(R_SCRIPT)
        rows = ["yi,vi"] + [f"{a:.17g},{b:.17g}" for a, b in zip(y.ravel(), v.ravel(), strict=True)]
        (tmp / "data.csv").write_text("\n".join(rows) + "\n")
        res = subprocess.run(
            ["Rscript", str(tmp / "bench.R"), str(tmp / "data.csv"), str(k), str(tmp / "o.csv")],
            capture_output=True,
            text=True,
        )
        if res.returncode != 0:
            raise RuntimeError(f"bayesmeta loop failed:\n{res.stderr}")
        cpu, wall = (float(x) for x in res.stdout.split()[-2:])
        out = np.genfromtxt(tmp / "o.csv", delimiter=",", names=True)
    return cpu, wall, out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--loop-n", type=int, default=500)
    ap.add_argument("--r-n", type=int, default=50)
    ap.add_argument("--seed", type=int, default=20261130)
    args = ap.parse_args(argv)
    y, v = simulate(args.n, args.k, args.seed)

    many, cpu_many, wall_many = timed(lambda: bayes_many(y, v, "halfnormal", 0.5))
    m = min(args.loop_n, args.n)
    loop, cpu_loop, wall_loop = timed(lambda: [bayes(y[i], v[i]) for i in range(m)])
    same = max(abs(loop[i].mu_median - many.mu_median[i]) for i in range(m))

    rows = [
        ("`bayes_many` (vectorised)", args.n, cpu_many, wall_many),
        (f"`bayes` in a Python loop (first {m})", m, cpu_loop, wall_loop),
    ]
    r = run_r(y[: args.r_n], v[: args.r_n])
    if r is not None:
        cpu_r, wall_r, out = r
        rows.append((f"bayesmeta loop, defaults (first {args.r_n})", args.r_n, cpu_r, wall_r))
        diffs = {
            name: np.max(np.abs(out[name] - getattr(many, name)[: args.r_n]))
            for name in out.dtype.names
        }
    base = cpu_many / args.n
    print(f"{args.n} meta-analyses of k = {args.k}; half-normal(0.5) on tau, uniform on mu\n")
    print("| implementation | fits | CPU s | wall s | CPU ms per fit | relative |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, n, cpu, wall in rows:
        print(
            f"| {name} | {n} | {cpu:.2f} | {wall:.2f} | {1e3 * cpu / n:.4f} "
            f"| {cpu / n / base:.0f}x |"
        )
    print(f"\nbayes_many vs bayes loop: max |mu_median difference| = {same:.1e}")
    if r is None:
        print("bayesmeta not available (Rscript or the package missing): R row skipped")
    else:
        print(
            "bayes_many vs bayesmeta (its default delta = 0.01): max |difference| "
            + ", ".join(f"{k} {d:.1e}" for k, d in diffs.items())
        )


if __name__ == "__main__":
    main()
