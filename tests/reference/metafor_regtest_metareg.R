# regtest() on meta-regressions (metafor 3.8.1): the predictor is added to the model's
# moderators and its coefficient tested. Run from the repository root:
#   Rscript tests/reference/metafor_regtest_metareg.R
suppressPackageStartupMessages(library(metafor))
here <- "tests/reference"
source(file.path(here, "refjson.R"))
dat <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
dat$ni <- with(dat.bcg, tpos + tneg + cpos + cneg)
cases <- list()
for (method in c("REML", "DL", "FE")) for (test in c("z", "knha")) {
  ctrl <- if (method == "REML") list(threshold = 1e-12, tol = 1e-12, maxiter = 10000) else list()
  f <- rma(yi, vi, mods = ~ ablat, data = dat, method = method, test = test, control = ctrl)
  for (model in c("rma", "lm")) for (predictor in c("sei", "vi", "ninv", "sqrtninv")) {
    r <- regtest(f, model = model, predictor = predictor, ni = dat$ni, ret.fit = TRUE)
    cases[[length(cases) + 1]] <- list(
      name = paste("bcg ~ ablat", method, test, model, predictor, sep = "/"),
      settings = list(method = method, test = test, model = model, predictor = predictor),
      results = list(zval = r$zval, pval = r$pval, dfs = if (is.null(r$dfs)) NULL else r$dfs,
                     beta = arr(coef(r$fit)), se = arr(sqrt(diag(vcov(r$fit))))))
  }
}
out <- list(software = list(R = R.version.string, metafor = as.character(packageVersion("metafor"))),
            data = list(study = I(paste(dat.bcg$author, dat.bcg$year)), yi = arr(dat$yi),
                        vi = arr(dat$vi), ablat = arr(dat$ablat), ni = arr(dat$ni)),
            cases = cases)
write_json_out(out, file.path(here, "metafor_regtest_metareg.json"))
cat("wrote", file.path(here, "metafor_regtest_metareg.json"), "\n")
