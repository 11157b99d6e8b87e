#!/usr/bin/env Rscript
# Reference values for metakit's subgroup analyses, from metafor (Debian r-cran-metafor).
#
# dat.bcg, log risk ratio, subgroups = allocation method (random / alternate / systematic).
# - separate tau2: rma() in each subgroup (DL and REML), then the test for subgroup
#   differences as a common-effect meta-analysis of the subgroup estimates (QE of rma(..., method="FE"))
# - common tau2: rma(yi, vi, mods = ~ factor(alloc) - 1) gives the common tau2 and the subgroup
#   estimates; rma(yi, vi, mods = ~ factor(alloc)) gives the omnibus test QM of subgroup differences
#
# usage: Rscript tests/reference/metafor_subgroups.R  (writes metafor_subgroups.json beside it)

suppressPackageStartupMessages({ library(metafor); library(jsonlite) })
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
ctrl <- list(threshold = 1e-14, tol = 1e-14, maxiter = 10000)

dat <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
dat$study <- paste(dat$author, dat$year)
groups <- unique(as.character(dat$alloc))

fits <- list()
for (method in c("DL", "REML")) {
  sub <- list()
  est <- se <- c()
  for (g in groups) {
    f <- rma(yi, vi, data = dat, subset = alloc == g, method = method, control = ctrl)
    sub[[g]] <- list(k = f$k, beta = c(f$beta), se = f$se, ci_lb = f$ci.lb, ci_ub = f$ci.ub,
                     pval = f$pval, tau2 = f$tau2, QE = f$QE, I2 = f$I2)
    est <- c(est, c(f$beta)); se <- c(se, f$se)
  }
  between <- rma(yi = est, sei = se, method = "FE")
  fits[[paste0("separate_", method)]] <- list(subgroups = sub, Q_between = between$QE,
                                              df = between$k - 1, p = between$QEp)
  cm <- rma(yi, vi, mods = ~ factor(alloc, levels = groups) - 1, data = dat, method = method,
            control = ctrl)
  om <- rma(yi, vi, mods = ~ factor(alloc, levels = groups), data = dat, method = method,
            control = ctrl)
  fits[[paste0("common_", method)]] <- list(
    tau2 = cm$tau2, beta = setNames(as.list(c(cm$beta)), groups),
    se = setNames(as.list(cm$se), groups), QM = om$QM, QMdf = om$QMdf[1], QMp = om$QMp)
}

out <- list(
  software = list(R = R.version.string, metafor = as.character(packageVersion("metafor"))),
  note = "dat.bcg log RR by allocation; subgroup order as first appearance; control threshold/tol 1e-14",
  study = dat$study, alloc = as.character(dat$alloc), yi = c(dat$yi), vi = c(dat$vi),
  ai = dat$tpos, n1i = dat$tpos + dat$tneg, ci = dat$cpos, n2i = dat$cpos + dat$cneg,
  groups = groups, fits = fits)
write_json(out, file.path(here, "metafor_subgroups.json"), digits = NA, auto_unbox = TRUE,
           pretty = TRUE)
