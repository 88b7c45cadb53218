# Reference values for ketamine_evidence.effects, computed with metafor.
#
# Run from the repository root:   Rscript tests/r/escalc_reference.R
# Writes tests/results/escalc_reference.json, which the Python tests read (they
# never need R).  Needs R packages metafor, metadat, jsonlite
# (Debian: apt-get install r-cran-metafor r-cran-metadat r-cran-jsonlite).
#
# Each case records the data set, measure, escalc options, the exact inputs
# passed to escalc() and metafor's yi/vi (NA -> null).  Full double precision.

suppressPackageStartupMessages({
  library(metafor)
  library(metadat)
  library(jsonlite)
})

cases <- list()
add_case <- function(id, dataset, measure, inputs, opts = list(), note = "") {
  args <- c(list(measure = measure), inputs, opts)
  res <- suppressWarnings(do.call(escalc, args))
  cases[[length(cases) + 1]] <<- list(
    id = id, dataset = dataset, measure = measure, note = note,
    options = opts,
    inputs = lapply(inputs, as.numeric),
    yi = as.numeric(res$yi), vi = as.numeric(res$vi)
  )
}

cont <- function(d) list(m1i = d$m1i, sd1i = d$sd1i, n1i = d$n1i,
                         m2i = d$m2i, sd2i = d$sd2i, n2i = d$n2i)

# ---- continuous: dat.normand1999 (length of stay, days) ----------------------
nd <- cont(dat.normand1999)
for (vt in c("LS", "UB", "HO")) add_case(paste0("normand1999_MD_", vt), "dat.normand1999", "MD", nd, list(vtype = vt))
for (vt in c("LS", "UB", "LS2")) add_case(paste0("normand1999_SMD_", vt), "dat.normand1999", "SMD", nd, list(vtype = vt))
for (vt in c("LS", "HO")) add_case(paste0("normand1999_ROM_", vt), "dat.normand1999", "ROM", nd, list(vtype = vt))
add_case("normand1999_MD_default", "dat.normand1999", "MD", nd, note = "metafor defaults")
add_case("normand1999_SMD_default", "dat.normand1999", "SMD", nd, note = "metafor defaults")

# ---- continuous: dat.curtis1998 (plant biomass, small n) ---------------------
cd <- cont(dat.curtis1998)
for (vt in c("LS", "HO")) add_case(paste0("curtis1998_ROM_", vt), "dat.curtis1998", "ROM", cd, list(vtype = vt))
for (vt in c("LS", "UB", "LS2")) add_case(paste0("curtis1998_SMD_", vt), "dat.curtis1998", "SMD", cd, list(vtype = vt))
add_case("curtis1998_MD_LS", "dat.curtis1998", "MD", cd, list(vtype = "LS"))

# ---- binary: dat.bcg (full 2x2 tables, no zero cells) ------------------------
bd <- list(ai = dat.bcg$tpos, bi = dat.bcg$tneg, ci = dat.bcg$cpos, di = dat.bcg$cneg)
for (m in c("RR", "OR", "RD")) add_case(paste0("bcg_", m), "dat.bcg", m, bd)
add_case("bcg_RD_UB", "dat.bcg", "RD", bd, list(vtype = "UB"))

# ---- binary: dat.li2007 (magnesium; single zero cells), ai/n1i/ci/n2i form ----
ld <- list(ai = dat.li2007$ai, n1i = dat.li2007$n1i, ci = dat.li2007$ci, n2i = dat.li2007$n2i)
for (m in c("RR", "OR", "RD")) {
  add_case(paste0("li2007_", m), "dat.li2007", m, ld)
  add_case(paste0("li2007_", m, "_all"), "dat.li2007", m, ld, list(to = "all"))
  add_case(paste0("li2007_", m, "_if0all"), "dat.li2007", m, ld, list(to = "if0all"))
  add_case(paste0("li2007_", m, "_add025"), "dat.li2007", m, ld, list(add = 0.25))
  add_case(paste0("li2007_", m, "_none"), "dat.li2007", m, ld, list(to = "none"),
           note = "infinite yi/vi recoded to NA by metafor")
}

# ---- binary: dat.collins1985a (bleeding; includes a double-zero trial) ---------
co <- dat.collins1985a[!is.na(dat.collins1985a$b.xti), ]
cod <- list(ai = co$b.xti, n1i = co$nti, ci = co$b.xci, n2i = co$nci)
for (m in c("RR", "OR", "RD")) {
  add_case(paste0("collins1985a_", m), "dat.collins1985a (rows with bleeding data)", m, cod)
  add_case(paste0("collins1985a_", m, "_drop00"), "dat.collins1985a (rows with bleeding data)", m, cod,
           list(drop00 = TRUE))
}

# ---- constructed: zero cells of every kind -------------------------------------
# rows: no zeros; ai=0; ci=0; double zero (0/0); all events in both arms;
#       all events in arm 1 only; non-integer counts (split control arm)
kd <- list(ai = c(3, 0, 5, 0, 10, 12, 2.5), bi = c(7, 12, 9, 20, 0, 0, 10),
           ci = c(6, 4, 0, 0, 15, 8, 3.5), di = c(4, 9, 11, 18, 0, 6, 9))
for (m in c("RR", "OR", "RD")) {
  add_case(paste0("constructed_", m), "constructed", m, kd)
  add_case(paste0("constructed_", m, "_drop00"), "constructed", m, kd, list(drop00 = TRUE))
  add_case(paste0("constructed_", m, "_none"), "constructed", m, kd, list(to = "none"))
}

# ---- SMD from a reported d or t (reference for from_cohen_d / from_t_independent)
dd <- list(di = c(0.5, -1.2, 0.0, 2.3), n1i = c(10, 25, 40, 6), n2i = c(12, 25, 38, 5))
add_case("smd_from_d", "constructed", "SMD", dd)
add_case("smd_from_d_UB", "constructed", "SMD", dd, list(vtype = "UB"))
td <- list(ti = c(2.1, -0.7, 3.9), n1i = c(15, 30, 8), n2i = c(14, 33, 9))
add_case("smd_from_t", "constructed", "SMD", td)

# ---- generic inverse variance from a ratio CI: dat.hackshaw1998 ----------------
# metadat documents yi = log(or), vi from the 95% CI on the log scale.
hk <- dat.hackshaw1998
generic <- list(
  hackshaw1998 = list(
    dataset = "dat.hackshaw1998",
    note = "yi, vi as shipped in metadat (log OR and variance from the 95% CI)",
    or = hk$or, or_lb = hk$or.lb, or_ub = hk$or.ub,
    yi = as.numeric(hk$yi), vi = as.numeric(hk$vi)
  )
)

out <- list(
  generated_by = "tests/r/escalc_reference.R",
  R_version = R.version.string,
  metafor_version = as.character(packageVersion("metafor")),
  metadat_version = as.character(packageVersion("metadat")),
  cases = cases,
  generic = generic
)
dir.create("tests/results", showWarnings = FALSE, recursive = TRUE)
write_json(out, "tests/results/escalc_reference.json", digits = NA, auto_unbox = TRUE,
           na = "null", pretty = TRUE)
cat("wrote", length(cases), "escalc cases to tests/results/escalc_reference.json\n")
