# metafor_metareg_baujat.R -- baujat() of the meta-regressions in metafor_sensitivity.json
# ("metareg influence bcg ~ ablat/<method>": rma(yi, vi, mods = ~ ablat)), which that
# file does not hold. Writes metafor_metareg_baujat.json: per case name, x and y.
# Run from the repository root: Rscript tests/reference/metafor_metareg_baujat.R

here <- (function() {
  args <- commandArgs(trailingOnly = FALSE)
  p <- sub("^--file=", "", args[grep("^--file=", args)])
  if (length(p)) dirname(normalizePath(p)) else getwd()
})()
source(file.path(here, "refjson.R"))
suppressPackageStartupMessages(library(jsonlite))
pdf(NULL)
src <- fromJSON(file.path(here, "metafor_sensitivity.json"), simplifyVector = FALSE)
cases <- list()
for (case in src$cases) {
  if (!identical(case$settings$kind, "metareg_influence")) next
  yi <- as.numeric(unlist(case$data$yi)); vi <- as.numeric(unlist(case$data$vi))
  ablat <- as.numeric(unlist(case$data$mods$ablat))
  m <- case$settings$method
  f <- rma(yi, vi, mods = ~ ablat, method = m, control = ctrl_for(m))
  b <- baujat(f)
  cases[[length(cases) + 1]] <- list(name = case$name, x = arr(b$x), y = arr(b$y))
}
write_json_out(list(software = software(), cases = cases),
               file.path(here, "metafor_metareg_baujat.json"))
