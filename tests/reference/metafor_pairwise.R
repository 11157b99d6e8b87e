#!/usr/bin/env Rscript
# metafor_pairwise.R -- reference values from R's metafor for metakit's pairwise engine.
#
# Writes metafor_pairwise.json beside this script.  For each data set (metadat) it
# records the inputs, escalc() effect sizes under several zero-cell corrections,
# rma.uni() fits for many (measure, tau^2 method, test) combinations with
# predictions and Q-profile confidence intervals, and (binary outcomes) rma.mh()
# and rma.peto().  Numbers are written so that they read back as the same IEEE
# double (shortest of %.15g/%.16g/%.17g that round-trips); NA/NaN -> null,
# +Inf/-Inf -> the strings "Inf"/"-Inf".
#
# usage:  Rscript tests/reference/metafor_pairwise.R
# needs:  r-base-core r-cran-metafor r-cran-metadat (Debian bookworm: R 4.2.2,
#         metafor 3.8.1, metadat 1.2.0)

args <- commandArgs(trailingOnly = FALSE)
script_path <- sub("^--file=", "", args[grep("^--file=", args)])
here <- if (length(script_path)) dirname(normalizePath(script_path)) else getwd()
outfile <- file.path(here, "metafor_pairwise.json")

suppressPackageStartupMessages({
  library(metafor)
  library(metadat)
})

# ----------------------------------------------------------------------------
# JSON writer (self-contained; rules in the header)
# ----------------------------------------------------------------------------
num_json <- function(x) {
  x <- as.double(x)
  out <- character(length(x))
  fin <- is.finite(x)
  if (any(fin)) {
    xf <- x[fin]
    s <- sprintf("%.15g", xf)
    for (fmt in c("%.16g", "%.17g")) {
      bad <- as.double(s) != xf
      if (any(bad)) s[bad] <- sprintf(fmt, xf[bad])
    }
    stopifnot(all(as.double(s) == xf))
    out[fin] <- s
  }
  out[is.na(x)] <- "null"
  out[!is.na(x) & is.infinite(x) & x > 0] <- "\"Inf\""
  out[!is.na(x) & is.infinite(x) & x < 0] <- "\"-Inf\""
  out
}

str_json <- function(x) {
  out <- vapply(as.character(x), function(s) {
    s <- enc2utf8(s)
    for (p in list(c("\\", "\\\\"), c("\"", "\\\""), c("\n", "\\n"), c("\t", "\\t")))
      s <- gsub(p[1], p[2], s, fixed = TRUE)
    paste0("\"", s, "\"")
  }, character(1), USE.NAMES = FALSE)
  out[is.na(x)] <- "null"
  out
}

atom_json <- function(x) {
  if (is.factor(x)) x <- as.character(x)
  if (is.logical(x)) {
    out <- ifelse(x, "true", "false"); out[is.na(x)] <- "null"; return(out)
  }
  if (is.numeric(x)) return(num_json(x))
  str_json(x)
}

# Atomic vectors of length 1 become scalars unless wrapped in I(); named lists
# become objects, unnamed lists arrays.
to_json <- function(x, lvl = 0) {
  ind <- function(n) strrep(" ", n)
  if (is.null(x)) return("null")
  if (is.list(x)) {
    x <- unclass(x)
    nm <- names(x)
    if (length(x) == 0) return(if (is.null(nm)) "[]" else "{}")
    if (!is.null(nm)) {
      items <- vapply(seq_along(x), function(i)
        paste0(ind(lvl + 1), str_json(nm[i]), ": ", to_json(x[[i]], lvl + 1)), character(1))
      return(paste0("{\n", paste(items, collapse = ",\n"), "\n", ind(lvl), "}"))
    }
    items <- vapply(seq_along(x), function(i)
      paste0(ind(lvl + 1), to_json(x[[i]], lvl + 1)), character(1))
    return(paste0("[\n", paste(items, collapse = ",\n"), "\n", ind(lvl), "]"))
  }
  asis <- inherits(x, "AsIs")
  vals <- atom_json(unclass(as.vector(x)))
  if (length(vals) == 1 && !asis) return(vals)
  paste0("[", paste(vals, collapse = ", "), "]")
}

arr <- function(x) I(unname(as.vector(x)))
num1 <- function(x) if (is.null(x) || length(x) == 0) NA_real_ else as.double(x)[1]

# ----------------------------------------------------------------------------
# settings
# ----------------------------------------------------------------------------
# Tight convergence: Fisher scoring (ML, REML, EB) stops when |change in tau^2| <
# threshold; PM/PMM use uniroot() with absolute tolerance tol.  metafor's defaults
# (threshold = 1e-5, tol = .Machine$double.eps^0.25 ~ 1.2e-4) are too loose for 1e-10.
# Fisher scoring stops on an absolute change, so 1e-14 is tried first (needed for tau2 ~ 1e-3,
# where it converges slowly); where tau2 is so large that 1e-14 is below its rounding error
# (e.g. normand1999 MD, tau2 ~ 700) the fit falls back to 1e-12.  The control used is recorded.
TIGHT <- list(threshold = 1e-14, tol = 1e-14, maxiter = 10000)
TIGHT_FALLBACK <- list(threshold = 1e-12, tol = 1e-12, maxiter = 10000)
CI_TIGHT <- list(tol = 1e-12, maxiter = 1000)   # confint.rma.uni: uniroot tol/maxiter
METHODS <- c("FE", "DL", "HE", "HS", "HSk", "SJ", "ML", "REML", "EB", "PM", "PMM")
KNHA_METHODS <- c("DL", "REML", "PM", "FE")
ADHOC_METHODS <- c("DL", "REML")
ITERATIVE <- c("ML", "REML", "EB", "PM", "PMM")

# Evaluate expr, collecting warnings (muffled) and turning errors into a value.
capture <- function(expr) {
  warns <- character(0)
  val <- withCallingHandlers(
    tryCatch(expr, error = function(e) structure(list(msg = conditionMessage(e)), class = "err")),
    warning = function(w) {
      warns <<- c(warns, conditionMessage(w)); invokeRestart("muffleWarning")
    })
  list(value = val, warnings = warns, error = inherits(val, "err"))
}

# ----------------------------------------------------------------------------
# extractors
# ----------------------------------------------------------------------------
confint_summary <- function(fit) {
  if (fit$method %in% c("FE", "EE", "CE")) return(list(value = NULL, warnings = character(0)))
  r <- capture(confint(fit, control = CI_TIGHT))
  if (r$error) return(list(value = NULL, warnings = c(r$warnings, r$value$msg)))
  ran <- r$value$random
  list(value = list(tau2 = arr(ran["tau^2", ]), tau = arr(ran["tau", ]),
                    I2 = arr(ran["I^2(%)", ]), H2 = arr(ran["H^2", ])),
       warnings = r$warnings)
}

fit_entry <- function(measure, method, test, yi, vi) {
  ctrl <- if (method %in% ITERATIVE) TIGHT else list()
  r <- capture(rma.uni(yi, vi, method = method, test = test, control = ctrl))
  if (r$error && method %in% ITERATIVE) {
    ctrl <- TIGHT_FALLBACK
    r <- capture(rma.uni(yi, vi, method = method, test = test, control = ctrl))
  }
  head <- list(measure = measure, method = method, test = test,
               control = if (length(ctrl)) ctrl else "metafor defaults")
  if (r$error) return(c(head, list(error = r$value$msg, warnings = I(r$warnings))))
  fit <- r$value
  pr <- predict(fit)
  se_pi <- sqrt(num1(pr$se)^2 + fit$tau2)
  ci <- confint_summary(fit)
  out <- c(head, list(
    method_metafor = fit$method,
    beta = num1(fit$beta), se = num1(fit$se), zval = num1(fit$zval), pval = num1(fit$pval),
    ci_lb = num1(fit$ci.lb), ci_ub = num1(fit$ci.ub),
    tau2 = fit$tau2, tau = sqrt(fit$tau2), se_tau2 = num1(fit$se.tau2),
    QE = fit$QE, QEp = fit$QEp, QEdf = fit$k - fit$p, k = fit$k,
    I2 = num1(fit$I2), H2 = num1(fit$H2),
    s2w = num1(fit$s2w), ddf = if (test == "z") NULL else num1(fit$ddf),
    pred = list(pred = num1(pr$pred), se = num1(pr$se), se_pi = se_pi,
                ci_lb = num1(pr$ci.lb), ci_ub = num1(pr$ci.ub),
                pi_lb = num1(pr$pi.lb), pi_ub = num1(pr$pi.ub)),
    confint = ci$value,
    weights_percent = arr(weights(fit))))
  w <- c(r$warnings, ci$warnings)
  if (length(w)) out$warnings <- I(w)
  out
}

fits_for <- function(measure, yi, vi, methods = METHODS, knha = KNHA_METHODS,
                     adhoc = ADHOC_METHODS) {
  out <- list()
  for (m in methods) out[[length(out) + 1]] <- fit_entry(measure, m, "z", yi, vi)
  for (m in intersect(knha, methods)) out[[length(out) + 1]] <- fit_entry(measure, m, "knha", yi, vi)
  for (m in intersect(adhoc, methods)) out[[length(out) + 1]] <- fit_entry(measure, m, "adhoc", yi, vi)
  out
}

es_pair <- function(es) list(yi = arr(es$yi), vi = arr(es$vi))

mh_entry <- function(fun, ...) {
  r <- capture(fun(...))
  if (r$error) return(list(error = r$value$msg, warnings = I(r$warnings)))
  f <- r$value
  out <- list(measure = f$measure,
              beta = num1(f$beta), se = num1(f$se), zval = num1(f$zval), pval = num1(f$pval),
              ci_lb = num1(f$ci.lb), ci_ub = num1(f$ci.ub),
              QE = num1(f$QE), QEp = num1(f$QEp), QEdf = f$k.yi - 1,
              I2 = num1(f$I2), H2 = num1(f$H2), tau2 = num1(f$tau2), k = f$k, k_yi = f$k.yi)
  for (nm in c("CO", "COp", "MH", "MHp", "BD", "BDp", "TA", "TAp"))
    if (!is.null(f[[nm]])) out[[nm]] <- num1(f[[nm]])
  if (length(r$warnings)) out$warnings <- I(r$warnings)
  out
}

# ----------------------------------------------------------------------------
# data sets
# ----------------------------------------------------------------------------
BIN_MEASURES <- c("OR", "RR", "RD", "PETO", "AS")

binary_dataset <- function(study, ai, n1i, ci, n2i, note) {
  esc <- list()
  for (ms in BIN_MEASURES) {
    esc[[ms]] <- es_pair(escalc(ms, ai = ai, n1i = n1i, ci = ci, n2i = n2i))
    esc[[paste0(ms, "_all")]] <- es_pair(escalc(ms, ai = ai, n1i = n1i, ci = ci, n2i = n2i, to = "all"))
    esc[[paste0(ms, "_if0all")]] <- es_pair(escalc(ms, ai = ai, n1i = n1i, ci = ci, n2i = n2i, to = "if0all"))
    esc[[paste0(ms, "_none")]] <- es_pair(suppressWarnings(
      escalc(ms, ai = ai, n1i = n1i, ci = ci, n2i = n2i, to = "none")))
  }
  fits <- list()
  for (ms in c("OR", "RR", "RD"))
    fits <- c(fits, fits_for(ms, esc[[ms]]$yi, esc[[ms]]$vi))
  for (ms in c("PETO", "AS"))
    fits <- c(fits, fits_for(ms, esc[[ms]]$yi, esc[[ms]]$vi, methods = c("DL", "REML")))
  list(kind = "binary", note = note, study = I(as.character(study)),
       ai = arr(ai), n1i = arr(n1i), ci = arr(ci), n2i = arr(n2i),
       escalc = esc, fits = fits,
       mh = list(OR = mh_entry(rma.mh, ai = ai, n1i = n1i, ci = ci, n2i = n2i, measure = "OR"),
                 RR = mh_entry(rma.mh, ai = ai, n1i = n1i, ci = ci, n2i = n2i, measure = "RR"),
                 RD = mh_entry(rma.mh, ai = ai, n1i = n1i, ci = ci, n2i = n2i, measure = "RD")),
       peto = mh_entry(rma.peto, ai = ai, n1i = n1i, ci = ci, n2i = n2i))
}

continuous_dataset <- function(study, m1i, sd1i, n1i, m2i, sd2i, n2i, note) {
  e <- function(ms, ...) es_pair(escalc(ms, m1i = m1i, sd1i = sd1i, n1i = n1i,
                                        m2i = m2i, sd2i = sd2i, n2i = n2i, ...))
  esc <- list(MD = e("MD"), MD_HO = e("MD", vtype = "HO"),
              SMD = e("SMD"), SMD_UB = e("SMD", vtype = "UB"),
              SMD_LS2 = e("SMD", vtype = "LS2"), SMD_AV = e("SMD", vtype = "AV"),
              ROM = e("ROM"))
  # Cohen's d by hand (no small-sample correction):
  #   s_pooled = sqrt(((n1-1) sd1^2 + (n2-1) sd2^2) / (n1 + n2 - 2))
  #   d        = (m1 - m2) / s_pooled
  #   var(d)   = 1/n1 + 1/n2 + d^2 / (2 (n1 + n2))       (large-sample "LS" variance)
  sp <- sqrt(((n1i - 1) * sd1i^2 + (n2i - 1) * sd2i^2) / (n1i + n2i - 2))
  d <- (m1i - m2i) / sp
  esc$SMD_cohen <- list(yi = arr(d), vi = arr(1 / n1i + 1 / n2i + d^2 / (2 * (n1i + n2i))))
  fits <- list()
  for (ms in c("MD", "SMD", "ROM")) fits <- c(fits, fits_for(ms, esc[[ms]]$yi, esc[[ms]]$vi))
  list(kind = "continuous", note = note, study = I(as.character(study)),
       m1i = arr(m1i), sd1i = arr(sd1i), n1i = arr(n1i),
       m2i = arr(m2i), sd2i = arr(sd2i), n2i = arr(n2i),
       escalc = esc, fits = fits)
}

generic_dataset <- function(study, yi, vi, note, extra = list()) {
  c(list(kind = "generic", note = note, study = I(as.character(study)),
         yi = arr(yi), vi = arr(vi)), extra,
    list(escalc = list(), fits = fits_for("GEN", yi, vi)))
}

datasets <- list()

b <- dat.bcg
datasets$bcg <- binary_dataset(paste(b$author, b$year), b$tpos, b$tpos + b$tneg,
  b$cpos, b$cpos + b$cneg,
  "dat.bcg: ai=tpos, n1i=tpos+tneg (BCG vaccinated), ci=cpos, n2i=cpos+cneg (control); outcome = TB positive")

h <- dat.hine1989
datasets$hine1989 <- binary_dataset(h$source, h$ai, h$n1i, h$ci, h$n2i,
  "dat.hine1989: deaths with prophylactic lidocaine (ai/n1i) vs control (ci/n2i) after myocardial infarction")

l <- dat.laopaiboon2015
datasets$laopaiboon2015 <- binary_dataset(paste(l$author, l$year), l$ai, l$n1i, l$ci, l$n2i,
  "dat.laopaiboon2015: clinical treatment failure with azithromycin (ai/n1i) vs amoxycillin/amoxyclav (ci/n2i); has one zero cell (Whitlock 1995, ai=0)")

dm <- dat.damico2009
datasets$damico2009 <- binary_dataset(paste(dm$study, dm$year), dm$xt, dm$nt, dm$xc, dm$nc,
  "dat.damico2009: respiratory tract infections with topical+systemic antibiotic prophylaxis (ai=xt/n1i=nt) vs control (ci=xc/n2i=nc); one zero cell (Jacobs 1992, ai=0); no double-zero study")

dg <- dat.dagostino1998[dat.dagostino1998$outcome == "sngoal2" & !is.na(dat.dagostino1998$xt), ]
datasets$dagostino1998 <- binary_dataset(paste0("study ", dg$study, " (", dg$drug, ")"),
  dg$xt, dg$nt, dg$xc, dg$nc,
  paste("dat.dagostino1998, outcome 'sngoal2' only (sneezing goal reached at day 2; rows with xt not NA):",
        "ai=xt, n1i=nt (antihistamine), ci=xc, n2i=nc (placebo); study label = 'study <id> (<drug>)';",
        "two studies have all patients with the event in the treatment arm (bi = n1i - ai = 0);",
        "no double-zero study"))

nd <- dat.normand1999
datasets$normand1999 <- continuous_dataset(nd$source, nd$m1i, nd$sd1i, nd$n1i,
  nd$m2i, nd$sd2i, nd$n2i,
  paste("dat.normand1999: length of hospital stay (days), specialist stroke care (group 1) vs routine care (group 2);",
        "escalc keys: MD (vtype LS: sd1^2/n1 + sd2^2/n2), MD_HO (pooled-variance), SMD (Hedges' g, exact",
        "gamma-function correction, vtype LS: 1/n1+1/n2+g^2/(2(n1+n2))), SMD_UB, SMD_LS2, SMD_AV, ROM (log ratio",
        "of means), SMD_cohen (hand-computed Cohen's d, no correction, LS variance with d)"))

ko <- dat.konstantopoulos2011
datasets$konstantopoulos2011 <- generic_dataset(ko$study, as.vector(ko$yi), as.vector(ko$vi),
  paste("dat.konstantopoulos2011: standardized mean differences yi with variances vi as given (56 schools",
        "in 11 districts; analysed here as independent studies); study label = the 'study' id column"),
  extra = list(district = arr(ko$district), school = arr(ko$school)))

mo <- dat.molloy2014
mo_es <- escalc("ZCOR", ri = mo$ri, ni = mo$ni)
datasets$molloy2014 <- generic_dataset(paste(mo$authors, mo$year), as.vector(mo_es$yi),
  as.vector(mo_es$vi),
  paste("dat.molloy2014: correlation between conscientiousness and medication adherence;",
        "yi/vi = escalc('ZCOR', ri, ni): yi = atanh(ri), vi = 1/(ni-3)"),
  extra = list(ri = arr(mo$ri), ni = arr(mo$ni)))

# ----------------------------------------------------------------------------
# k = 1: the first bcg trial alone, log RR, DL
# ----------------------------------------------------------------------------
bcg_rr <- escalc("RR", ai = b$tpos, n1i = b$tpos + b$tneg, ci = b$cpos, n2i = b$cpos + b$cneg)
k1_case <- function(test) {
  r <- capture(rma.uni(bcg_rr$yi[1], bcg_rr$vi[1], method = "DL", test = test))
  if (r$error) return(list(test = test, error = r$value$msg, warnings = I(r$warnings)))
  f <- r$value
  pr <- predict(f)
  list(test = test, method_metafor = f$method, k = f$k,
       beta = num1(f$beta), se = num1(f$se), zval = num1(f$zval), pval = num1(f$pval),
       ci_lb = num1(f$ci.lb), ci_ub = num1(f$ci.ub), tau2 = f$tau2, se_tau2 = num1(f$se.tau2),
       QE = num1(f$QE), QEp = num1(f$QEp), I2 = num1(f$I2), H2 = num1(f$H2),
       pred = list(pred = num1(pr$pred), se = num1(pr$se), pi_lb = num1(pr$pi.lb),
                   pi_ub = num1(pr$pi.ub)),
       warnings = I(r$warnings))
}
k1 <- list(note = "rma.uni(yi, vi, method='DL') on dat.bcg trial 1 only (Aronson 1948), log RR",
           study = "Aronson 1948", yi = bcg_rr$yi[1], vi = bcg_rr$vi[1],
           z = k1_case("z"), knha = k1_case("knha"))

# ----------------------------------------------------------------------------
# convergence checks (recorded in settings)
# ----------------------------------------------------------------------------
# Distance of the reported tau2 from the exact root, estimated by one Newton step on the
# estimating equation (intercept-only model, w = 1/(vi + tau2), r = y - weighted mean):
#   ML:    score = (sum w^2 r^2 - sum w)/2,   information = sum w^2 / 2
#   REML:  score = (sum w^2 r^2 - tr P)/2,    information = tr(PP)/2,
#          P = W - w w'/sum w, tr P = sum w - sum w^2/sum w,
#          tr PP = sum w^2 - 2 sum w^3/sum w + (sum w^2/sum w)^2
#   PM/EB: f = sum w r^2 - (k-1),             f' = -sum w^2 r^2
#   PMM:   f = sum w r^2 - qchisq(0.5, k-1),  f' = -sum w^2 r^2
newton_err <- function(method, yi, vi, tau2) {
  if (is.na(tau2) || tau2 < 1e-10) return(NA_real_)
  k <- length(yi)
  w <- 1 / (vi + tau2)
  r <- yi - sum(w * yi) / sum(w)
  sw <- sum(w); sw2 <- sum(w^2); sw3 <- sum(w^3)
  switch(method,
    ML = ((sum(w^2 * r^2) - sw) / 2) / (sw2 / 2),
    REML = ((sum(w^2 * r^2) - (sw - sw2 / sw)) / 2) / ((sw2 - 2 * sw3 / sw + (sw2 / sw)^2) / 2),
    PM = , EB = (sum(w * r^2) - (k - 1)) / sum(w^2 * r^2),
    PMM = (sum(w * r^2) - qchisq(0.5, k - 1)) / sum(w^2 * r^2))
}
checks <- list()
for (dn in names(datasets)) {
  d <- datasets[[dn]]
  for (f in d$fits) {
    if (!(f$method %in% ITERATIVE) || f$test != "z" || !is.null(f$error)) next
    yi <- if (d$kind == "generic") as.vector(d$yi) else as.vector(d$escalc[[f$measure]]$yi)
    vi <- if (d$kind == "generic") as.vector(d$vi) else as.vector(d$escalc[[f$measure]]$vi)
    ok <- !is.na(yi) & !is.na(vi)
    t_def <- tryCatch(suppressWarnings(rma.uni(yi, vi, method = f$method)$tau2),
                      error = function(e) NA_real_)
    checks[[length(checks) + 1]] <- list(
      dataset = dn, measure = f$measure, method = f$method, tau2 = f$tau2,
      threshold_used = f$control$threshold,
      tau2_default_minus_reported = t_def - f$tau2,
      newton_step_to_root = newton_err(f$method, yi[ok], vi[ok], f$tau2))
  }
}

# bit-exactness probe: a few values with their C99 hex representation (sprintf("%a"))
probe_vals <- c(datasets$bcg$escalc$RR$yi[1:3], datasets$normand1999$escalc$SMD$vi[1:2], 1 / 3, pi)
probe <- list(values = arr(probe_vals), hex = I(sprintf("%a", probe_vals)))

# ----------------------------------------------------------------------------
# output
# ----------------------------------------------------------------------------
pkgver <- function(p) as.character(packageVersion(p))
out <- list(
  software = list(R = R.version.string, metafor = pkgver("metafor"), metadat = pkgver("metadat"),
                  platform = R.version$platform),
  settings = list(
    note = paste(
      "rma.uni(yi, vi, method=<m>, test=<t>, control=...) on the default escalc yi/vi of each measure.",
      "Iterative estimators (ML, REML, EB: Fisher scoring; PM, PMM: uniroot) use",
      "control=list(threshold=1e-14, tol=1e-14, maxiter=10000), falling back to threshold=tol=1e-12 if that",
      "fails to converge (each fit records its 'control'); other estimators use metafor defaults.",
      "SJ in metafor 3.8.1 is the non-iterative one-step Sidik-Jonkman estimator (start: var(yi)*(k-1)/k).",
      "EB in metafor 3.8.1 solves the same equation as PM (generalised Q = k-1), by Fisher scoring.",
      "confint = confint(fit, control=list(tol=1e-12, maxiter=1000)): Q-profile CI for tau2 and the",
      "corresponding tau, I2 (percent) and H2 rows as [estimate, lb, ub]; null for FE (or on error, with the",
      "message in 'warnings'). The estimate column is the fit's own tau2, the bounds do not depend on the method.",
      "metafor's I2/H2 use the fit's tau2: I2 = 100 tau2/(tau2+s2), H2 = (tau2+s2)/s2 with",
      "s2 = (k-1) sum(w)/((sum w)^2 - sum(w^2)), w = 1/vi (so they depend on the method).",
      "test='knha': se scaled by sqrt(s2w), s2w = sum(w*(y-beta)^2)/(k-1), w=1/(vi+tau2), NOT truncated at 1;",
      "t(k-1) for CI and p. test='adhoc' (metafor 3.8.1 has it): same with s2w truncated below at 1.",
      "metafor warns that knha/adhoc is not meant for FE models; the FE knha fits are still reported.",
      "pred = predict(fit): pi = pred +/- crit*se_pi, se_pi = sqrt(se^2 + tau2), crit = qnorm(.975) for",
      "test='z' and qt(.975, k-1) for knha/adhoc. weights_percent = weights(fit).",
      "FE: metafor 3.8.1 method 'FE' (equal-effects). HSk: Hunter-Schmidt with k/(k-1) correction.",
      "GENQ not included (with weights 1/vi it is DL). Binary measures PETO and AS are fitted with DL",
      "and REML only. escalc binary defaults in metafor 3.8.1: add=1/2, to='only0', drop00=FALSE",
      "(for every measure); keys <M>_all, <M>_if0all, <M>_none use to='all'/'if0all'/'none'",
      "(metafor 3.8.1 adds 'add' to all four cells of the selected studies before computing OR, RR, RD and",
      "PETO yi and vi; for AS the default add is 0, so AS_all/AS_if0all/AS_none equal AS).",
      "mh = rma.mh(ai,n1i,ci,n2i, measure) with metafor defaults (add=1/2, to='only0', drop00=TRUE for the",
      "per-study yi/vi behind QE; correct=TRUE for the CMH test CO; MH = CMH without continuity correction;",
      "BD = Breslow-Day, TA = Tarone; beta/ci on the log scale for OR/RR). peto = rma.peto defaults.",
      "With to='none' metafor returns NA (JSON null) for yi/vi that would be infinite or undefined.",
      "Where the ML/REML/EB optimum is at tau2 = 0, metafor's Fisher scoring approaches 0 by step-halving and",
      "stops at a tiny positive tau2 (of the order of the threshold); treat |tau2| < 1e-10 as 0.",
      "k1: metafor 3.8.1 with k=1 fits tau2 = 0 and switches test='knha' to 'z' (warning recorded).",
      "checks: for each z-test fit of ML/REML/EB/PM/PMM: tau2 at metafor's default convergence settings",
      "minus the reported tau2, and newton_step_to_root = one Newton step on the estimator's own",
      "estimating equation evaluated at the reported tau2 (an estimate of its remaining error; null",
      "where tau2 < 1e-10)."),
    control_iterative = TIGHT, control_iterative_fallback = TIGHT_FALLBACK,
    control_confint = list(tol = 1e-12, maxiter = 1000),
    checks = checks,
    roundtrip_check = probe),
  datasets = datasets,
  k1 = k1)

txt <- to_json(out)
con <- file(outfile, open = "w", encoding = "UTF-8")
writeLines(txt, con, useBytes = TRUE)
close(con)
message("wrote ", outfile)
