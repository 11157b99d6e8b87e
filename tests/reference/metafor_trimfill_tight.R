# metafor_trimfill_tight.R -- trimfill() on the REML cases of metafor_sensitivity.json
# with the tight convergence control passed through to every internal fit.
#
# metafor 3.8.1's trimfill() fits the trimmed data and the filled data with metafor's
# default control (REML tau² to ~1e-6 relative), whatever control the model had; its
# `...` reaches those fits, so `trimfill(f, control = TIGHT)` gives the same algorithm
# at full precision. This script writes metafor_trimfill_tight.json: for each REML
# case of metafor_sensitivity.json (same yi/vi, read from that file) and each
# estimator (L0, R0, Q0) x side (auto, left, right): side, k0, se_k0, p_k0, fill, yi,
# vi, beta, se, zval, pval, ci_lb, ci_ub, tau2, QE, QEp, I2, H2 (or error).
#
# Run from the repository root: Rscript tests/reference/metafor_trimfill_tight.R

here <- (function() {
  args <- commandArgs(trailingOnly = FALSE)
  p <- sub("^--file=", "", args[grep("^--file=", args)])
  if (length(p)) dirname(normalizePath(p)) else getwd()
})()
source(file.path(here, "refjson.R"))
suppressPackageStartupMessages(library(jsonlite))
src <- fromJSON(file.path(here, "metafor_sensitivity.json"), simplifyVector = FALSE)

cases <- list()
for (case in src$cases) {
  if (!identical(case$settings$kind, "sensitivity") || case$settings$method != "REML") next
  yi <- as.numeric(unlist(case$data$yi)); vi <- as.numeric(unlist(case$data$vi))
  f <- rma(yi, vi, method = "REML", control = TIGHT)
  entries <- list()
  for (est in c("L0", "R0", "Q0")) for (side in c("auto", "left", "right")) {
    r <- capture(if (side == "auto") trimfill(f, estimator = est, control = TIGHT)
                 else trimfill(f, estimator = est, side = side, control = TIGHT))
    head <- list(estimator = est, side_requested = side)
    if (r$error) { entries[[length(entries) + 1]] <- c(head, list(error = r$value$msg)); next }
    t <- r$value
    entries[[length(entries) + 1]] <- c(head, list(
      side = t$side, k0 = num1(t$k0), se_k0 = num1(t$se.k0), p_k0 = num1(t$p.k0),
      fill = arr(t$fill), yi = arr(t$yi), vi = arr(t$vi), beta = num1(t$beta),
      se = num1(t$se), zval = num1(t$zval), pval = num1(t$pval), ci_lb = num1(t$ci.lb),
      ci_ub = num1(t$ci.ub), tau2 = num1(t$tau2), QE = num1(t$QE), QEp = num1(t$QEp),
      I2 = num1(t$I2), H2 = num1(t$H2)))
  }
  cases[[length(cases) + 1]] <- list(name = case$name, trimfill = entries)
}

write_json_out(list(software = software(),
                    settings = list(control = TIGHT,
                                    note = "trimfill(rma(yi, vi, method = 'REML', control = TIGHT), estimator, side, control = TIGHT)"),
                    cases = cases),
               file.path(here, "metafor_trimfill_tight.json"))
