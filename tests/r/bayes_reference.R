# Reference values for ketamine_evidence.meta.bayes, computed with R's bayesmeta.
#
# Usage (from the repository root):
#   Rscript tests/r/bayes_reference.R tests/results/bayes_reference.json
#
# Needs R with the bayesmeta (Roever 2020, J Stat Softw 93(6)), metafor, metadat and
# jsonlite packages. The test suite only reads the JSON this writes; it never needs R.
#
# bayesmeta approximates the marginal posterior of mu (and of a new study's effect)
# by a discrete mixture of normals over a grid in tau whose fineness is set by `delta`
# and `epsilon` (Roever 2020, section 3.3). The defaults (delta = 0.01) are far too
# coarse for a 1e-6 comparison; DELTA = 1e-4 and EPSILON = 1e-6 below bring the
# mixture's error to about 5e-5 relative, which is the tolerance the tests use.
# Posterior quantities of tau are computed by bayesmeta with numerical integration
# and are exact to integrate()'s tolerance.

suppressPackageStartupMessages({
  library(bayesmeta)
  library(metafor)
  library(metadat)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = TRUE)
out_path <- if (length(args) >= 1) args[1] else "tests/results/bayes_reference.json"

DELTA <- 1e-4
EPSILON <- 1e-6
LEVEL <- 0.95
P_LO <- (1 - LEVEL) / 2
P_HI <- 1 - P_LO

# ---------------------------------------------------------------- data sets
bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
data("CrinsEtAl2014", package = "bayesmeta")
crins <- escalc(measure = "OR",
                ai = exp.AR.events, n1i = exp.total,
                ci = cont.AR.events, n2i = cont.total, data = CrinsEtAl2014)
data("Rubin1981", package = "bayesmeta")

# tau_scale and the proper mu prior are chosen on each data set's own scale
datasets <- list(
  bcg_logrr = list(y = as.numeric(bcg$yi), sigma = sqrt(as.numeric(bcg$vi)),
                   tau_scale = 0.5, mu_prior = c(0, 4)),
  crins_logor = list(y = as.numeric(crins$yi), sigma = sqrt(as.numeric(crins$vi)),
                     tau_scale = 0.5, mu_prior = c(0, 4)),
  rubin1981 = list(y = Rubin1981$effect, sigma = Rubin1981$stderr,
                   tau_scale = 10, mu_prior = c(0, 50)),
  k1 = list(y = c(0.31), sigma = c(0.22), tau_scale = 0.5, mu_prior = c(0, 1)),
  k2 = list(y = c(-0.42, 0.15), sigma = c(0.25, 0.31), tau_scale = 0.5, mu_prior = c(0, 2)),
  k3 = list(y = c(0.12, 0.55, -0.28), sigma = c(0.2, 0.15, 0.3), tau_scale = 1,
            mu_prior = c(0.5, 1))
)

tau_density <- function(kind, scale) {
  if (kind == "halfnormal") function(t) dhalfnormal(t, scale = scale)
  else function(t) dhalfcauchy(t, scale = scale)
}

fit_one <- function(d, tau_prior, mu_prior) {
  mp <- if (mu_prior == "normal") d$mu_prior else c(NA, NA)
  bm <- bayesmeta(y = d$y, sigma = d$sigma,
                  tau.prior = tau_density(tau_prior, d$tau_scale),
                  mu.prior.mean = mp[1], mu.prior.sd = mp[2],
                  delta = DELTA, epsilon = EPSILON)
  mu_q <- bm$qposterior(mu.p = c(P_LO, 0.5, P_HI))
  tau_q <- bm$qposterior(tau.p = c(P_LO, 0.5, P_HI))
  pred_q <- bm$qposterior(theta.p = c(P_LO, P_HI), predict = TRUE)
  spread <- (mu_q[3] - mu_q[1]) / 4
  mu_cuts <- mu_q[2] + c(-3, -1, -0.25, 0, 0.5, 2) * spread
  pspread <- (pred_q[2] - pred_q[1]) / 4
  pred_cuts <- mu_q[2] + c(-3, -1, -0.25, 0, 0.5, 2) * pspread
  list(
    tau_prior = tau_prior, tau_scale = d$tau_scale, mu_prior = mu_prior,
    mu_prior_mean = if (mu_prior == "normal") d$mu_prior[1] else NULL,
    mu_prior_sd = if (mu_prior == "normal") d$mu_prior[2] else NULL,
    k = bm$k,
    mu_mean = bm$summary["mean", "mu"], mu_sd = bm$summary["sd", "mu"],
    mu_median = mu_q[2], mu_ci_low = mu_q[1], mu_ci_high = mu_q[3],
    tau_median = tau_q[2], tau_ci_low = tau_q[1], tau_ci_high = tau_q[3],
    pred_ci_low = pred_q[1], pred_ci_high = pred_q[2],
    mu_cuts = mu_cuts,
    mu_cdf = sapply(mu_cuts, function(x) bm$pposterior(mu = x)),
    pred_cuts = pred_cuts,
    pred_cdf = sapply(pred_cuts, function(x) bm$pposterior(theta = x, predict = TRUE))
  )
}

fits <- list()
for (name in names(datasets)) {
  d <- datasets[[name]]
  for (tp in c("halfnormal", "halfcauchy")) {
    for (mp in c("flat", "normal")) {
      if (length(d$y) == 1 && mp == "flat") next  # improper posterior for mu
      f <- fit_one(d, tp, mp)
      f$dataset <- name
      fits[[length(fits) + 1]] <- f
    }
  }
}

out <- list(
  generated_by = "tests/r/bayes_reference.R",
  r_version = R.version.string,
  bayesmeta_version = as.character(packageVersion("bayesmeta")),
  metafor_version = as.character(packageVersion("metafor")),
  delta = DELTA, epsilon = EPSILON, level = LEVEL,
  datasets = lapply(datasets, function(d) list(y = d$y, vi = d$sigma^2)),
  fits = fits
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null"),
           out_path)
cat("wrote", length(fits), "fits to", out_path, "\n")
