"""Benchmark: pooling 10,000 simulated meta-analyses (k = 10, REML + knha + PI).

Run:  .venv/bin/python benchmarks/bench_meta.py [--n 10000] [--k 10] [--seed 20240611]

Times
  * ``rma_many`` (vectorised across meta-analyses),
  * ``rma`` in a Python loop,
  * statsmodels ``combine_effects`` in a loop (it has no REML: its closest, the iterated
    Paule-Mandel ``method_re="iterated"``, with HKSJ scaling via ``use_t``),
  * metafor's ``rma(..., method="REML", test="knha")`` + ``predict()`` in an R loop, where
    ``Rscript`` is available, on the same data, with metafor's DEFAULT control settings;
    its failures (errors, i.e. Fisher scoring not converging) are counted.
Not a test: prints a table.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from ketamine_evidence.meta import rma, rma_many

R_SCRIPT = r"""
suppressPackageStartupMessages(library(metafor))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
k <- as.integer(args[2])
n <- nrow(d) / k
t0 <- proc.time()[["elapsed"]]
fail <- 0L
est <- rep(NA_real_, n); tau2 <- rep(NA_real_, n)
for (i in seq_len(n)) {
  rows <- ((i - 1) * k + 1):(i * k)
  res <- tryCatch(rma(d$yi[rows], d$vi[rows], method = "REML", test = "knha"),
                  error = function(e) NULL)
  if (is.null(res)) { fail <- fail + 1L; next }
  pr <- predict(res)
  est[i] <- res$beta[1]; tau2[i] <- res$tau2
}
el <- proc.time()[["elapsed"]] - t0
write.csv(data.frame(est = est, tau2 = tau2), args[3], row.names = FALSE)
cat(sprintf("%.6f %d\n", el, fail))
"""


def simulate(n, k, seed):
    rng = np.random.default_rng(seed)
    v = rng.uniform(0.005, 0.5, size=(n, k))
    tau2 = rng.choice([0.0, 0.02, 0.1, 0.5], size=(n, 1))
    y = 0.3 + rng.normal(0.0, 1.0, size=(n, k)) * np.sqrt(tau2) + rng.normal(0.0, np.sqrt(v))
    return y, v


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--seed", type=int, default=20240611)
    ap.add_argument("--loop-n", type=int, default=None,
                    help="meta-analyses for the slow loops (default: all)")
    a = ap.parse_args(argv)
    y, v = simulate(a.n, a.k, a.seed)
    loop_n = a.loop_n or a.n
    rows = []

    t0 = time.perf_counter()
    many = rma_many(y, v, method="REML", test="knha")
    t_many = time.perf_counter() - t0
    rows.append(("ketamine_evidence rma_many (vectorised)", a.n, t_many,
                 int((~many.converged).sum())))

    t0 = time.perf_counter()
    loop = [rma(y[i], v[i], method="REML", test="knha") for i in range(loop_n)]
    t_loop = (time.perf_counter() - t0) * a.n / loop_n
    rows.append(("ketamine_evidence rma loop", loop_n, t_loop,
                 sum(not r.converged for r in loop)))
    est_loop = np.array([r.estimate for r in loop])
    maxdiff = float(np.max(np.abs(est_loop - many.estimate[:loop_n])))

    try:
        from statsmodels.stats.meta_analysis import combine_effects

        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for i in range(loop_n):
                combine_effects(y[i], v[i], method_re="iterated", use_t=True)
        t_sm = (time.perf_counter() - t0) * a.n / loop_n
        rows.append(("statsmodels combine_effects loop (iterated PM; no REML)", loop_n,
                     t_sm, None))
    except ImportError:  # pragma: no cover
        pass

    r_note = "Rscript not found: metafor loop skipped"
    r_diff = None
    if shutil.which("Rscript"):
        with tempfile.TemporaryDirectory() as td:
            td = Path(td)
            csv = td / "sim.csv"
            with csv.open("w") as fh:
                fh.write("yi,vi\n")
                for yy, vv in zip(y.ravel(), v.ravel(), strict=True):
                    fh.write(f"{float(yy)!r},{float(vv)!r}\n")
            (td / "bench.R").write_text(R_SCRIPT)
            out = subprocess.run(
                ["Rscript", str(td / "bench.R"), str(csv), str(a.k), str(td / "out.csv")],
                capture_output=True, text=True, check=False,
            )
            if out.returncode == 0:
                el, fail = out.stdout.split()[-2:]
                rows.append(("metafor rma + predict loop (default control)", a.n, float(el),
                             int(fail)))
                import pandas as pd

                r = pd.read_csv(td / "out.csv")
                ok = np.isfinite(r["tau2"].to_numpy(dtype=float))
                r_diff = float(np.max(np.abs(r["tau2"].to_numpy(dtype=float)[ok]
                                             - many.tau2[ok]))) if ok.any() else None
                r_note = ""
            else:
                r_note = "metafor loop failed: " + out.stderr[-300:]

    base = rows[0][2]
    print(f"{a.n} simulated meta-analyses, k = {a.k}, REML + Knapp-Hartung + PI "
          f"(seed {a.seed})\n")
    print(f"{'implementation':<58} {'fits':>6} {'seconds':>9} {'per fit (ms)':>13} "
          f"{'vs rma_many':>12} {'failures':>9}")
    for name, n_fit, sec, fails in rows:
        print(f"{name:<58} {n_fit:>6} {sec:>9.3f} {1000 * sec / a.n:>13.4f} "
              f"{sec / base:>11.1f}x {('-' if fails is None else fails):>9}")
    print(f"\nmax |rma_many - rma loop| estimate: {maxdiff:.2e}")
    if r_diff is not None:
        print(f"max |rma_many - metafor| tau2 (metafor default tolerances): {r_diff:.2e}")
    if r_note:
        print(r_note)
    print("times for loops run on fewer fits are scaled to the full n")


if __name__ == "__main__":
    main()
