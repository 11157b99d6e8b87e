#!/usr/bin/env Rscript
# Reference values for metakit's tests on Mantel-Haenszel odds ratios, from metafor 3.8.1
# (Debian r-cran-metafor) and base R's stats::mantelhaen.test.
#
# rma.mh(measure = "OR") stores:
#   MH, MHp  Cochran-Mantel-Haenszel test (hypergeometric variance, N - 1), printed as "CMH"
#   CO, COp  the same with Cochran's binomial variance (N)
#   BD, BDp  Breslow-Day test of homogeneity of odds ratios, df = k.pos - 1
#   TA, TAp  Tarone's corrected Breslow-Day test (printed as "Tarone's Test for Heterogeneity")
# with correct = TRUE (default; continuity correction 0.5) and correct = FALSE.
# mantelhaen.test(exact = FALSE) is an independent implementation of the CMH test; it caps the
# continuity correction at |O - E| (metafor subtracts 0.5 even when |O - E| < 0.5).
#
# Data sets: dat.bcg (metadat), dat.collins1985a (metadat; mortality d.xti/d.xci and rebleeding
# o.xti/o.xci: NA tables, single-zero and double-zero tables), dat.collins1985b (pre-eclampsia),
# dat.laopaiboon2015, the double-zero example of issue 8, and two constructed edge cases.
#
# usage: Rscript tests/reference/metafor_mhtests.R  (writes metafor_mhtests.json beside it)

suppressPackageStartupMessages({ library(metafor); library(jsonlite) })
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))

num <- function(x) as.numeric(x)

cmh_base <- function(ai, n1i, ci, n2i, correct) {
  ok <- !(is.na(ai) | is.na(ci) | is.na(n1i) | is.na(n2i))
  # rows: arm (experimental, control); columns: event, no event; layers: tables
  tab <- aperm(array(c(ai[ok], ci[ok], n1i[ok] - ai[ok], n2i[ok] - ci[ok]),
                     dim = c(sum(ok), 2, 2)), c(2, 3, 1))
  r <- tryCatch(mantelhaen.test(tab, correct = correct, exact = FALSE),
                error = function(e) NULL)
  if (is.null(r)) return(NULL)
  list(statistic = unname(r$statistic), df = unname(r$parameter), pval = r$p.value)
}

one <- function(label, note, ai, n1i, ci, n2i) {
  fits <- list()
  for (correct in c(TRUE, FALSE)) {
    f <- suppressWarnings(rma.mh(ai = ai, n1i = n1i, ci = ci, n2i = n2i, measure = "OR",
                                 correct = correct))
    fits[[if (correct) "correct" else "uncorrected"]] <- list(
      MH = num(f$MH), MHp = num(f$MHp), CO = num(f$CO), COp = num(f$COp),
      BD = num(f$BD), BDp = num(f$BDp), TA = num(f$TA), TAp = num(f$TAp),
      k = f$k, k_pos = f$k.pos, estimate = num(f$beta),
      mantelhaen = cmh_base(ai, n1i, ci, n2i, correct))
  }
  list(label = label, note = note, ai = ai, n1i = n1i, ci = ci, n2i = n2i, fits = fits)
}

b <- dat.bcg
ca <- dat.collins1985a
cb <- dat.collins1985b
lp <- dat.laopaiboon2015
cases <- list(
  bcg = one("dat.bcg", "tpos/tpos+tneg vs cpos/cpos+cneg", b$tpos, b$tpos + b$tneg,
            b$cpos, b$cpos + b$cneg),
  collins1985a_mortality = one("dat.collins1985a d.xti/nti vs d.xci/nci",
    "three tables with NA counts (omitted), single-zero tables, one double-zero table (Foco 1984)",
    ca$d.xti, ca$nti, ca$d.xci, ca$nci),
  collins1985a_rebleeding = one("dat.collins1985a b.xti/nti vs b.xci/nci",
    "two NA tables, one double-zero table (Colecchia 1981), one single-zero table",
    ca$b.xti, ca$nti, ca$b.xci, ca$nci),
  collins1985b = one("dat.collins1985b pre.xti/pre.nti vs pre.xci/pre.nci", "pre-eclampsia",
    cb$pre.xti, cb$pre.nti, cb$pre.xci, cb$pre.nci),
  laopaiboon2015 = one("dat.laopaiboon2015", "one single-zero table (Whitlock 1995)",
    lp$ai, lp$n1i, lp$ci, lp$n2i),
  double_zero = one("issue 8 double-zero example",
    "5/50 vs 10/50, 0/40 vs 0/35, 12/60 vs 15/60, 3/45 vs 8/44",
    c(5, 0, 12, 3), c(50, 40, 60, 45), c(10, 0, 15, 8), c(50, 35, 60, 44)),
  small_delta = one("constructed: |O - E| < 0.5",
    "sum(O - E) = 7 - 40 * 14 / 85 = 0.41 so metafor's corrected CMH subtracts more than |O - E|; mantelhaen.test caps it",
    c(5, 3, 7), c(50, 30, 40), c(5, 3, 7), c(50, 30, 45)),
  all_events = one("constructed: a table with every participant an event and a null OR",
    "table 2 has b = d = 0 (excluded from BD); MH OR exactly 1; sum(O - E) = 0",
    c(4, 10, 6), c(20, 10, 30), c(4, 12, 6), c(20, 12, 30))
)

out <- list(
  software = list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
                  metadat = as.character(packageVersion("metadat"))),
  note = paste("rma.mh(measure = 'OR') with correct = TRUE ('correct') and FALSE ('uncorrected');",
               "other arguments at their defaults (add = 1/2 only for the per-study yi, to = 'only0',",
               "drop00 = TRUE); NA counts are null; mantelhaen is stats::mantelhaen.test(exact = FALSE)"),
  cases = cases)
write_json(out, file.path(here, "metafor_mhtests.json"), digits = NA, auto_unbox = TRUE,
           pretty = TRUE, na = "null")
