#!/usr/bin/env Rscript
# Reference values for the test-based confidence intervals of H and I^2 (Higgins & Thompson
# 2002, Stat Med 21:1539) as R's meta package reports them beside the Q-profile interval
# ("I^2 = ..% [lo; hi]", "H = .. [lo; hi]" in print.meta; fields lower.I2/upper.I2, lower.H/upper.H).
#
# meta is not packaged in Debian and needs packages that are not either (metabook, CompQuadForm),
# so this script sources meta's own functions calcH() and isquared() (R/meta-het.R), with ci()
# (R/ci.R) and chklevel() (R/meta-chk.R), from a meta source tree and evaluates them on a grid of
# Q, df and level covering both branches of the standard error of ln H (Q > k and Q <= k, k = df + 1),
# k = 2 and df = 0.
#
# usage: Rscript tests/reference/meta_hetci.R META_SOURCE_DIR
#   META_SOURCE_DIR: an unpacked meta source package (e.g. meta_8.3-0.tar.gz from CRAN, or
#   `git -C <clone of github.com/cran/meta> archive 1e88ef8a R DESCRIPTION | tar -x -C DIR`)
# writes meta_hetci.json beside this script.

suppressPackageStartupMessages(library(jsonlite))
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
src <- commandArgs(trailingOnly = TRUE)[1]
if (is.na(src)) stop("give the path of a meta source tree")
meta_env <- new.env()
for (f in c("meta-het.R", "ci.R", "meta-chk.R")) sys.source(file.path(src, "R", f), envir = meta_env)
version <- read.dcf(file.path(src, "DESCRIPTION"), fields = "Version")[1, 1]

num <- function(x) unname(x)

grid <- list(
  c(152.2330080823734, 12), c(40, 12), c(13.5, 12), c(13, 12), c(12.5, 12), c(12, 12),
  c(8, 12), c(0, 12), c(3, 1), c(2.5, 1), c(2, 1), c(1.5, 1), c(0.2, 1),
  c(5, 2), c(3, 2), c(1, 2), c(60, 29), c(25, 29), c(7, 0), c(0, 0)
)
rows <- list()
for (level in c(0.95, 0.9, 0.99)) {
  for (g in grid) {
    Q <- g[1]; df <- g[2]
    H <- meta_env$calcH(Q, df, level)
    I2 <- meta_env$isquared(Q, df, level)
    rows[[length(rows) + 1]] <- list(
      Q = Q, df = df, level = level,
      H = num(H$TE), lower_H = num(H$lower), upper_H = num(H$upper),
      I2 = num(I2$TE), lower_I2 = num(I2$lower), upper_I2 = num(I2$upper))
  }
}

out <- list(
  software = list(R = R.version.string, meta = version),
  note = paste("meta's calcH(Q, df, level) and isquared(Q, df, level) sourced from the meta source",
               "tree; I2 as a fraction (meta's convention); NA is null"),
  rows = rows)
write_json(out, file.path(here, "meta_hetci.json"), digits = NA, auto_unbox = TRUE,
           pretty = TRUE, na = "null")
