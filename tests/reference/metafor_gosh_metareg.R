# gosh() on a meta-regression (metafor 3.8.1): rma(yi, vi, mods = ~ ablat) on the first nine
# dat.bcg trials, every non-empty subset (511), FE, DL and REML. Run from the repository root:
#   Rscript tests/reference/metafor_gosh_metareg.R
here <- "tests/reference"
source(file.path(here, "refjson.R"))
dat <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)[1:9, ]
cases <- list()
for (method in c("FE", "DL", "REML")) {
  ctrl <- if (method == "REML") list(threshold = 1e-12, tol = 1e-12, maxiter = 10000) else list()
  f <- rma(yi, vi, mods = ~ ablat, data = dat, method = method, control = ctrl)
  g <- suppressWarnings(gosh(f, progbar = FALSE))
  res <- g$res
  cases[[length(cases) + 1]] <- list(
    name = paste("bcg trials 1-9 ~ ablat", method, sep = "/"), method = method,
    results = list(columns = I(names(res)), k = arr(res$k), QE = arr(res$QE), I2 = arr(res$I2),
                   H2 = arr(res$H2), tau2 = arr(res$tau2), intrcpt = arr(res$intrcpt),
                   ablat = arr(res$ablat), incl = mat(g$incl * 1L)))
}
out <- list(software = software(),
            note = "gosh(rma(yi, vi, mods = ~ ablat, method)); rows where a subset cannot be fitted are NA (null)",
            data = list(study = I(paste(dat.bcg$author, dat.bcg$year)[1:9]), yi = arr(dat$yi),
                        vi = arr(dat$vi), ablat = arr(dat$ablat)),
            cases = cases)
write_json_out(out, file.path(here, "metafor_gosh_metareg.json"))
cat("wrote", file.path(here, "metafor_gosh_metareg.json"), "\n")
