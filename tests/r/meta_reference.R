# Reference values for ketamine_evidence.meta, computed with metafor.
#
# Usage (from the repository root):
#   Rscript tests/r/meta_reference.R tests/results/meta_reference.json
#
# Needs R with the metafor, metadat and jsonlite packages (Debian: r-cran-metafor,
# r-cran-metadat, r-cran-jsonlite). The test suite only reads the JSON this writes;
# it never needs R.
#
# Every fit uses tight convergence control so that the reference values are the
# solutions of the estimating equations, not metafor's default-tolerance
# approximations to them.

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = TRUE)
out_path <- if (length(args) >= 1) args[1] else "tests/results/meta_reference.json"

CTRL <- list(threshold = 1e-12, tol = 1e-12, maxiter = 1000, tau2.max = 1e7)
METHODS <- c("EE", "DL", "REML", "ML", "PM", "EB", "HS", "SJ", "HE")
TESTS <- c("z", "knha", "adhoc")

num <- function(x) if (is.null(x) || length(x) == 0) NA_real_ else as.numeric(x)

fit_rma <- function(yi, vi, method, test, mods = NULL) {
  f <- function(ctrl) {
    if (is.null(mods)) {
      rma(yi, vi, method = method, test = test, control = ctrl)
    } else {
      rma(yi, vi, mods = ~mods, method = method, test = test, control = ctrl)
    }
  }
  res <- tryCatch(suppressWarnings(f(CTRL)), error = function(e) NULL)
  if (is.null(res)) {
    # Fisher scoring overshoots on some data: damp the steps (same fixed point).
    res <- suppressWarnings(f(c(CTRL, list(stepadj = 0.5, maxiter = 10000))))
  }
  res
}

# ------------------------------------------------------------------ data sets
datasets <- list()

bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
datasets$bcg_logrr <- list(yi = as.numeric(bcg$yi), vi = as.numeric(bcg$vi),
  study = paste(bcg$author, bcg$year), mod = bcg$ablat, group = as.character(bcg$alloc),
  description = "dat.bcg, log risk ratio (escalc RR); moderator ablat; groups alloc")

nsmd <- escalc(measure = "SMD", m1i = m1i, sd1i = sd1i, n1i = n1i,
  m2i = m2i, sd2i = sd2i, n2i = n2i, data = dat.normand1999)
datasets$normand_smd <- list(yi = as.numeric(nsmd$yi), vi = as.numeric(nsmd$vi),
  study = as.character(nsmd$source), description = "dat.normand1999, SMD (Hedges g)")

nmd <- escalc(measure = "MD", m1i = m1i, sd1i = sd1i, n1i = n1i,
  m2i = m2i, sd2i = sd2i, n2i = n2i, data = dat.normand1999)
datasets$normand_md <- list(yi = as.numeric(nmd$yi), vi = as.numeric(nmd$vi),
  study = as.character(nmd$source), description = "dat.normand1999, raw mean difference (days)")

hack <- dat.hackshaw1998
datasets$hackshaw_logor <- list(yi = as.numeric(hack$yi), vi = as.numeric(hack$vi),
  study = paste(hack$author, hack$year), mod = hack$year, group = as.character(hack$design),
  description = "dat.hackshaw1998, log odds ratio; moderator year; groups design")

curt <- escalc(measure = "ROM", m1i = m1i, sd1i = sd1i, n1i = n1i,
  m2i = m2i, sd2i = sd2i, n2i = n2i, data = dat.curtis1998)
datasets$curtis_rom <- list(yi = as.numeric(curt$yi), vi = as.numeric(curt$vi),
  study = paste0("id", curt$id), mod = curt$time, group = as.character(curt$fungrp),
  description = "dat.curtis1998, log ratio of means; moderator time; groups fungrp")

li <- escalc(measure = "OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.li2007)
li <- li[!is.na(li$yi), ]
datasets$li_logor <- list(yi = as.numeric(li$yi), vi = as.numeric(li$vi),
  study = paste(li$study, li$year), description = "dat.li2007, log odds ratio, zero cells (+0.5)")

raud <- dat.raudenbush1985
datasets$raudenbush_smd <- list(yi = as.numeric(raud$yi), vi = as.numeric(raud$vi),
  study = paste(raud$author, raud$year), mod = raud$weeks, group = as.character(raud$tester),
  description = "dat.raudenbush1985, SMD; moderator weeks; groups tester")

datasets$edge_k1 <- list(yi = c(0.42), vi = c(0.09), study = c("only"),
  description = "single study")
datasets$edge_k2 <- list(yi = c(0.10, 0.90), vi = c(0.02, 0.05), study = c("a", "b"),
  description = "two heterogeneous studies")
datasets$edge_homog <- list(yi = c(0.30, 0.31, 0.29, 0.305, 0.295, 0.30),
  vi = c(0.04, 0.05, 0.03, 0.06, 0.045, 0.035), study = paste0("s", 1:6),
  description = "homogeneous studies, every estimator truncates tau2 at 0")
datasets$edge_bighet <- list(yi = c(-2.0, 3.5, 0.2, 5.1, -1.3, 2.4, 8.0),
  vi = c(0.01, 0.02, 0.015, 0.03, 0.01, 0.05, 0.02), study = paste0("h", 1:7),
  description = "very large heterogeneity relative to within-study variance")

# ------------------------------------------------------------------ helpers
rma_record <- function(res, name, method, test) {
  pr <- predict(res)
  pr_riley <- predict(res, pi.type = "riley")
  list(dataset = name, method = method, test = test, k = res$k,
    estimate = num(res$beta[1]), se = num(res$se[1]), statistic = num(res$zval[1]),
    pvalue = num(res$pval[1]), ci_low = num(res$ci.lb[1]), ci_high = num(res$ci.ub[1]),
    pi_low = num(pr$pi.lb), pi_high = num(pr$pi.ub),
    pi_low_k2 = num(pr_riley$pi.lb), pi_high_k2 = num(pr_riley$pi.ub),
    tau2 = num(res$tau2), se_tau2 = num(res$se.tau2), i2 = num(res$I2), h2 = num(res$H2),
    q = num(res$QE), q_pvalue = num(res$QEp), df = num(res$ddf),
    weights = as.numeric(weights(res)))
}

confint_record <- function(res, name, method) {
  ci <- confint(res, control = list(tol = 1e-12, tau2.max = 1e7))$random
  list(dataset = name, method = method,
    tau2 = as.numeric(ci["tau^2", ]), tau = as.numeric(ci["tau", ]),
    i2 = as.numeric(ci["I^2(%)", ]), h2 = as.numeric(ci["H^2", ]))
}

frame_cols <- function(x) {
  x <- as.data.frame(x)
  list(estimate = x$estimate, se = x$se, statistic = if (!is.null(x$zval)) x$zval else x$tval,
    pvalue = x$pval, ci_low = x$ci.lb, ci_high = x$ci.ub, q = x$Q, q_pvalue = x$Qp,
    tau2 = x$tau2, i2 = x$I2, h2 = x$H2)
}

# ------------------------------------------------------------------ grid
rma_out <- list(); conf_out <- list(); l1o_out <- list(); cumul_out <- list()
reg_out <- list(); tf_out <- list(); mr_out <- list(); sg_out <- list()

for (name in names(datasets)) {
  d <- datasets[[name]]
  k <- length(d$yi)
  for (method in METHODS) {
    for (test in TESTS) {
      res <- fit_rma(d$yi, d$vi, method, test)
      rma_out[[length(rma_out) + 1]] <- rma_record(res, name, method, test)
      if (k >= 3 && method %in% c("REML", "DL", "PM") && test %in% c("z", "knha")) {
        l1o <- leave1out(res)
        cu <- cumul(res)
        l1o_out[[length(l1o_out) + 1]] <- c(list(dataset = name, method = method, test = test),
          frame_cols(l1o))
        cumul_out[[length(cumul_out) + 1]] <- c(list(dataset = name, method = method,
          test = test), frame_cols(cu))
      }
      if (k >= 3 && test %in% c("z", "knha")) {
        for (model in c("rma", "lm")) {
          if (model == "lm" && (method != "REML" || test != "z")) next
          for (pred in c("sei", "vi")) {
            rt <- regtest(res, model = model, predictor = pred)
            reg_out[[length(reg_out) + 1]] <- list(dataset = name, method = method,
              test = test, model = model, predictor = pred, statistic = num(rt$zval),
              pvalue = num(rt$pval), df = num(rt$dfs), est = num(rt$est),
              ci_low = num(rt$ci.lb), ci_high = num(rt$ci.ub))
          }
        }
      }
      if (k >= 3 && method %in% c("REML", "DL", "EE", "PM") && test %in% c("z", "knha")) {
        for (est in c("L0", "R0")) {
          tf <- suppressWarnings(trimfill(res, estimator = est, test = test,
            control = CTRL))
          tf_out[[length(tf_out) + 1]] <- list(dataset = name, method = method,
            test = test, estimator = est, k0 = tf$k0, side = tf$side,
            yi = as.numeric(tf$yi), vi = as.numeric(tf$vi),
            estimate = num(tf$beta[1]), se = num(tf$se[1]), ci_low = num(tf$ci.lb[1]),
            ci_high = num(tf$ci.ub[1]), pvalue = num(tf$pval[1]), tau2 = num(tf$tau2))
        }
      }
    }
    if (k >= 2 && method != "EE") {
      res <- fit_rma(d$yi, d$vi, method, "z")
      conf_out[[length(conf_out) + 1]] <- confint_record(res, name, method)
    }
    if (!is.null(d$mod)) {
      for (test in TESTS) {
        mr <- fit_rma(d$yi, d$vi, method, test, mods = d$mod)
        mr_out[[length(mr_out) + 1]] <- list(dataset = name, method = method, test = test,
          intercept = num(mr$beta[1]), slope = num(mr$beta[2]),
          se_intercept = num(mr$se[1]), se_slope = num(mr$se[2]),
          stat_intercept = num(mr$zval[1]), stat_slope = num(mr$zval[2]),
          p_intercept = num(mr$pval[1]), p_slope = num(mr$pval[2]),
          ci_low_intercept = num(mr$ci.lb[1]), ci_high_intercept = num(mr$ci.ub[1]),
          ci_low_slope = num(mr$ci.lb[2]), ci_high_slope = num(mr$ci.ub[2]),
          qm = num(mr$QM), qm_pvalue = num(mr$QMp), qe = num(mr$QE), qe_pvalue = num(mr$QEp),
          tau2 = num(mr$tau2), se_tau2 = num(mr$se.tau2), i2 = num(mr$I2), h2 = num(mr$H2),
          r2 = if (is.null(mr$R2)) NA_real_ else num(mr$R2))
      }
    }
    if (!is.null(d$group) && method != "EE") {
      for (test in c("z", "knha")) {
        groups <- sort(unique(d$group))
        per <- lapply(groups, function(g) {
          sel <- d$group == g
          fit_rma(d$yi[sel], d$vi[sel], method, test)
        })
        est <- sapply(per, function(r) num(r$beta[1]))
        se <- sapply(per, function(r) num(r$se[1]))
        ok <- is.finite(se) & se > 0
        qb <- rma(est[ok], sei = se[ok], method = "EE")
        grp <- factor(d$group, levels = groups)
        common <- suppressWarnings(rma(d$yi, d$vi, mods = ~grp, method = method, test = test,
          control = CTRL))
        sg_out[[length(sg_out) + 1]] <- list(dataset = name, method = method, test = test,
          groups = groups, k = sapply(per, function(r) r$k), estimate = est, se = se,
          tau2 = sapply(per, function(r) num(r$tau2)), q_between = num(qb$QE),
          df_between = qb$k - 1, p_between = num(qb$QEp), qm = num(common$QM),
          qm_pvalue = num(common$QMp), tau2_common = num(common$tau2))
      }
    }
  }
}

out <- list(
  meta = list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
    metadat = as.character(packageVersion("metadat")),
    control = CTRL, generated = format(Sys.time(), "%Y-%m-%dT%H:%M:%SZ", tz = "UTC"),
    methods = METHODS, tests = TESTS,
    notes = paste("pi_low/pi_high: predict(); pi_low_k2/pi_high_k2: predict(pi.type='riley'),",
      "i.e. t with k-2 df. confint: Q-profile with tol 1e-12. subgroup: Q_between from an",
      "EE model on the subgroup estimates and their standard errors.")),
  datasets = datasets, rma = rma_out, confint = conf_out, leave1out = l1o_out,
  cumul = cumul_out, regtest = reg_out, trimfill = tf_out, metareg = mr_out,
  subgroup = sg_out)

writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", pretty = FALSE), out_path)
cat("wrote", out_path, "\n")
