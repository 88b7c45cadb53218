# Reference values for the statistical edge cases of ketamine_evidence.meta (issue 9),
# computed with metafor.
#
# Usage (from the repository root):
#   Rscript tests/r/edge_reference.R tests/results/edge_reference.json
#
# Needs R with metafor and jsonlite (Debian: r-cran-metafor, r-cran-jsonlite). The test
# suite (tests/test_meta_edge_cases.py) only reads the JSON this writes; it never needs R.
# Where metafor stops with an error, the error message is recorded instead of numbers.

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = TRUE)
out_path <- if (length(args) >= 1) args[1] else "tests/results/edge_reference.json"

CTRL <- list(threshold = 1e-12, tol = 1e-12, maxiter = 1000, tau2.max = 1e7)
num <- function(x) if (is.null(x) || length(x) == 0) NA_real_ else as.numeric(x)
# jsonlite writes NA and NaN alike as null; keep NaN apart as the string "NaN"
nanstr <- function(x) if (is.nan(x)) "NaN" else x
err_of <- function(expr) tryCatch({ suppressWarnings(expr); NA_character_ },
  error = function(e) conditionMessage(e))

# 1. se(tau2) for REML when one sampling variance is far smaller than the others
se_tau2 <- list()
for (case in list(list(name = "dominant_1", yi = c(0, 1, -1), vi = c(1e-8, 1, 1)),
                  list(name = "dominant_100", yi = c(0, 1, -1), vi = c(1e-8, 100, 100)),
                  list(name = "dominant_four", yi = c(0.2, 1, -1, 0.5),
                       vi = c(1e-9, 0.5, 2, 1)))) {
  for (method in c("REML", "ML")) {
    res <- suppressWarnings(rma(case$yi, case$vi, method = method, control = CTRL))
    se_tau2[[length(se_tau2) + 1]] <- list(name = case$name, method = method,
      yi = case$yi, vi = case$vi, tau2 = num(res$tau2), se_tau2 = num(res$se.tau2),
      estimate = num(res$beta[1]), se = num(res$se[1]))
  }
}

# 2. test = "knha" when every effect is identical: s2w = 0, so se = 0 and QM is NA
yi_same <- c(0.5, 0.5, 0.5, 0.5)
vi_same <- c(0.1, 0.2, 0.3, 0.4)
fit0 <- rma(yi_same, vi_same, method = "REML", test = "knha", control = CTRL)
rt <- regtest(fit0)
mr <- rma(yi_same, vi_same, mods = ~ c(1, 2, 3, 4), method = "REML", test = "knha",
  control = CTRL)
grp <- factor(c("a", "a", "b", "b"))
sg <- rma(yi_same, vi_same, mods = ~ grp, method = "REML", test = "knha", control = CTRL)
knha_identical <- list(yi = yi_same, vi = vi_same, moderator = c(1, 2, 3, 4),
  groups = as.character(grp),
  rma = list(estimate = num(fit0$beta), se = num(fit0$se), qm = num(fit0$QM)),
  regtest = list(est = num(rt$est), ci_low = num(rt$ci.lb), ci_high = num(rt$ci.ub),
    df = num(rt$dfs), se = num(rt$fit$se)),
  metareg = list(beta = as.numeric(mr$beta), se = as.numeric(mr$se), qm = num(mr$QM),
    qm_pvalue = num(mr$QMp)),
  subgroup_common = list(beta = as.numeric(sg$beta), se = as.numeric(sg$se),
    qm = num(sg$QM), qm_pvalue = num(sg$QMp)))

# 3. trim-and-fill: R0 on identical effects stops; se(k0) is NaN where var(S_r) < 0
tf_r0_error <- err_of(trimfill(rma(yi_same, vi_same, method = "REML", control = CTRL),
  estimator = "R0"))
y3 <- c(0.32, 0.04, -0.39)
v3 <- c(0.07, 0.49, 0.39)
tf_l0 <- trimfill(rma(y3, v3, method = "REML", control = CTRL), estimator = "L0",
  side = "left")
trimfill_cases <- list(
  r0_identical = list(yi = yi_same, vi = vi_same, estimator = "R0", error = tf_r0_error),
  l0_negative_variance = list(yi = y3, vi = v3, estimator = "L0", side = "left",
    k0 = num(tf_l0$k0), se_k0 = nanstr(num(tf_l0$se.k0)), estimate = num(tf_l0$beta)))

# 4. extreme inputs: metafor refuses them
extreme <- list(
  huge_yi = list(yi = c(1e200, 0, 1), vi = c(1, 1, 1),
    error = err_of(rma(c(1e200, 0, 1), c(1, 1, 1), control = CTRL))),
  tiny_vi = list(yi = c(1, 0, 1), vi = c(1e-320, 1, 1),
    error = err_of(rma(c(1, 0, 1), c(1e-320, 1, 1), control = CTRL))))

out <- list(
  meta = list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
    control = CTRL, generated = format(Sys.time(), "%Y-%m-%dT%H:%M:%SZ", tz = "UTC")),
  se_tau2 = se_tau2, knha_identical = knha_identical, trimfill = trimfill_cases,
  extreme = extreme)

writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", pretty = TRUE,
  always_decimal = FALSE), out_path)
cat("wrote", out_path, "\n")
