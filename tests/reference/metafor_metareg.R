#!/usr/bin/env Rscript
# metafor_metareg.R -- reference values from R's metafor for metakit's
# meta-regression (issue 8): rma.uni() with moderators.
#
# Writes metafor_metareg.json beside this script: {"software": ..., "settings": ...,
# "cases": [...]}; each case has name, data, settings, results (schema in README.md).
#
# Contents
#   * dat.bcg (log RR): ~ ablat, ~ ablat + year, ~ factor(alloc)
#   * dat.hackshaw1998 (log OR as given): ~ factor(design); ~ factor(country) (9 levels,
#     four of them with a single study)
#   * dat.bangertdrowns2004 (SMD as given): ~ length + wic + factor(grade), with missing
#     moderator values (metafor drops those studies with a warning)
#   * dat.raudenbush1985 (SMD as given): ~ weeks_c, weeks_c = min(weeks, 3); residual
#     tau^2 is 0 for REML/ML/DL/...
#   * dat.molloy2014 (Fisher z): ~ controls (categorical 'none'/'multiple') + meanage
#   every one with tau^2 methods FE, REML, ML, DL, PM, SJ, HE, EB, HS and tests z, knha;
#   predictions at new moderator values; the test of a subset of coefficients (btt)
#   * permutest(exact = TRUE): dat.bcg random-allocation trials (k = 7) ~ ablat, and
#     ~ factor(alloc) on 8 trials; intercept-only (sign flips)
#   * subgroups as regression: dat.bcg by alloc, ~ factor(alloc) and ~ factor(alloc) - 1
#     beside per-group rma() with tau^2 fixed at the regression's common tau^2
#   * adversarial: nearly collinear moderators, exactly collinear moderators,
#     more coefficients than studies
#
# usage:  Rscript tests/reference/metafor_metareg.R   (from the repository root)
# needs:  R 4.2, metafor 3.8.1, metadat (Debian r-cran-metafor r-cran-metadat)

here <- (function() {
  args <- commandArgs(trailingOnly = FALSE)
  p <- sub("^--file=", "", args[grep("^--file=", args)])
  if (length(p)) dirname(normalizePath(p)) else getwd()
})()
source(file.path(here, "refjson.R"))
outfile <- file.path(here, "metafor_metareg.json")

METHODS <- c("FE", "REML", "ML", "DL", "PM", "SJ", "HE", "EB", "HS")
TESTS <- c("z", "knha")

# ----------------------------------------------------------------------------
# data blocks
# ----------------------------------------------------------------------------
# data block: study labels, yi, vi, moderator columns (named arrays), raw inputs
data_block <- function(study, yi, vi, mods, raw = NULL, measure = NULL, source = NULL) {
  out <- list(source = source, measure = measure, study = I(as.character(study)),
              yi = arr(yi), vi = arr(vi),
              mods = lapply(mods, function(m) if (is.factor(m)) I(as.character(m)) else arr(m)))
  if (!is.null(raw)) out$raw <- lapply(raw, arr)
  out
}

# data frame for rma() from a data block (moderators as in R; factors stay character)
block_df <- function(db) {
  df <- data.frame(yi = as.numeric(db$yi), vi = as.numeric(db$vi))
  for (nm in names(db$mods)) df[[nm]] <- unclass(db$mods[[nm]])
  df
}

# ----------------------------------------------------------------------------
# extractors
# ----------------------------------------------------------------------------
fitstats_list <- function(fit) {
  fs <- fit$fit.stats
  list(logLik = fs["ll", "ML"], deviance = fs["dev", "ML"], AIC = fs["AIC", "ML"],
       BIC = fs["BIC", "ML"], AICc = fs["AICc", "ML"],
       logLik_REML = fs["ll", "REML"], deviance_REML = fs["dev", "REML"],
       AIC_REML = fs["AIC", "REML"], BIC_REML = fs["BIC", "REML"], AICc_REML = fs["AICc", "REML"])
}

pred_list <- function(fit, newmods) {
  if (is.null(newmods)) return(NULL)
  r <- capture(predict(fit, newmods = newmods))
  if (r$error) return(list(error = r$value$msg))
  p <- r$value
  list(newmods = mat(newmods), pred = arr(p$pred), se = arr(p$se),
       ci_lb = arr(p$ci.lb), ci_ub = arr(p$ci.ub), pi_lb = arr(p$pi.lb), pi_ub = arr(p$pi.ub),
       tau2 = fit$tau2)
}

btt_list <- function(fit, btt) {
  if (is.null(btt)) return(NULL)
  r <- capture(anova(fit, btt = btt))
  if (r$error) return(list(btt = arr(btt), error = r$value$msg))
  a <- r$value
  list(btt = arr(btt), QM = num1(a$QM), QMdf = arr(c(a$QMdf, NA)[1:2]), QMp = num1(a$QMp))
}

reg_results <- function(fit) {
  knha <- fit$test != "z"
  res <- list(
    method_metafor = fit$method, test_metafor = fit$test,
    coef_names = I(rownames(fit$beta)),
    beta = arr(fit$beta), se = arr(fit$se))
  res[[if (knha) "tval" else "zval"]] <- arr(fit$zval)
  res <- c(res, list(
    pval = arr(fit$pval), ci_lb = arr(fit$ci.lb), ci_ub = arr(fit$ci.ub),
    vb = mat(fit$vb),
    tau2 = num1(fit$tau2), se_tau2 = num1(fit$se.tau2),
    k = fit$k, p = fit$p, k_all = fit$k.all, not_na = arr(fit$not.na),
    QE = num1(fit$QE), QEp = num1(fit$QEp), QEdf = fit$k - fit$p,
    QM = num1(fit$QM), QMdf = arr(c(fit$QMdf, NA)[1:2]), QMp = num1(fit$QMp),
    btt = arr(fit$btt),
    I2 = num1(fit$I2), H2 = num1(fit$H2), R2 = num1(fit$R2),
    ddf = if (knha) num1(fit$ddf) else NULL, s2w = if (knha) num1(fit$s2w) else NULL,
    fitted = arr(fitted(fit)),
    X = mat(fit$X),
    fitstats = fitstats_list(fit)))
  if (!is.null(fit$coef.na) && any(fit$coef.na))
    res$coef_dropped <- I(sub("^X", "", names(fit$coef.na)[fit$coef.na]))
  # tau^2 of the intercept-only model (same method and control) behind metafor's R2
  if (!fit$int.only && !(fit$method %in% c("FE", "EE", "CE"))) {
    r0 <- capture(rma(fit$yi, fit$vi, method = fit$method, control = fit$control))
    res$tau2_intercept_only <- if (r0$error) NA_real_ else num1(r0$value$tau2)
  }
  res
}

# One case: rma(yi, vi, mods = formula, data = data block) with method/test.
reg_case <- function(name, db, formula, method, test, btt = NULL, newmods = NULL,
                     newmods_desc = NULL, note = NULL, extra_settings = list(), kind = "metareg") {
  df <- block_df(db)
  ctrl <- ctrl_for(method)
  f <- as.formula(formula)
  r <- capture(rma(yi, vi, mods = f, data = df, method = method, test = test, control = ctrl))
  settings <- c(list(kind = kind, formula = formula, method = method, test = test, level = 95,
                     btt = if (is.null(btt)) NULL else arr(btt),
                     newmods_desc = newmods_desc,
                     control = if (length(ctrl)) ctrl else "metafor defaults"),
                extra_settings)
  case <- list(name = name, note = note, data = db, settings = settings)
  if (r$error) {
    case$results <- list(error = r$value$msg, warnings = I(r$warnings))
    return(case)
  }
  fit <- r$value
  res <- reg_results(fit)
  res$btt_test <- btt_list(fit, btt)
  res$predict <- pred_list(fit, newmods)
  res$warnings <- I(r$warnings)
  case$results <- res
  case
}

all_methods <- function(prefix, db, formula, btt = NULL, newmods = NULL, newmods_desc = NULL,
                        note = NULL) {
  out <- list()
  for (m in METHODS) for (t in TESTS)
    out[[length(out) + 1]] <- reg_case(paste(prefix, m, t, sep = "/"), db, formula, m, t,
                                       btt, newmods, newmods_desc, note)
  out
}

cases <- list()
add <- function(x) cases <<- c(cases, x)

# ----------------------------------------------------------------------------
# dat.bcg, log risk ratio
# ----------------------------------------------------------------------------
b <- dat.bcg
bes <- escalc("RR", ai = b$tpos, bi = b$tneg, ci = b$cpos, di = b$cneg)
bcg <- data_block(paste(b$author, b$year), bes$yi, bes$vi,
                  mods = list(ablat = b$ablat, year = b$year, alloc = b$alloc),
                  raw = list(ai = b$tpos, bi = b$tneg, ci = b$cpos, di = b$cneg),
                  measure = "RR",
                  source = "metadat dat.bcg; yi/vi = escalc('RR', ai=tpos, bi=tneg, ci=cpos, di=cneg) (log risk ratio)")

add(all_methods("bcg ~ ablat", bcg, "~ ablat", btt = 2,
                newmods = cbind(c(10, 30, 50)), newmods_desc = "ablat = 10, 30, 50"))
add(all_methods("bcg ~ ablat + year", bcg, "~ ablat + year", btt = 3,
                newmods = cbind(c(10, 30, 50), c(1950, 1960, 1970)),
                newmods_desc = "(ablat, year) = (10, 1950), (30, 1960), (50, 1970)"))
add(all_methods("bcg ~ factor(alloc)", bcg, "~ factor(alloc)", btt = 3,
                newmods = rbind(c(0, 0), c(1, 0), c(0, 1)),
                newmods_desc = "alloc = alternate (reference), random, systematic (treatment coding, levels sorted)"))

# ----------------------------------------------------------------------------
# dat.hackshaw1998, log odds ratio as given
# ----------------------------------------------------------------------------
h <- dat.hackshaw1998
hack <- data_block(paste(h$author, h$year), h$yi, h$vi,
                   mods = list(design = h$design, country = h$country, year = h$year),
                   measure = "OR",
                   source = "metadat dat.hackshaw1998 (lung cancer, spousal smoking); yi/vi as given (log OR)")
add(all_methods("hackshaw1998 ~ factor(design)", hack, "~ factor(design)", btt = 2,
                newmods = rbind(0, 1), newmods_desc = "design = case-control (reference), cohort"))
for (m in c("REML", "DL")) for (t in TESTS)
  add(list(reg_case(paste("hackshaw1998 ~ factor(country)", m, t, sep = "/"), hack,
                    "~ factor(country)", m, t, btt = c(5, 9),
                    note = "9 countries, 4 of them with one study (Germany, Russia, Sweden, UK); reference level China; btt = Japan and USA")))

# ----------------------------------------------------------------------------
# dat.bangertdrowns2004, with missing moderator values
# ----------------------------------------------------------------------------
bd <- dat.bangertdrowns2004
bang <- data_block(paste(bd$author, bd$year), bd$yi, bd$vi,
                   mods = list(length = bd$length, wic = bd$wic, grade = bd$grade),
                   measure = "SMD",
                   source = "metadat dat.bangertdrowns2004 (writing-to-learn); yi/vi as given; length and wic have 2 missing values each")
add(all_methods("bangertdrowns2004 ~ length + wic + factor(grade)", bang,
                "~ length + wic + factor(grade)", btt = 4:6,
                newmods = rbind(c(5, 1, 0, 0, 0), c(10, 0, 1, 0, 0), c(15, 1, 0, 0, 1)),
                newmods_desc = "(length, wic, grade) = (5, 1, 1), (10, 0, 2), (15, 1, 4); grade 1 is the reference",
                note = "studies with a missing moderator are dropped by metafor (warning 'Studies with NAs omitted from model fitting.'); results$not_na marks the studies used"))

# ----------------------------------------------------------------------------
# dat.raudenbush1985: residual tau^2 at 0
# ----------------------------------------------------------------------------
r8 <- dat.raudenbush1985
raud <- data_block(paste(r8$author, r8$year), r8$yi, r8$vi,
                   mods = list(weeks = r8$weeks, weeks_c = pmin(r8$weeks, 3)),
                   measure = "SMD",
                   source = "metadat dat.raudenbush1985 (teacher expectancy); yi/vi as given; weeks_c = pmin(weeks, 3)")
add(all_methods("raudenbush1985 ~ weeks_c", raud, "~ weeks_c", btt = 2,
                newmods = cbind(c(0, 1, 3)), newmods_desc = "weeks_c = 0, 1, 3",
                note = "residual tau^2 is 0 (or, for ML/REML/EB Fisher scoring, a tiny positive number < 1e-10) for most estimators"))

# ----------------------------------------------------------------------------
# dat.molloy2014: Fisher z, a categorical and a continuous moderator
# ----------------------------------------------------------------------------
mo <- dat.molloy2014
mes <- escalc("ZCOR", ri = mo$ri, ni = mo$ni)
moll <- data_block(paste(mo$authors, mo$year), mes$yi, mes$vi,
                   mods = list(controls = mo$controls, meanage = mo$meanage),
                   raw = list(ri = mo$ri, ni = mo$ni), measure = "ZCOR",
                   source = "metadat dat.molloy2014; yi/vi = escalc('ZCOR', ri, ni)")
add(all_methods("molloy2014 ~ factor(controls) + meanage", moll, "~ factor(controls) + meanage",
                btt = 2, newmods = rbind(c(0, 40), c(1, 60)),
                newmods_desc = "(controls, meanage) = (multiple, 40), (none, 60); reference level 'multiple'"))

# ----------------------------------------------------------------------------
# permutation tests, exact enumeration
# ----------------------------------------------------------------------------
perm_case <- function(name, db, formula, method, test, note) {
  df <- block_df(db)
  ctrl <- ctrl_for(method)
  f <- if (formula == "~ 1") NULL else as.formula(formula)
  fit <- if (is.null(f)) rma(yi, vi, data = df, method = method, test = test, control = ctrl)
         else rma(yi, vi, mods = f, data = df, method = method, test = test, control = ctrl)
  t0 <- proc.time()[["elapsed"]]
  r <- capture(permutest(fit, exact = TRUE, progbar = FALSE))
  el <- proc.time()[["elapsed"]] - t0
  pt <- r$value
  stat <- if (test == "z") "zval" else "tval"
  res <- reg_results(fit)
  res$permutest <- list(
    exact = TRUE, iter = num1(pt$exact.iter), permci = FALSE,
    pval = arr(pt$pval), QMp = num1(pt$QMp),
    stat = arr(pt$zval), QM = num1(pt$QM),
    seconds_in_R = el, warnings = I(r$warnings))
  names(res$permutest)[names(res$permutest) == "stat"] <- stat
  list(name = name, note = note, data = db,
       settings = list(kind = "permutest", formula = formula, method = method, test = test, level = 95,
                       control = if (length(ctrl)) ctrl else "metafor defaults",
                       permutest = "permutest(fit, exact = TRUE)"),
       results = res)
}
rnd <- b$alloc == "random"
bcg_rnd <- data_block(paste(b$author, b$year)[rnd], bes$yi[rnd], bes$vi[rnd],
                      mods = list(ablat = b$ablat[rnd], year = b$year[rnd]),
                      raw = list(ai = b$tpos[rnd], bi = b$tneg[rnd], ci = b$cpos[rnd], di = b$cneg[rnd]),
                      measure = "RR", source = "dat.bcg, the 7 trials with alloc == 'random'; log RR")
sel8 <- 1:8
bcg8 <- data_block(paste(b$author, b$year)[sel8], bes$yi[sel8], bes$vi[sel8],
                   mods = list(ablat = b$ablat[sel8], alloc = b$alloc[sel8]),
                   raw = list(ai = b$tpos[sel8], bi = b$tneg[sel8], ci = b$cpos[sel8], di = b$cneg[sel8]),
                   measure = "RR", source = "dat.bcg, trials 1-8; log RR")
perm_note <- paste("permutest(exact=TRUE): for a model with moderators metafor enumerates every distinct",
                   "permutation of the rows of X (X.indices of unique rows; k! when all rows differ), each",
                   "refitted with the same method/test/control; for an intercept-only model all 2^k sign flips",
                   "of yi. pval[j] = mean(|stat_perm[j]| >= |stat_obs[j]| - comptol), QMp = mean(QM_perm >=",
                   "QM_obs - comptol), comptol = sqrt(.Machine$double.eps) (absolute); the identity permutation",
                   "is among those enumerated. iter = number of permutations enumerated.")
for (m in c("DL", "REML", "FE")) for (t in TESTS) {
  cases[[length(cases) + 1]] <- perm_case(paste("permutest bcg random (k=7) ~ ablat", m, t, sep = "/"),
                                          bcg_rnd, "~ ablat", m, t, perm_note)
  cases[[length(cases) + 1]] <- perm_case(paste("permutest bcg random (k=7) ~ 1", m, t, sep = "/"),
                                          bcg_rnd, "~ 1", m, t, perm_note)
}
for (m in c("DL", "REML")) for (t in TESTS)
  cases[[length(cases) + 1]] <- perm_case(paste("permutest bcg trials 1-8 ~ factor(alloc)", m, t, sep = "/"),
                                          bcg8, "~ factor(alloc)", m, t, perm_note)

# ----------------------------------------------------------------------------
# subgroups as regression (common tau^2)
# ----------------------------------------------------------------------------
bdf <- block_df(bcg)
lev <- sort(unique(b$alloc))
for (m in c("REML", "ML", "DL", "PM", "SJ", "HE", "EB", "HS", "FE")) {
  ctrl <- ctrl_for(m)
  reg <- rma(yi, vi, mods = ~ factor(alloc), data = bdf, method = m, control = ctrl)
  cm <- rma(yi, vi, mods = ~ factor(alloc) - 1, data = bdf, method = m, control = ctrl)
  per <- list(); sep <- list()
  for (g in lev) {
    fg <- rma(yi, vi, data = bdf, subset = alloc == g, tau2 = if (m == "FE") 0 else reg$tau2,
              method = if (m == "FE") "FE" else "REML")
    per[[g]] <- list(k = fg$k, beta = num1(fg$beta), se = num1(fg$se), zval = num1(fg$zval),
                     pval = num1(fg$pval), ci_lb = num1(fg$ci.lb), ci_ub = num1(fg$ci.ub),
                     QE = num1(fg$QE), QEp = num1(fg$QEp))
    sg <- suppressWarnings(rma(yi, vi, data = bdf, subset = alloc == g, method = m, control = ctrl))
    sep[[g]] <- list(k = sg$k, beta = num1(sg$beta), se = num1(sg$se), pval = num1(sg$pval),
                     ci_lb = num1(sg$ci.lb), ci_ub = num1(sg$ci.ub), tau2 = num1(sg$tau2),
                     QE = num1(sg$QE), QEp = num1(sg$QEp), I2 = num1(sg$I2), H2 = num1(sg$H2))
  }
  cases[[length(cases) + 1]] <- list(
    name = paste("subgroups as regression bcg by alloc", m, "z", sep = "/"),
    note = paste("common tau^2 across subgroups = residual tau^2 of rma(yi, vi, mods = ~ factor(alloc)).",
                 "'regression' = that fit (QM = test of subgroup differences, common tau^2);",
                 "'cell_means' = rma(mods = ~ factor(alloc) - 1) (one coefficient per group, QM tests all zero);",
                 "'per_group_common_tau2' = rma(yi, vi, subset = alloc == g, tau2 = <regression tau2>) per group:",
                 "its beta/se equal the cell-means coefficients; its QE is the within-group Q (sum of the",
                 "within-group QE = regression QE); 'per_group_separate_tau2' = rma(subset = g, method = m),",
                 "each group with its own tau^2 (for contrast)."),
    data = bcg,
    settings = list(kind = "subgroups", formula = "~ factor(alloc)", by = "alloc", method = m, test = "z", level = 95,
                    control = if (length(ctrl)) ctrl else "metafor defaults"),
    results = list(regression = reg_results(reg), cell_means = reg_results(cm),
                   groups = I(lev), per_group_common_tau2 = per, per_group_separate_tau2 = sep))
}

# ----------------------------------------------------------------------------
# adversarial designs
# ----------------------------------------------------------------------------
adv_case <- function(name, db, formula, method, test, note) {
  c1 <- reg_case(name, db, formula, method, test, note = note, kind = "adversarial")
  df <- block_df(db)
  X <- model.matrix(as.formula(formula), data = df)
  sv <- svd(X)$d
  c1$results$design_singular_values <- arr(sv)
  c1$results$design_kappa <- if (ncol(X) <= nrow(X)) max(sv) / min(sv) else NA
  c1$results$design_rank <- qr(X)$rank
  c1
}
near <- bcg
near$mods$ablat2 <- arr(b$ablat + 1e-3 * (b$year - 1966))
near$source <- paste(bcg$source, "; ablat2 = ablat + 0.001 * (year - 1966) (nearly collinear with ablat)")
exact <- bcg
exact$mods$ablat2 <- arr(2 * b$ablat)
exact$mods$ablat3 <- arr(b$ablat + 10)
exact$source <- paste(bcg$source, "; ablat2 = 2 * ablat, ablat3 = ablat + 10 (exactly collinear)")
for (m in c("REML", "DL", "FE")) for (t in TESTS) {
  cases[[length(cases) + 1]] <- adv_case(paste("adversarial near-collinear bcg ~ ablat + ablat2", m, t, sep = "/"),
    near, "~ ablat + ablat2", m, t,
    "nearly collinear moderators: metafor fits them (no warning); coefficients are ill-conditioned, compare at a relative tolerance scaled by design_kappa (ratio of extreme singular values of the model matrix)")
  cases[[length(cases) + 1]] <- adv_case(paste("adversarial collinear bcg ~ ablat + ablat2", m, t, sep = "/"),
    exact, "~ ablat + ablat2", m, t,
    "exactly collinear: metafor drops the redundant column(s) (coef_dropped) with the warning recorded in results$warnings and fits the rest")
  cases[[length(cases) + 1]] <- adv_case(paste("adversarial collinear bcg ~ ablat + ablat3 + ablat2", m, t, sep = "/"),
    exact, "~ ablat + ablat3 + ablat2", m, t,
    "ablat3 = ablat + 10 is collinear with the intercept and ablat; ablat2 = 2 ablat: see which metafor drops")
  cases[[length(cases) + 1]] <- adv_case(paste("adversarial collinear bcg ~ factor(alloc) + ablat + ablat2", m, t, sep = "/"),
    exact, "~ factor(alloc) + ablat + ablat2", m, t, "categorical plus collinear continuous pair")
}
small <- data_block(paste(b$author, b$year)[1:3], bes$yi[1:3], bes$vi[1:3],
                    mods = list(ablat = b$ablat[1:3], year = b$year[1:3], alloc = b$alloc[1:3]),
                    measure = "RR", source = "dat.bcg trials 1-3; log RR")
for (fm in c("~ ablat + year", "~ ablat + year + I(ablat * year)"))
  for (m in c("REML", "DL", "FE"))
    cases[[length(cases) + 1]] <- adv_case(paste("adversarial k=3", fm, m, "z", sep = "/"), small, fm, m, "z",
      "as many or more coefficients than studies: metafor's error or behaviour is recorded")

# ----------------------------------------------------------------------------
out <- list(
  software = software(),
  settings = list(
    methods = I(METHODS), tests = I(TESTS),
    control_iterative = TIGHT,
    note = paste(
      "Each case: rma(yi, vi, mods = <formula>, data, method, test, control) with metafor 3.8.1.",
      "Iterative estimators (ML, REML, EB: Fisher scoring; PM: uniroot) use control = list(threshold = 1e-12,",
      "tol = 1e-12, maxiter = 10000); metafor's defaults give tau^2 to only ~1e-7 (PM ~1e-4).",
      "'FE' is metafor 3.8.1's common-effect (equal-effects) model. SJ is the one-step Sidik-Jonkman estimator",
      "(start from OLS residuals); EB is the empirical Bayes (Morris) estimator; HS Hunter-Schmidt.",
      "Coefficient names and the design matrix X are metafor's (treatment coding, factor levels in sorted order).",
      "test='knha': Knapp-Hartung: se scaled by sqrt(s2w) (not truncated at 1), t(k-p) tests/CI, QM is an F",
      "statistic with QMdf = [df1, df2]; test='z': QMdf = [df1, null], QM chi-square.",
      "QE is the residual heterogeneity Q on k-p df (weights 1/vi); I2/H2 are residual (metafor's generalised",
      "I2 = 100 tau2 / (tau2 + s2) with s2 = (k-p)/tr(P), P = W - W X (X'WX)^-1 X'W, W = diag(1/vi)); R2 =",
      "max(0, 100 (tau2_0 - tau2)/tau2_0) with tau2_0 from the intercept-only model fitted with the same method",
      "and control (results$tau2_intercept_only); R2 = 0 when tau2_0 is exactly 0. A Fisher-scoring residual",
      "tau2 of ~1e-14 instead of 0 gives R2 = 99.9999999998 rather than 100 (compare at 1e-6 absolute).",
      "For FE models metafor 3.8.1 reports R2 = max(0, 100 * adjusted R^2 of lm(yi ~ X, weights = 1/vi)).",
      "btt_test = anova(fit, btt = <1-based indices>): Wald test of that subset of coefficients",
      "(F with [df1, df2] under knha). predict = predict(fit, newmods = <matrix without intercept column>):",
      "pi = pred -/+ crit sqrt(se^2 + tau2), crit = qnorm(.975) (z) or qt(.975, k-p) (knha).",
      "fitstats: logLik/deviance/AIC/BIC/AICc from fit$fit.stats (ML column = full likelihood at the fitted",
      "tau2, REML column = restricted likelihood), whatever the estimator.",
      "Fisher-scoring estimates at the boundary come out as tiny positive numbers (< 1e-10), not exactly 0.")),
  cases = cases)
write_json_out(out, outfile)
