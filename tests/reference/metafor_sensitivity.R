#!/usr/bin/env Rscript
# metafor_sensitivity.R -- reference values from R's metafor for metakit's sensitivity
# analyses and small-study-effect tests (issue 9).
#
# Writes metafor_sensitivity.json beside this script: {"software", "settings", "cases"}.
# Case kinds (settings.kind):
#   "sensitivity": one data set and tau^2 method: the fit, leave1out(), cumul(),
#                  influence() (incl. dfbetas), rstandard(), rstudent(), baujat() values,
#                  regtest() in every variant, ranktest() exact and normal, trimfill()
#                  with L0, R0, Q0 (side chosen by metafor and both sides forced)
#   "metareg_influence": influence/rstandard/rstudent for a meta-regression
#   "gosh":        gosh() on a small k (all 2^k - 1 subsets) for FE, DL, REML
#   "fsn":         fsn() Rosenthal, Orwin (default and given target), Rosenberg
#   "peters_harbord": Peters' and Harbord's tests for binary outcomes, by base-R lm() on
#                  the published formulas, beside the metafor regtest() calls that do or do
#                  not reproduce them
# Data: dat.bcg (log RR), dat.hackshaw1998 (log OR as given), dat.normand1999 (MD),
#       dat.pritz1997 (logit proportion), dat.li2007 (log OR; binary, Peters/Harbord).
# usage:  Rscript tests/reference/metafor_sensitivity.R   (from the repository root)

here <- (function() {
  args <- commandArgs(trailingOnly = FALSE)
  p <- sub("^--file=", "", args[grep("^--file=", args)])
  if (length(p)) dirname(normalizePath(p)) else getwd()
})()
source(file.path(here, "refjson.R"))
outfile <- file.path(here, "metafor_sensitivity.json")
pdf(NULL)  # baujat() and gosh plots draw; keep them off screen/disk

cases <- list()
push <- function(x) cases[[length(cases) + 1]] <<- x

df_arrays <- function(d, cols = names(d)) {
  out <- lapply(cols, function(cn) {
    v <- d[[cn]]
    if (is.factor(v) || is.character(v)) I(as.character(v)) else arr(v)
  })
  names(out) <- cols
  out
}

fit_summary <- function(f) {
  list(beta = arr(f$beta), se = arr(f$se), zval = arr(f$zval), pval = arr(f$pval),
       ci_lb = arr(f$ci.lb), ci_ub = arr(f$ci.ub), tau2 = num1(f$tau2), se_tau2 = num1(f$se.tau2),
       QE = num1(f$QE), QEp = num1(f$QEp), I2 = num1(f$I2), H2 = num1(f$H2), k = f$k, p = f$p,
       weights_percent = arr(weights(f)))
}

# run and keep warnings; returns list(value=, warnings=) or list(error=, warnings=)
run <- function(expr) {
  r <- capture(expr)
  if (r$error) list(error = r$value$msg, warnings = I(r$warnings))
  else list(value = r$value, warnings = I(r$warnings))
}

l1o_list <- function(f) {
  r <- run(leave1out(f))
  if (!is.null(r$error)) return(r[c("error", "warnings")])
  l <- r$value
  list(estimate = arr(l$estimate), se = arr(l$se), zval = arr(l$zval), pval = arr(l$pval),
       ci_lb = arr(l$ci.lb), ci_ub = arr(l$ci.ub), Q = arr(l$Q), Qp = arr(l$Qp),
       tau2 = arr(l$tau2), I2 = arr(l$I2), H2 = arr(l$H2), warnings = r$warnings)
}

# metafor 3.8.1: 'order' is a sort KEY (cumul sorts by order(key), ties in input order),
# not a permutation; passing order(year) would sort twice.
cumul_list <- function(f, key) {
  ord <- order(key)
  r <- run(do.call(cumul, list(f, order = key)))  # .getx() looks the name up non-locally
  if (!is.null(r$error)) return(r[c("error", "warnings")])
  l <- r$value
  list(key = arr(key), order = arr(ord), slab = I(as.character(l$slab)),
       estimate = arr(l$estimate), se = arr(l$se), zval = arr(l$zval), pval = arr(l$pval),
       ci_lb = arr(l$ci.lb), ci_ub = arr(l$ci.ub), Q = arr(l$Q), Qp = arr(l$Qp),
       tau2 = arr(l$tau2), I2 = arr(l$I2), H2 = arr(l$H2), warnings = r$warnings)
}

infl_list <- function(f) {
  r <- run(influence(f))
  if (!is.null(r$error)) return(r[c("error", "warnings")])
  inf <- r$value
  i <- inf$inf
  list(rstudent = arr(i$rstudent), dffits = arr(i$dffits), cook_d = arr(i$cook.d),
       cov_r = arr(i$cov.r), tau2_del = arr(i$tau2.del), QE_del = arr(i$QE.del),
       hat = arr(i$hat), weight = arr(i$weight), inf = arr(i$inf == "*"),
       is_infl = arr(inf$is.infl),
       dfbetas = mat(as.matrix(as.data.frame(inf$dfbs))), dfbetas_names = I(names(as.data.frame(inf$dfbs))),
       warnings = r$warnings)
}

resid_list <- function(fun, f) {
  r <- run(fun(f))
  if (!is.null(r$error)) return(r[c("error", "warnings")])
  x <- r$value
  list(resid = arr(x$resid), se = arr(x$se), z = arr(x$z), warnings = r$warnings)
}

baujat_list <- function(f) {
  r <- run(baujat(f))
  if (!is.null(r$error)) return(r[c("error", "warnings")])
  b <- r$value
  list(x = arr(b$x), y = arr(b$y), ids = arr(b$ids), slab = I(as.character(b$slab)),
       warnings = r$warnings)
}

regtest_list <- function(f, model, predictor, ni = NULL) {
  r <- if (is.null(ni)) run(regtest(f, model = model, predictor = predictor, ret.fit = TRUE))
       else run(regtest(f, model = model, predictor = predictor, ni = ni, ret.fit = TRUE))
  head <- list(model = model, predictor = predictor)
  if (!is.null(r$error)) return(c(head, r[c("error", "warnings")]))
  g <- r$value
  out <- c(head, list(stat = num1(g$zval), dist = if (is.null(g$dfs) || is.na(num1(g$dfs))) "z" else "t",
                      df = num1(g$dfs), pval = num1(g$pval),
                      est = num1(g$est), ci_lb = num1(g$ci.lb), ci_ub = num1(g$ci.ub)))
  fit <- g$fit
  if (inherits(fit, "lm")) {
    cf <- summary(fit)$coefficients
    out$fit <- list(coef = arr(cf[, 1]), se = arr(cf[, 2]), tval = arr(cf[, 3]), pval = arr(cf[, 4]),
                    sigma = summary(fit)$sigma, df_residual = fit$df.residual)
  } else {
    out$fit <- list(coef = arr(fit$beta), se = arr(fit$se), stat = arr(fit$zval),
                    pval = arr(fit$pval), tau2 = num1(fit$tau2), test = fit$test)
  }
  out$warnings <- r$warnings
  out
}

ranktest_list <- function(f, exact) {
  r <- run(ranktest(f, exact = exact))
  if (!is.null(r$error)) return(c(list(exact = exact), r[c("error", "warnings")]))
  list(exact_requested = exact, tau = num1(r$value$tau), pval = num1(r$value$pval),
       warnings = r$warnings)
}

trimfill_list <- function(f, estimator, side = NULL) {
  r <- if (is.null(side)) run(trimfill(f, estimator = estimator))
       else run(trimfill(f, estimator = estimator, side = side))
  head <- list(estimator = estimator, side_requested = if (is.null(side)) "auto" else side)
  if (!is.null(r$error)) return(c(head, r[c("error", "warnings")]))
  t <- r$value
  c(head, list(side = t$side, k0 = num1(t$k0), se_k0 = num1(t$se.k0), p_k0 = num1(t$p.k0),
               k = t$k, fill = arr(t$fill), yi = arr(t$yi), vi = arr(t$vi),
               beta = num1(t$beta), se = num1(t$se), zval = num1(t$zval), pval = num1(t$pval),
               ci_lb = num1(t$ci.lb), ci_ub = num1(t$ci.ub), tau2 = num1(t$tau2),
               QE = num1(t$QE), QEp = num1(t$QEp), I2 = num1(t$I2), H2 = num1(t$H2),
               warnings = r$warnings))
}

PREDICTORS <- c("sei", "vi", "ni", "ninv", "sqrtni", "sqrtninv")

sensitivity_case <- function(name, db, method, order_by, order_desc, note = NULL) {
  yi <- db$yi; vi <- db$vi
  ni <- db$ni
  f <- if (is.null(ni)) rma(as.numeric(yi), as.numeric(vi), slab = db$study, method = method,
                             control = ctrl_for(method))
       else rma(as.numeric(yi), as.numeric(vi), ni = as.numeric(ni), slab = db$study, method = method,
                control = ctrl_for(method))
  reg <- list()
  for (model in c("rma", "lm")) for (pr in PREDICTORS)
    reg[[length(reg) + 1]] <- regtest_list(f, model, pr)
  if (method != "FE") {
    fk <- update(f, test = "knha")
    for (pr in c("sei", "vi")) {
      x <- regtest_list(fk, "rma", pr); x$test <- "knha"; reg[[length(reg) + 1]] <- x
    }
  }
  tf <- list()
  for (est in c("L0", "R0", "Q0")) for (sd in list(NULL, "left", "right"))
    tf[[length(tf) + 1]] <- trimfill_list(f, est, sd)
  side_fit <- rma(as.numeric(yi), as.numeric(vi), mods = sqrt(as.numeric(vi)), method = method,
                  control = ctrl_for(method))
  list(name = name, note = note,
       data = db[setdiff(names(db), "ni_note")],
       settings = list(kind = "sensitivity", method = method, test = "z", level = 95,
                       control = if (method %in% ITERATIVE) TIGHT else "metafor defaults",
                       cumul_order = order_desc),
       results = list(
         fit = fit_summary(f),
         leave1out = l1o_list(f),
         cumul = cumul_list(f, order_by),
         influence = infl_list(f),
         rstandard = resid_list(rstandard, f),
         rstudent = resid_list(rstudent, f),
         baujat = baujat_list(f),
         regtest = reg,
         ranktest = list(exact = ranktest_list(f, TRUE), normal = ranktest_list(f, FALSE)),
         trimfill = tf,
         trimfill_side_rule = list(slope_on_sqrt_vi = num1(side_fit$beta[2]),
                                   side = if (side_fit$beta[2] < 0) "right" else "left")))
}

datasets <- list()
b <- dat.bcg
bes <- escalc("RR", ai = b$tpos, bi = b$tneg, ci = b$cpos, di = b$cneg)
datasets$bcg <- list(
  db = list(source = "metadat dat.bcg; yi/vi = escalc('RR', ai=tpos, bi=tneg, ci=cpos, di=cneg) (log RR); ni = total sample size",
            measure = "RR", study = I(paste(b$author, b$year)), yi = arr(bes$yi), vi = arr(bes$vi),
            ni = arr(b$tpos + b$tneg + b$cpos + b$cneg), year = arr(b$year),
            raw = df_arrays(data.frame(ai = b$tpos, bi = b$tneg, ci = b$cpos, di = b$cneg))),
  order = b$year, order_desc = "by year (ties in input order)")
h <- dat.hackshaw1998
datasets$hackshaw1998 <- list(
  db = list(source = "metadat dat.hackshaw1998; yi/vi as given (log OR); no sample sizes (regtest with ni/ninv/sqrtni/sqrtninv errors)",
            measure = "OR", study = I(paste(h$author, h$year)), yi = arr(h$yi), vi = arr(h$vi),
            ni = NULL, year = arr(h$year)),
  order = h$year, order_desc = "by year (ties in input order)")
nd <- dat.normand1999
nes <- escalc("MD", m1i = nd$m1i, sd1i = nd$sd1i, n1i = nd$n1i, m2i = nd$m2i, sd2i = nd$sd2i, n2i = nd$n2i)
datasets$normand1999 <- list(
  db = list(source = "metadat dat.normand1999; yi/vi = escalc('MD') (length of stay, days); ni = n1i + n2i",
            measure = "MD", study = I(nd$source), yi = arr(nes$yi), vi = arr(nes$vi),
            ni = arr(nd$n1i + nd$n2i),
            raw = df_arrays(nd, c("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"))),
  order = seq_len(nrow(nd)), order_desc = "input order")
pr <- dat.pritz1997
pes <- escalc("PLO", xi = pr$xi, ni = pr$ni)
datasets$pritz1997 <- list(
  db = list(source = "metadat dat.pritz1997; yi/vi = escalc('PLO', xi, ni) (logit proportion; studies with xi = ni get add 1/2 to xi and ni - xi)",
            measure = "PLO", study = I(pr$authors), yi = arr(pes$yi), vi = arr(pes$vi),
            ni = arr(pr$ni), raw = df_arrays(pr, c("xi", "ni"))),
  order = rev(seq_len(nrow(pr))), order_desc = "reverse input order (order = k:1)")
li <- dat.li2007
les <- escalc("OR", ai = li$ai, n1i = li$n1i, ci = li$ci, n2i = li$n2i)
datasets$li2007 <- list(
  db = list(source = "metadat dat.li2007 (magnesium, mortality); yi/vi = escalc('OR', ai, n1i, ci, n2i) (log OR; add 1/2 to tables with a zero cell); ni = n1i + n2i",
            measure = "OR", study = I(paste(li$study, li$year)), yi = arr(les$yi), vi = arr(les$vi),
            ni = arr(li$n1i + li$n2i), year = arr(li$year),
            raw = df_arrays(li, c("ai", "n1i", "ci", "n2i"))),
  order = li$year, order_desc = "by year (ties in input order)")

sens_note <- paste(
  "f = rma(yi, vi, ni = ni, method, control = tight); leave1out(f), cumul(f, order = <the sort key",
  "results.cumul.key>), influence(f), rstandard(f), rstudent(f), baujat(f) (values it returns),",
  "regtest(f, model, predictor, ret.fit = TRUE), ranktest(f, exact = TRUE/FALSE), trimfill(f,",
  "estimator, side). See README.md for the field meanings.")
for (dn in names(datasets)) for (m in c("FE", "DL", "REML")) {
  d <- datasets[[dn]]
  push(sensitivity_case(paste("sensitivity", dn, m, sep = "/"), d$db, m, d$order, d$order_desc, sens_note))
}
# cumul order is stored 1-based in R; convert to 0-based for the JSON consumer
for (i in seq_along(cases)) if (!is.null(cases[[i]]$results$cumul$order))
  cases[[i]]$results$cumul$order <- arr(as.numeric(cases[[i]]$results$cumul$order) - 1)

# ----------------------------------------------------------------------------
# influence for a meta-regression
# ----------------------------------------------------------------------------
for (m in c("REML", "DL", "FE")) {
  mdat <- data.frame(yi = as.numeric(bes$yi), vi = as.numeric(bes$vi), ablat = b$ablat,
                     study = paste(b$author, b$year))
  f <- rma(yi, vi, mods = ~ ablat, data = mdat, slab = study, method = m, control = ctrl_for(m))
  push(list(name = paste("metareg influence bcg ~ ablat", m, sep = "/"),
            note = "influence(), rstandard(), rstudent() of rma(yi, vi, mods = ~ ablat); leave1out()/cumul() are not defined for models with moderators in metafor 3.8.1 (error recorded)",
            data = c(datasets$bcg$db, list(mods = list(ablat = arr(b$ablat)))),
            settings = list(kind = "metareg_influence", formula = "~ ablat", method = m, test = "z",
                            control = if (m %in% ITERATIVE) TIGHT else "metafor defaults"),
            results = list(fit = fit_summary(f), influence = infl_list(f),
                           rstandard = resid_list(rstandard, f), rstudent = resid_list(rstudent, f),
                           leave1out = l1o_list(f))))
}

# ----------------------------------------------------------------------------
# GOSH
# ----------------------------------------------------------------------------
gosh_case <- function(name, db, method) {
  f <- rma(as.numeric(db$yi), as.numeric(db$vi), method = method, control = ctrl_for(method))
  r <- run(gosh(f, progbar = FALSE))
  g <- r$value
  res <- g$res
  list(name = name,
       note = paste("gosh(rma(yi, vi, method, control)): every non-empty subset of the k studies",
                    "(2^k - 1 rows, metafor's order); incl = 0/1 membership matrix (rows = subsets,",
                    "columns = studies); per subset QE, I2, H2, tau2, estimate (FE: tau2 = 0)."),
       data = db,
       settings = list(kind = "gosh", method = method, control = if (method %in% ITERATIVE) TIGHT else "metafor defaults"),
       results = list(n_subsets = nrow(res), k = f$k, columns = I(names(res)),
                      QE = arr(res$QE), I2 = arr(res$I2), H2 = arr(res$H2), tau2 = arr(res$tau2),
                      estimate = arr(res$estimate),
                      incl = mat(g$incl * 1L), warnings = r$warnings))
}
sel8 <- 1:8
bcg8 <- list(source = "dat.bcg trials 1-8, log RR", measure = "RR",
             study = I(paste(b$author, b$year)[sel8]), yi = arr(bes$yi[sel8]), vi = arr(bes$vi[sel8]))
for (m in c("FE", "DL", "REML")) {
  push(gosh_case(paste("gosh bcg trials 1-8", m, sep = "/"), bcg8, m))
  push(gosh_case(paste("gosh normand1999", m, sep = "/"), datasets$normand1999$db[c("source", "measure", "study", "yi", "vi")], m))
}
# three more data sets, their first 9 studies (2^9 - 1 = 511 subsets each)
first9 <- function(db) {
  sel <- seq_len(min(9L, length(db$yi)))
  list(source = paste0(db$source, "; studies 1-", length(sel)), measure = db$measure,
       study = I(as.character(db$study)[sel]), yi = arr(as.numeric(db$yi)[sel]),
       vi = arr(as.numeric(db$vi)[sel]))
}
for (dn in c("hackshaw1998", "pritz1997", "li2007")) for (m in c("FE", "DL", "REML")) {
  push(gosh_case(paste(paste("gosh", dn, "first 9"), m, sep = "/"), first9(datasets[[dn]]$db), m))
}

# ----------------------------------------------------------------------------
# fail-safe N
# ----------------------------------------------------------------------------
fsn_case <- function(name, db, type, target = NULL, alpha = 0.05) {
  yi <- as.numeric(db$yi); vi <- as.numeric(db$vi)
  r <- if (is.null(target)) run(fsn(yi, vi, type = type, alpha = alpha))
       else run(fsn(yi, vi, type = type, target = target, alpha = alpha))
  v <- r$value
  # the unrounded fail-safe numbers by the formulas metafor 3.8.1 uses
  k <- length(yi); wi <- 1 / vi; zi <- yi / sqrt(vi)
  raw <- switch(type,
    Rosenthal = max(0, k * (sum(zi) / sqrt(k) / qnorm(alpha, lower.tail = FALSE))^2 - k),
    Orwin = { me <- mean(yi); tg <- if (is.null(target)) me / 2 else target
              if (sign(tg) != sign(me)) tg <- -tg
              max(0, k * (me - tg) / tg) },
    Rosenberg = max(0, k * ((sum(wi * yi) / qnorm(alpha / 2, lower.tail = FALSE))^2 - sum(wi)) / sum(wi)))
  list(name = name,
       note = paste("fsn(yi, vi, type, [target], alpha) metafor 3.8.1: Rosenthal (Stouffer sum of z,",
                    "one-tailed alpha), Orwin (unweighted mean effect 'meanes'; default target = meanes/2;",
                    "fsnum = k (meanes - target)/target, not rounded), Rosenberg (weighted FE model,",
                    "two-tailed alpha). fsnum is as metafor returns it: ceiling(x) unless x is within sqrt(eps) of an",
                    "integer (then round(x)); fsnum_unrounded = x by the formulas in this script."),
       data = db[c("source", "measure", "study", "yi", "vi")],
       settings = list(kind = "fsn", type = type, target = if (is.null(target)) "default" else target,
                       alpha = alpha),
       results = if (!is.null(r$error)) r[c("error", "warnings")] else
         list(fsnum = num1(v$fsnum), fsnum_unrounded = raw, alpha = num1(v$alpha), pval = num1(v$pval),
              meanes = num1(v$meanes), target = num1(v$target), type = v$type,
              warnings = r$warnings))
}
for (dn in names(datasets)) {
  db <- datasets[[dn]]$db
  push(fsn_case(paste("fsn", dn, "Rosenthal", sep = "/"), db, "Rosenthal"))
  push(fsn_case(paste("fsn", dn, "Rosenthal alpha=0.01", sep = "/"), db, "Rosenthal", alpha = 0.01))
  push(fsn_case(paste("fsn", dn, "Orwin", sep = "/"), db, "Orwin"))
  tgt <- if (mean(as.numeric(db$yi)) < 0) -0.1 else 0.1
  if (dn == "normand1999") tgt <- -2
  push(fsn_case(paste("fsn", dn, "Orwin target", sep = "/"), db, "Orwin", target = tgt))
  push(fsn_case(paste("fsn", dn, "Rosenberg", sep = "/"), db, "Rosenberg"))
}

# ----------------------------------------------------------------------------
# Peters' and Harbord's tests (binary outcomes)
# ----------------------------------------------------------------------------
# Peters et al. (2006, JAMA 295:676): weighted regression of ln OR on 1/N,
#   weights = 1 / (1/(events) + 1/(non-events)), events = ai + ci, non-events = bi + di,
#   N = n1i + n2i; test of the slope (t, N - 2 df).  (meta::metabias method = "Peters".)
# Harbord et al. (2006, Stat Med 25:3443): Z = O - E (efficient score of ln OR, O = ai,
#   E = n1i (ai + ci) / N), V = n1i n2i (ai + ci)(bi + di) / (N^2 (N - 1)); regress Z/sqrt(V)
#   on sqrt(V) (ordinary least squares); test of the intercept (t, k - 2 df).
#   Equivalent: Egger's weighted regression yi = b0 + b1 sei, weights 1/vi, with
#   yi = Z/V, vi = 1/V (Peto's log OR and variance), test of b1 -- which is
#   metafor's regtest(model = "lm", predictor = "sei") on escalc("PETO") values when no
#   cell is zero (escalc adds 1/2 to zero cells; the hand values never do).
peters_harbord <- function(name, study, ai, n1i, ci, n2i, note) {
  ai <- as.numeric(ai); n1i <- as.numeric(n1i); ci <- as.numeric(ci); n2i <- as.numeric(n2i)
  bi <- n1i - ai; di <- n2i - ci; N <- n1i + n2i
  es <- escalc("OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i)
  pw <- 1 / (1 / (ai + ci) + 1 / (bi + di))
  pl <- lm(as.numeric(es$yi) ~ I(1 / N), weights = pw)
  pc <- summary(pl)$coefficients
  O <- ai; E <- n1i * (ai + ci) / N
  V <- n1i * n2i * (ai + ci) * (bi + di) / (N^2 * (N - 1))
  Z <- O - E
  hl <- lm(I(Z / sqrt(V)) ~ sqrt(V))
  hc <- summary(hl)$coefficients
  fe_or <- rma(as.numeric(es$yi), as.numeric(es$vi), method = "FE")
  pe <- escalc("PETO", ai = ai, n1i = n1i, ci = ci, n2i = n2i)
  fe_peto <- rma(as.numeric(pe$yi), as.numeric(pe$vi), method = "FE")
  list(name = name, note = note,
       data = list(study = I(study), ai = arr(ai), n1i = arr(n1i), ci = arr(ci), n2i = arr(n2i),
                   yi_OR = arr(es$yi), vi_OR = arr(es$vi), yi_PETO = arr(pe$yi), vi_PETO = arr(pe$vi)),
       settings = list(kind = "peters_harbord"),
       results = list(
         peters = list(formula = "lm(yi_OR ~ I(1/N), weights = 1/(1/(ai+ci) + 1/(bi+di)))",
                       coef = arr(pc[, 1]), se = arr(pc[, 2]), tval = arr(pc[, 3]), pval_coef = arr(pc[, 4]),
                       stat = pc[2, 3], df = pl$df.residual, pval = pc[2, 4]),
         harbord = list(formula = "lm(Z/sqrt(V) ~ sqrt(V)), Z = ai - n1i (ai+ci)/N, V = n1i n2i (ai+ci)(bi+di)/(N^2 (N-1))",
                        coef = arr(hc[, 1]), se = arr(hc[, 2]), tval = arr(hc[, 3]), pval_coef = arr(hc[, 4]),
                        stat = hc[1, 3], df = hl$df.residual, pval = hc[1, 4],
                        Z = arr(Z), V = arr(V)),
         metafor_regtest_lm_ninv_OR = regtest_list(fe_or, "lm", "ninv", ni = N),
         metafor_regtest_lm_sei_PETO = regtest_list(fe_peto, "lm", "sei"),
         metafor_regtest_lm_sei_OR = regtest_list(fe_or, "lm", "sei")))
}
push(peters_harbord("peters_harbord li2007", paste(li$study, li$year), li$ai, li$n1i, li$ci, li$n2i,
  "dat.li2007 (has zero cells: escalc adds 1/2 there, so the PETO regtest differs from the hand Harbord value)"))
push(peters_harbord("peters_harbord bcg", paste(b$author, b$year), b$tpos, b$tpos + b$tneg, b$cpos,
  b$cpos + b$cneg, "dat.bcg (no zero cells: metafor_regtest_lm_sei_PETO equals the hand Harbord test)"))

out <- list(software = software(),
            settings = list(control_iterative = TIGHT, predictors = I(PREDICTORS),
                            note = "See README.md (section metafor_sensitivity.json) for every field."),
            cases = cases)
write_json_out(out, outfile)
