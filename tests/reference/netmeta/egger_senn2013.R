# Egger's regression test (metafor::regtest, model = "lm", predictor = "sei": the classical
# Egger test) on the comparison-adjusted deviations of Senn 2013 (x = TE_study - TE_network,
# common effects, order plac, benf, migl, acar, sulf, metf, piog, rosi, sita, vild), as
# written to egger_input.json by metakit. Checks the regression, not the centring (the
# network estimates that centre are checked against netmeta elsewhere).
suppressPackageStartupMessages({library(metafor); library(jsonlite)})
d <- fromJSON("egger_input.json")
res <- regtest(d$x, sei = d$se, model = "lm", predictor = "sei")
fit <- lm(I(d$x / d$se) ~ I(1 / d$se))
out <- list(software = list(metafor = as.character(packageVersion("metafor")), R = R.version.string),
            zval = res$zval, pval = res$pval, dfs = res$dfs,
            intercept = unname(coef(fit)[1]), intercept_se = unname(sqrt(diag(vcov(fit)))[1]))
write(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), "egger_senn2013.json")
