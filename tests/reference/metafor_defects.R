#!/usr/bin/env Rscript
# metafor_defects.R -- reference values from R's metafor for the numeric defects of
# issue 8:
#   (a) ML/REML whose (restricted) likelihood has a local maximum at tau^2 = 0 and the
#       global maximum inside (and the reverse: an interior local maximum below the
#       boundary), verified on a fine grid of the likelihood computed here;
#   (b) Mantel-Haenszel / Peto with a double-zero table: k vs k_yi, QE on k_yi - 1 df,
#       the Cochran-Mantel-Haenszel, Breslow-Day and Tarone tests (and on dat.bcg);
#   (c) se(tau^2) for ML/REML (and what metafor gives for the other estimators).
#
# Writes metafor_defects.json beside this script: {"software", "settings", "cases"}.
# usage:  Rscript tests/reference/metafor_defects.R   (from the repository root)

here <- (function() {
  args <- commandArgs(trailingOnly = FALSE)
  p <- sub("^--file=", "", args[grep("^--file=", args)])
  if (length(p)) dirname(normalizePath(p)) else getwd()
})()
source(file.path(here, "refjson.R"))
outfile <- file.path(here, "metafor_defects.json")

cases <- list()
push <- function(x) cases[[length(cases) + 1]] <<- x

# ----------------------------------------------------------------------------
# (a) likelihood with a boundary local maximum
# ----------------------------------------------------------------------------
# Log-likelihood as metafor 3.8.1 defines it (fit.stats), for a design X:
#   ML:   -1/2 [k log(2 pi) + sum log(vi + tau2) + RSS]
#   REML: -1/2 [(k - p) log(2 pi) - log|X'X| + sum log(vi + tau2) + log|X'WX| + RSS]
#   W = diag(1/(vi + tau2)), RSS = sum w (y - X b)^2 at the WLS b.
#   (metafor's REMLf = TRUE default keeps the +1/2 log|X'X| term.)
llfun <- function(yi, vi, tau2, method, X = cbind(rep(1, length(yi)))) {
  k <- length(yi); p <- ncol(X)
  vapply(tau2, function(t) {
    w <- 1 / (vi + t)
    XtWX <- crossprod(X, w * X)
    b <- solve(XtWX, crossprod(X, w * yi))
    rss <- sum(w * (yi - X %*% b)^2)
    if (method == "ML") -0.5 * (k * log(2 * pi) + sum(log(vi + t)) + rss)
    else -0.5 * ((k - p) * log(2 * pi) - c(determinant(crossprod(X))$modulus) +
                 sum(log(vi + t)) + c(determinant(XtWX)$modulus) + rss)
  }, 0)
}
# Score d ll / d tau2 (analytic): ML 1/2 [sum w^2 e^2 - sum w]; REML 1/2 [y'PPy - tr P],
# P = W - W X (X'WX)^-1 X'W, e = y - X b.
scorefun <- function(yi, vi, tau2, method, X = cbind(rep(1, length(yi)))) {
  w <- 1 / (vi + tau2)
  W <- diag(w, length(w))
  XtWX <- crossprod(X, w * X)
  P <- W - W %*% X %*% solve(XtWX) %*% t(X) %*% W
  if (method == "ML") {
    b <- solve(XtWX, crossprod(X, w * yi)); e <- c(yi - X %*% b)
    0.5 * (sum(w^2 * e^2) - sum(w))
  } else {
    Py <- P %*% yi
    0.5 * (sum(Py^2) - sum(diag(P)))
  }
}

# every interior local maximum on the grid, refined with optimize()
local_maxima <- function(yi, vi, method, grid, ll) {
  n <- length(ll)
  idx <- which(ll[2:(n - 1)] > ll[1:(n - 2)] & ll[2:(n - 1)] >= ll[3:n]) + 1
  lapply(idx, function(i) {
    o <- optimize(function(t) llfun(yi, vi, t, method), c(grid[i - 1], grid[i + 1]),
                  maximum = TRUE, tol = 1e-12)
    list(tau2 = o$maximum, logLik = o$objective, grid_tau2 = grid[i], grid_logLik = ll[i])
  })
}

boundary_case <- function(name, yi, vi, note) {
  study <- paste("study", seq_along(yi))
  grid_step <- 1e-3; grid_max <- 40
  grid <- seq(0, grid_max, by = grid_step)
  prof_tau2 <- c(0, 0.01, 0.1, 0.25, 0.5, 1, 1.5, 2, 3, 4, 5, 7.5, 10, 15, 20)
  per <- list()
  for (m in c("REML", "ML")) {
    r <- capture(rma(yi, vi, method = m, control = TIGHT))
    fit <- r$value
    fit0 <- rma(yi, vi, method = m, tau2 = 0)
    ll <- llfun(yi, vi, grid, m)
    im <- which.max(ll)
    lm <- local_maxima(yi, vi, m, grid, ll)
    glob <- if (ll[1] >= max(vapply(lm, function(z) z$logLik, 0), -Inf)) list(tau2 = 0, logLik = ll[1])
            else lm[[which.max(vapply(lm, function(z) z$logLik, 0))]][c("tau2", "logLik")]
    prof <- vapply(prof_tau2, function(t) c(logLik(rma(yi, vi, method = m, tau2 = t))), 0)
    per[[m]] <- list(
      tau2 = fit$tau2, beta = num1(fit$beta), se = num1(fit$se), zval = num1(fit$zval),
      pval = num1(fit$pval), ci_lb = num1(fit$ci.lb), ci_ub = num1(fit$ci.ub),
      se_tau2 = num1(fit$se.tau2), QE = fit$QE, QEp = fit$QEp, I2 = fit$I2, H2 = fit$H2,
      logLik = c(logLik(fit)), logLik_at_0 = c(logLik(fit0)),
      beta_at_0 = num1(fit0$beta), se_at_0 = num1(fit0$se),
      score_at_0 = scorefun(yi, vi, 0, m),
      score_at_estimate = scorefun(yi, vi, fit$tau2, m),
      warnings = I(r$warnings),
      check = list(
        logLik_formula_at_estimate = llfun(yi, vi, fit$tau2, m),
        grid = list(from = 0, to = grid_max, step = grid_step,
                    argmax = grid[im], max_logLik = ll[im], logLik_at_0 = ll[1]),
        interior_local_maxima = lm,
        global_maximiser = glob,
        metafor_is_global = isTRUE(abs(fit$tau2 - glob$tau2) < 1e-6)),
      profile = list(tau2 = arr(prof_tau2), logLik = arr(prof)))
  }
  list(name = name, note = note,
       data = list(study = I(study), yi = arr(yi), vi = arr(vi)),
       settings = list(kind = "likelihood", methods = I(c("REML", "ML")), test = "z", control = TIGHT,
                       formula = "~ 1"),
       results = per)
}

lik_note <- paste(
  "rma(yi, vi, method = m, control = list(threshold = 1e-12, tol = 1e-12, maxiter = 10000)).",
  "logLik = logLik(fit) (REML: restricted log-likelihood incl. metafor's +1/2 log|X'X| term; ML: full);",
  "logLik_at_0, beta_at_0, se_at_0 from rma(yi, vi, method = m, tau2 = 0). score_at_0 = analytic",
  "d logLik / d tau2 at 0 (<= 0: tau2 = 0 is a local maximum on [0, inf)). check: the log-likelihood",
  "formula (see the script) on the grid 0..40 step 1e-3; every interior local maximum refined with",
  "optimize(tol = 1e-12); global_maximiser = the higher of those and tau2 = 0. metafor 3.8.1's Fisher",
  "scoring compares the end point with tau2 = 0 and sets tau2 = 0 (warning 'Fisher scoring algorithm",
  "may have gotten stuck at a local maximum. Setting tau^2 = 0.') when 0 is higher; metafor_is_global",
  "tells whether its tau2 matches the global maximiser (to 1e-6). profile = logLik of rma(tau2 = fixed).")

push(boundary_case("two clusters (issue 8 reproduction)",
  c(0, 0.02, -3, -4.5, -2, -3.5), c(0.01, 0.01, 2, 2, 2, 2),
  paste("Issue 8 defect 1: two precise studies near 0, four imprecise ones near -3.",
        "REML and ML: score at 0 negative (local maximum at 0) and the global maximum inside.", lik_note)))
push(boundary_case("three precise + four imprecise (REML interior, ML at 0)",
  c(0, 0.01, -0.01, -4, -5, -3.5, -4.5), c(0.005, 0.005, 0.005, 3, 3, 3, 3),
  paste("REML: local maximum at 0 and a higher interior maximum (tau2 ~ 4.08): the answer is interior.",
        "ML: an interior local maximum exists but is LOWER than the boundary: the answer is 0",
        "(metafor warns and sets 0).", lik_note)))
push(boundary_case("two precise + three imprecise far away (ML boundary local max)",
  c(0.1, -0.1, 6, 7, 5.5), c(0.02, 0.02, 4, 4, 4),
  paste("ML: score at 0 negative, global maximum inside (tau2 ~ 8.06). REML: score at 0 positive,",
        "single interior maximum (tau2 ~ 10.55).", lik_note)))
push(boundary_case("two precise + six imprecise (ML boundary local max)",
  c(0, 0.05, 3.2, 2.5, 4.1, 3.6, 2.9, 3.8), c(0.01, 0.02, 1.5, 1.5, 2, 2, 1.5, 2),
  paste("ML: score at 0 negative, global maximum inside (tau2 ~ 2.19); REML score at 0 positive", lik_note)))
push(boundary_case("three precise + three imprecise (interior local max below boundary, both)",
  c(0, 0, 0.03, -5, -4, -3), c(0.01, 0.01, 0.01, 2.5, 2.5, 2.5),
  paste("REML and ML: an interior local maximum (if listed in interior_local_maxima) lower than the",
        "boundary: the answer is tau2 = 0 for both (metafor warns and sets 0).", lik_note)))

# ----------------------------------------------------------------------------
# (b) Mantel-Haenszel and Peto with a double-zero table; CMH, BD, Tarone
# ----------------------------------------------------------------------------
mh_results <- function(f) {
  list(beta = num1(f$beta), se = num1(f$se), zval = num1(f$zval), pval = num1(f$pval),
       ci_lb = num1(f$ci.lb), ci_ub = num1(f$ci.ub),
       QE = num1(f$QE), QEp = num1(f$QEp), QEdf = f$k.yi - 1, I2 = num1(f$I2), H2 = num1(f$H2),
       k = f$k, k_yi = f$k.yi, k_pos = num1(f$k.pos),
       yi = arr(f$yi.f), vi = arr(f$vi.f),
       CO = num1(f$CO), COp = num1(f$COp), MH = num1(f$MH), MHp = num1(f$MHp),
       BD = num1(f$BD), BDp = num1(f$BDp), TA = num1(f$TA), TAp = num1(f$TAp))
}
mh_case <- function(name, study, ai, n1i, ci, n2i, fun, measure, drop00, correct, note) {
  r <- if (fun == "rma.mh")
         capture(rma.mh(ai = ai, n1i = n1i, ci = ci, n2i = n2i, measure = measure,
                        drop00 = drop00, correct = correct))
       else capture(rma.peto(ai = ai, n1i = n1i, ci = ci, n2i = n2i, drop00 = drop00))
  res <- if (r$error) list(error = r$value$msg) else mh_results(r$value)
  res$warnings <- I(r$warnings)
  list(name = name, note = note,
       data = list(study = I(study), ai = arr(ai), n1i = arr(n1i), ci = arr(ci), n2i = arr(n2i)),
       settings = list(kind = "mh", fun = fun, measure = measure, drop00 = drop00,
                       correct = if (fun == "rma.mh") correct else NULL,
                       add = 0.5, to = "only0", level = 95),
       results = res)
}
mh_note <- paste(
  "rma.mh(ai, n1i, ci, n2i, measure, drop00, correct) / rma.peto(ai, n1i, ci, n2i, drop00), other",
  "arguments at metafor 3.8.1 defaults (add = 1/2, to = 'only0' for the per-table yi/vi behind QE;",
  "the MH/Peto estimate itself uses the raw counts). beta/ci on the log scale for OR/RR/Peto.",
  "k counts every table; QE, I2, H2 use the k_yi tables whose yi is defined (yi/vi here, null where",
  "dropped): drop00 = TRUE (metafor's default) makes a double-zero table's yi NA so QE has k_yi - 1 df.",
  "I2 = max(0, 100 (QE - (k_yi - 1))/QE), H2 = QE/(k_yi - 1).",
  "OR only: CO = Cochran's form of the CMH statistic (variance terms with N), MH = Mantel-Haenszel's",
  "form (N - 1): metafor prints MH as 'CMH'; both with the 0.5 continuity correction when",
  "correct = TRUE, chi-square on 1 df. BD = Breslow-Day statistic (no Tarone adjustment), TA =",
  "Tarone's adjusted BD, both on k_pos - 1 df, k_pos = tables with a positive fitted N11 and at",
  "least one event and one non-event (double-zero tables excluded). rma.peto with drop00 = FALSE:",
  "see the case note (metafor's QEp there uses a different df than k_yi - 1).")

dz <- list(study = c("trial 1", "trial 2 (double zero)", "trial 3", "trial 4"),
           ai = c(5, 0, 12, 3), n1i = c(50, 40, 60, 45), ci = c(10, 0, 15, 8), n2i = c(50, 35, 60, 44))
for (ms in c("RD", "RR", "OR")) for (d0 in c(TRUE, FALSE)) for (co in (if (ms == "OR") c(TRUE, FALSE) else TRUE))
  push(mh_case(sprintf("double zero MH %s drop00=%s correct=%s", ms, d0, co), dz$study,
               dz$ai, dz$n1i, dz$ci, dz$n2i, "rma.mh", ms, d0, co,
               paste("Issue 8 defect 2 data.", mh_note)))
for (d0 in c(TRUE, FALSE))
  push(mh_case(sprintf("double zero Peto drop00=%s", d0), dz$study, dz$ai, dz$n1i, dz$ci, dz$n2i,
               "rma.peto", "PETO", d0, NA,
               paste("Issue 8 defect 2 data, Peto.",
                     if (!d0) paste("drop00 = FALSE: the double-zero table gets a yi/vi (add 1/2: yi = -0.1304,",
                                    "vi = 4.017), so k_yi = 4 and metafor 3.8.1 computes QEp on k_yi - 1 = 3 df and",
                                    "H2 = QE/3, while QE itself (from O - E and V of the raw counts, to which a",
                                    "double-zero table adds nothing) equals the drop00 = TRUE value and its print",
                                    "shows 'Q(df = 2)' (k_pos - 1). Recorded as metafor gives it; consistent with the",
                                    "print would be pchisq(QE, 2) = the drop00 = TRUE QEp."),
                     mh_note)))
b <- dat.bcg
for (ms in c("OR", "RR", "RD")) for (co in (if (ms == "OR") c(TRUE, FALSE) else TRUE))
  push(mh_case(sprintf("bcg MH %s correct=%s", ms, co), paste(b$author, b$year),
               b$tpos, b$tpos + b$tneg, b$cpos, b$cpos + b$cneg, "rma.mh", ms, TRUE, co,
               paste("dat.bcg: ai = tpos, n1i = tpos + tneg, ci = cpos, n2i = cpos + cneg.", mh_note)))
push(mh_case("bcg Peto", paste(b$author, b$year), b$tpos, b$tpos + b$tneg, b$cpos, b$cpos + b$cneg,
             "rma.peto", "PETO", TRUE, NA, paste("dat.bcg.", mh_note)))

# ----------------------------------------------------------------------------
# (c) se(tau^2)
# ----------------------------------------------------------------------------
se_tau2_case <- function(name, study, yi, vi, source, mods = NULL, formula = "~ 1") {
  yi <- as.numeric(yi); vi <- as.numeric(vi)
  X <- if (is.null(mods)) cbind(rep(1, length(yi))) else model.matrix(as.formula(formula), data = mods)
  res <- list()
  for (m in c("ML", "REML", "EB", "PM", "DL", "HE", "SJ", "HS")) {
    r <- if (is.null(mods)) capture(rma(yi, vi, method = m, control = ctrl_for(m)))
         else capture(rma(yi, vi, mods = X[, -1, drop = FALSE], method = m, control = ctrl_for(m)))
    if (r$error) stop(r$value$msg)
    f <- r$value
    w <- 1 / (vi + f$tau2)
    W <- diag(w)
    P <- W - W %*% X %*% solve(crossprod(X, w * X)) %*% t(X) %*% W
    formula_val <- switch(m, ML = sqrt(2 / sum(w^2)), REML = sqrt(2 / sum(P * t(P))), NA_real_)
    res[[m]] <- list(tau2 = f$tau2, se_tau2 = num1(f$se.tau2), se_tau2_formula = formula_val,
                     beta = arr(f$beta), warnings = I(r$warnings))
  }
  list(name = name,
       note = paste("rma(yi, vi[, mods], method = m, control = tight for iterative methods); se_tau2 =",
                    "fit$se.tau2. se_tau2_formula (ML, REML only) = the inverse Fisher information at the",
                    "estimate: ML sqrt(2 / sum w^2), REML sqrt(2 / tr(P P)), w = 1/(vi + tau2),",
                    "P = W - W X (X'WX)^-1 X'W. Other estimators: metafor's own se.tau2 formulas",
                    "(DL/HE/SJ/HS/PM/EB) are recorded as they are."),
       data = c(list(source = source, study = I(study), yi = arr(yi), vi = arr(vi)),
                if (is.null(mods)) NULL else list(mods = lapply(mods, arr))),
       settings = list(kind = "se_tau2", formula = formula, control = TIGHT),
       results = res)
}
bes <- escalc("RR", ai = b$tpos, bi = b$tneg, ci = b$cpos, di = b$cneg)
push(se_tau2_case("se_tau2 bcg", paste(b$author, b$year), c(bes$yi), bes$vi,
                  "dat.bcg, escalc('RR') log risk ratio"))
push(se_tau2_case("se_tau2 bcg ~ ablat", paste(b$author, b$year), c(bes$yi), bes$vi,
                  "dat.bcg, escalc('RR') log risk ratio", mods = data.frame(ablat = b$ablat),
                  formula = "~ ablat"))
h <- dat.hackshaw1998
push(se_tau2_case("se_tau2 hackshaw1998", paste(h$author, h$year), c(h$yi), h$vi,
                  "dat.hackshaw1998, yi/vi as given (log OR)"))
nd <- dat.normand1999
nes <- escalc("MD", m1i = nd$m1i, sd1i = nd$sd1i, n1i = nd$n1i, m2i = nd$m2i, sd2i = nd$sd2i, n2i = nd$n2i)
push(se_tau2_case("se_tau2 normand1999 MD", nd$source, c(nes$yi), nes$vi,
                  "dat.normand1999, escalc('MD') (length of stay, days)"))

out <- list(software = software(),
            settings = list(control_iterative = TIGHT,
                            note = paste("Cases by settings.kind: 'likelihood' (results.REML/results.ML),",
                                         "'mh' (settings.fun rma.mh / rma.peto), 'se_tau2'.",
                                         "Each case note says what its fields mean.")),
            cases = cases)
write_json_out(out, outfile)
