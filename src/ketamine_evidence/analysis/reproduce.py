"""Verification outputs of the analysis step: the statsmodels cross-check and reproduce.R.

Both re-derive the pooled numbers with software the reader already trusts, so that no number
rests on this package's engine alone:

* :func:`statsmodels_check_table` pools every analysis a second time with statsmodels'
  ``combine_effects`` (DerSimonian-Laird and iterated Paule-Mandel, see
  :func:`ketamine_evidence.meta.statsmodels_crosscheck`) on the rows the analysis pooled,
  and :func:`require_agreement` stops the step, naming the analysis, when the two disagree.
* :func:`reproduce_r_script` writes a plain R script that reads ``study_effects.csv``,
  recomputes the arm-level rows with ``metafor::escalc`` (crossover rows with the Cochrane
  formulas and the correlation used), refits every analysis with ``metafor::rma`` with the
  settings the review used, adds ``confint``, ``regtest``, ``trimfill`` and ``leave1out``
  where the review computed them, and prints them beside ``pooled.csv`` and
  ``sensitivity.csv`` with the differences.

Pure functions: they take the analysis outcomes and return a table or text.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import pandas as pd

from ketamine_evidence import meta
from ketamine_evidence.meta import CrossCheckError

#: The tolerance reproduce.R applies (and reports against): relative for values above 1,
#: absolute below.
R_TOLERANCE = 1e-6

STATSMODELS_CHECK_COLUMNS = ["analysis_id", "method", "k", "level",
                             *[f"{side}_{q}" for q in meta.CROSSCHECK_QUANTITIES
                               for side in ("engine", "statsmodels")],
                             "statsmodels_tau2_unfloored", "statsmodels_atol",
                             "max_rel_diff", "largest_in", "tolerance", "agrees", "note"]


def statsmodels_check_table(outcomes: Sequence) -> pd.DataFrame:
    """One row per analysis and estimator (DL, PM): the engine beside statsmodels.

    ``outcomes`` are :class:`ketamine_evidence.analysis.pooling.AnalysisOutcome` objects; each is
    checked on exactly the rows it pooled (``selected.yi``, ``selected.vi``) at its
    confidence level. An analysis with fewer than two studies pools nothing and gets one row
    saying so.
    """
    rows = []
    for outcome in outcomes:
        k = len(outcome.selected)
        if k < 2:
            rows.append({"analysis_id": outcome.analysis_id, "k": k,
                         "note": "fewer than two studies: nothing pooled, nothing to check"})
            continue
        level = float(getattr(outcome.result, "level", 0.95))
        for check in meta.statsmodels_crosscheck(outcome.selected["yi"].to_numpy(float),
                                                 outcome.selected["vi"].to_numpy(float),
                                                 level=level):
            rows.append({"analysis_id": outcome.analysis_id, **check.to_dict(),
                         "agrees": check.agrees, "note": ""})
    return pd.DataFrame(rows, columns=STATSMODELS_CHECK_COLUMNS)


def require_agreement(table: pd.DataFrame) -> None:
    """Raise :class:`CrossCheckError` naming every analysis where statsmodels disagrees."""
    checked = table[table["max_rel_diff"].notna()]
    bad = checked[checked["max_rel_diff"] > checked["tolerance"]]
    if bad.empty:
        return
    lines = []
    for _, r in bad.iterrows():
        q = r["largest_in"]
        lines.append(
            f"analysis '{r['analysis_id']}' ({r['method']}, k = {r['k']}): {q} differs by "
            f"{r['max_rel_diff']:.3g} relative (engine {r[f'engine_{q}']!r}, statsmodels "
            f"{r[f'statsmodels_{q}']!r}; tolerance {r['tolerance']:.1g})")
    raise CrossCheckError("the pooled results disagree with statsmodels' combine_effects:\n  "
                          + "\n  ".join(lines))


# ------------------------------------------------------------------------------ reproduce.R

_PI_TYPE = {None: "", "k-1": ', pi.type = "t"', "k-2": ', pi.type = "riley"'}
_ARM_ARGS = {
    "SMD": "m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i",
    "MD": "m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i",
    "ROM": "m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i",
    "RR": "ai = ai, n1i = n1i, ci = ci, n2i = n2i",
    "OR": "ai = ai, n1i = n1i, ci = ci, n2i = n2i",
    "RD": "ai = ai, n1i = n1i, ci = ci, n2i = n2i",
}
_POOLED = ["estimate", "se", "pvalue", "ci_low", "ci_high", "pi_low", "pi_high", "tau2", "i2",
           "h2", "q", "q_pvalue"]

_HEADER = """\
# reproduce.R -- every pooled analysis of this review, refitted in R's metafor.
#
# Written by the analysis step of ketamine-evidence (`ketamine-evidence analyze`); do not
# edit: it is rewritten on every run. It reads the rows each analysis pooled from
# study_effects.csv, recomputes arm-level effect sizes with escalc (crossover rows with the
# Cochrane Handbook formulas and the within-person correlation the review assumed), refits
# each analysis with rma() using exactly the review's settings, adds confint(), regtest(),
# trimfill() and leave1out() where the review computed them, and prints every number beside
# the review's own (pooled.csv, sensitivity.csv) with the difference.
#
# Usage:   Rscript reproduce.R [folder holding study_effects.csv and pooled.csv]
#          (default: the folder "results" of the review's working directory)
# Needs:   R with the metafor package (install.packages("metafor"); Debian: r-cran-metafor).
# Result:  a table of R value, review value and difference per analysis and quantity, and
#          the largest difference; the exit status is 1 when it exceeds 1e-6 (differences
#          are relative for values above 1, absolute below).
#
# Convergence: the review solves the tau^2 equations to 1e-12; metafor's default stops at
# 1e-5, so each fit gets a tight `control` (same estimator, same root, more digits).

suppressPackageStartupMessages(library(metafor))

args <- commandArgs(trailingOnly = TRUE)
folder <- if (length(args) >= 1) args[1] else "results"
effects <- read.csv(file.path(folder, "study_effects.csv"), stringsAsFactors = FALSE)
pooled <- read.csv(file.path(folder, "pooled.csv"), stringsAsFactors = FALSE)
sens_path <- file.path(folder, "sensitivity.csv")
sensitivity <- if (file.exists(sens_path)) read.csv(sens_path, stringsAsFactors = FALSE) else NULL
ctrl <- list(threshold = 1e-12, tol = 1e-12, maxiter = 1000, tau2.max = 1e7)
tolerance <- 1e-6

comparison <- data.frame()
compare <- function(analysis, quantity, r_value, review_value) {
  r_value <- as.numeric(r_value)
  review_value <- as.numeric(review_value)
  diff <- ifelse(is.na(r_value) & is.na(review_value), 0,
                 abs(r_value - review_value) / pmax(abs(review_value), 1))
  comparison <<- rbind(comparison, data.frame(analysis = analysis, quantity = quantity,
    R = r_value, review = review_value, difference = diff, stringsAsFactors = FALSE))
}
review <- function(analysis, column) pooled[pooled$analysis_id == analysis, column]
"""

_FOOTER = """
# ---------------------------------------------------------------------------- summary
options(width = 200)
cat("\\nmetafor", as.character(packageVersion("metafor")), "versus the review",
    "(difference: relative for values above 1, absolute below)\\n\\n")
print(format(comparison, digits = 10), row.names = FALSE)
worst <- which.max(comparison$difference)
largest <- if (length(worst)) comparison$difference[worst] else 0
where <- if (length(worst)) {
  paste0(" (", comparison$analysis[worst], ", ", comparison$quantity[worst], ")")
} else ""
cat(sprintf("\\nLargest difference: %.3g%s over %d comparisons\\n", largest, where,
            nrow(comparison)))
if (is.na(largest) || largest > tolerance) {
  cat("DISAGREEMENT above", tolerance, "\\n")
  quit(status = 1)
}
"""


def _r_string(text: object) -> str:
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _comment(text: object, width: int = 92) -> list[str]:
    words, lines, line = str(text).split(), [], "#"
    for word in words:
        if len(line) + 1 + len(word) > width and line != "#":
            lines.append(line)
            line = "#  "
        line += " " + word
    lines.append(line)
    return lines


def _row_kind(row: pd.Series) -> str:
    """How reproduce.R obtains a row's yi and vi: escalc, crossover formula, or as given."""
    derivation = str(row.get("derivation", "") or "")
    measure = str(row.get("measure", ""))
    if derivation.startswith("escalc") and measure in _ARM_ARGS:
        return "escalc"
    design = str(row.get("design", "") or "").lower()
    assumption = str(row.get("assumption", "") or "")
    if (design == "crossover" and measure in ("MD", "SMD")
            and assumption.startswith("crossover within-person r=")
            and all(_finite(row.get(c)) for c in ("m1i", "sd1i", "m2i", "sd2i", "n1i"))):
        return "crossover"
    return "given"


def _finite(value) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _spec_field(spec, name: str, default: str = "") -> str:
    """A field of an analysis spec (the settings' AnalysisSpec, or a plain mapping)."""
    value = spec.get(name) if isinstance(spec, Mapping) else getattr(spec, name, None)
    return default if value is None else str(value)


def _analysis_block(outcome) -> list[str]:
    aid = outcome.analysis_id
    result = outcome.result
    selected = outcome.selected
    title = _spec_field(outcome.spec, "title", aid)
    measure = _spec_field(outcome.spec, "measure")
    lines = ["", f"# {'-' * 88}", *(_comment(
        f"Analysis {aid}: {title} ({measure}; k = {outcome.k})")),
        f"a <- {_r_string(aid)}",
        "d <- effects[effects$analysis_id == a, ]"]
    kinds = [_row_kind(r) for _, r in selected.iterrows()]
    for i, ((_, row), kind) in enumerate(zip(selected.iterrows(), kinds, strict=True), start=1):
        label = row.get("row_label", row.get("study_id", ""))
        if kind == "escalc":
            measure = row["measure"]
            lines += _comment(f"Row {i}, {row.get('effect_id', '')} ({label}): arm-level data; "
                              f"metafor's escalc recomputes yi and vi ({row['derivation']}).")
            lines += [f"e <- escalc(measure = {_r_string(measure)}, {_ARM_ARGS[measure]}, "
                      f"data = d[{i}, ])",
                      f'compare(a, "yi row {i} (escalc)", e$yi, d$yi[{i}])',
                      f'compare(a, "vi row {i} (escalc)", e$vi, d$vi[{i}])',
                      f"d$yi[{i}] <- as.numeric(e$yi); d$vi[{i}] <- as.numeric(e$vi)"]
        elif kind == "crossover":
            r = float(row["assumption_value"])
            lines += _comment(
                f"Row {i}, {row.get('effect_id', '')} ({label}): crossover trial, paired "
                f"effect from the period means and SDs with the assumed within-person "
                f"correlation r = {r:g} (Cochrane Handbook 23.2.7; {row['derivation']}).")
            lines += [f"x <- d[{i}, ]; r <- {r!r}",
                      "md <- x$m1i - x$m2i"]
            if row["measure"] == "MD":
                lines += ["yi <- md",
                          "vi <- (x$sd1i^2 + x$sd2i^2 - 2 * r * x$sd1i * x$sd2i) / x$n1i"]
            else:
                lines += ["yi <- md / sqrt((x$sd1i^2 + x$sd2i^2) / 2)",
                          "vi <- (1 / x$n1i + yi^2 / (2 * x$n1i)) * 2 * (1 - r)"]
            lines += [f'compare(a, "yi row {i} (crossover)", yi, d$yi[{i}])',
                      f'compare(a, "vi row {i} (crossover)", vi, d$vi[{i}])',
                      f"d$yi[{i}] <- yi; d$vi[{i}] <- vi"]
        else:
            lines += _comment(f"Row {i}, {row.get('effect_id', '')} ({label}): yi and vi as "
                              f"derived by the review ({row.get('derivation', '')}).")
    method, test = result.method, result.test
    level = float(result.level)
    pi_type = _PI_TYPE.get(getattr(result, "pi_df", None), "")
    lines += _comment(f"Random-effects model as in the review: tau^2 estimator {method}, "
                      f"test {test}, level {level:g}, prediction interval "
                      f"{'as predict() computes it' if not pi_type else pi_type.strip(', ')}.")
    lines += [f"fit <- rma(yi, vi, data = d, slab = row_label, method = {_r_string(method)}, "
              f"test = {_r_string(test)}, level = {100 * level!r}, control = ctrl)",
              f"pr <- predict(fit{pi_type})",
              "r_values <- c(estimate = fit$beta[1], se = fit$se, pvalue = fit$pval,",
              "  ci_low = fit$ci.lb, ci_high = fit$ci.ub, pi_low = pr$pi.lb, pi_high = pr$pi.ub,",
              "  tau2 = fit$tau2, i2 = fit$I2, h2 = fit$H2, q = fit$QE, q_pvalue = fit$QEp)",
              "for (q in names(r_values)) compare(a, q, r_values[[q]], review(a, q))"]
    if outcome.tau2_ci is not None:
        lines += ["# Q-profile confidence interval for tau^2 and I^2.",
                  "ci <- confint(fit, control = list(tol = 1e-12, tau2.max = 1e7))$random",
                  'compare(a, "tau2_ci_low", ci["tau^2", "ci.lb"], review(a, "tau2_ci_low"))',
                  'compare(a, "tau2_ci_high", ci["tau^2", "ci.ub"], review(a, "tau2_ci_high"))',
                  'compare(a, "i2_ci_low", ci["I^2(%)", "ci.lb"], review(a, "i2_ci_low"))',
                  'compare(a, "i2_ci_high", ci["I^2(%)", "ci.ub"], review(a, "i2_ci_high"))']
    if outcome.egger is not None:
        lines += ["# Egger's regression test (meta-regression on the standard error).",
                  "eg <- regtest(fit)",
                  'compare(a, "egger_pvalue", eg$pval, review(a, "egger_pvalue"))']
    if outcome.trimfill is not None:
        lines += ["# Trim-and-fill (estimator L0, side chosen as metafor does).",
                  "tf <- trimfill(fit)",
                  'compare(a, "trimfill_k0", tf$k0, review(a, "trimfill_k0"))',
                  'compare(a, "trimfill_estimate", tf$beta[1], review(a, "trimfill_estimate"))']
    if outcome.leave1out is not None:
        lines += ["# Leave-one-out, against sensitivity.csv (rows in the same study order).",
                  "l1 <- leave1out(fit)",
                  'own <- sensitivity[sensitivity$analysis_id == a & sensitivity$kind == "leave1out", ]',
                  "for (i in seq_along(l1$estimate)) {",
                  "  for (q in c(\"estimate\", \"ci_low\", \"ci_high\", \"tau2\")) {",
                  "    col <- c(estimate = \"estimate\", ci_low = \"ci.lb\", ci_high = \"ci.ub\","
                  " tau2 = \"tau2\")[[q]]",
                  "    compare(a, paste0(\"leave1out \", i, \" \", q), l1[[col]][i], own[i, q])",
                  "  }",
                  "}"]
    return lines


def reproduce_r_script(outcomes: Sequence) -> str:
    """The text of ``reproduce.R`` for these analysis outcomes (pooled ones only).

    Each analysis that pooled at least one row gets a block: its rows (``escalc`` for rows
    derived from arm-level data, the Cochrane crossover formulas for crossover rows from
    period summaries, ``yi``/``vi`` as given otherwise), ``rma`` with the estimator, test,
    level and prediction-interval rule of the review's fit, and ``confint``, ``regtest``,
    ``trimfill`` and ``leave1out`` exactly where the review computed them.
    """
    lines = _HEADER.splitlines()
    for outcome in outcomes:
        if outcome.result is None or outcome.selected.empty:
            lines += ["", f"# Analysis {outcome.analysis_id}: nothing pooled "
                          "(no poolable effect), so nothing to refit."]
            continue
        lines += _analysis_block(outcome)
    lines += _FOOTER.splitlines()
    return "\n".join(lines) + "\n"
