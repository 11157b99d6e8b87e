#!/usr/bin/env Rscript
# A RevMan 5 review written for the tests (tests/io/data/synthetic.rm5) and the values RevMan 5
# would store in it, computed with metafor and the formulas of Deeks & Higgins, "Statistical
# algorithms in Review Manager 5" (2010). metakit is not used.
#
# Analyses (comparison 1):
#   1.1 DICH RD, Mantel-Haenszel, random effects: MH estimate (rma.mh), Greenland & Robins (1985)
#       variance by hand, Q = sum w (y - MH)^2 with inverse-variance w, DL tau2 from that Q,
#       random-effects pooling by rma(tau2 = that tau2)
#   1.2 DICH Peto OR, fixed (rma.peto); one double-zero study marked ESTIMABLE="NO"
#   1.3 DICH RR, inverse variance, random (DL), two subgroups; test for subgroup differences =
#       fixed-effect Q of the subgroup estimates
#   1.4 CONT MD, random (DL)
#   1.5 CONT SMD, random (DL), RevMan's approximate Hedges' g: g = d (1 - 3/(4N - 9)),
#       var = N/(n1 n2) + g^2 / (2 (N - 3.94))
#   1.6 IV "Hazard Ratio", LOG_DATA="YES" (EFFECT_SIZE stored as a ratio), fixed; one row not estimable
#   1.7 IV "Mean Difference", random (DL), 90% confidence intervals
#   1.8 IPD O-E and variance, fixed: y = O-E/V, var = 1/V (Peto)
#   1.9 an empty DICH outcome (no study data, no results)
#   1.10 DICH OR, Mantel-Haenszel, fixed, SWAP_EVENTS="YES" (non-events analysed), optional
#        attributes (CI_STUDY, CI_TOTAL, MODIFIED, ORDER) left out
# Also: study names with Windows-1252 bytes (0x92, 0x96) in a file declaring ISO-8859-1, and
# RoB 1 quality items (two study-level items, one group-level item with two outcome groups,
# one judgement missing).
# Also "fleiss_smd": the Fleiss 1993 file's outcome 1.2 (SMD, fixed), whose results RevMan left blank.
#
# usage: Rscript tests/reference/revman_synthetic.R   (writes revman_synthetic.json beside it
#        and tests/io/data/synthetic.rm5)

suppressPackageStartupMessages({ library(metafor); library(jsonlite) })
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
out_rm5 <- file.path(here, "..", "io", "data", "synthetic.rm5")

num <- function(x) {
  if (length(x) == 0 || is.na(x)) return("")
  for (d in 15:17) { s <- sprintf(paste0("%.", d, "g"), x); if (as.numeric(s) == x) return(s) }
  s
}
attrs <- function(a) paste(sprintf('%s="%s"', names(a), vapply(a, function(v)
  if (is.character(v)) v else num(v), "")), collapse = " ")
i2 <- function(Q, df) if (Q > 0) max(0, 100 * (Q - df) / Q) else 0
pooled <- function(est, se, Q, df, tau2, k, ratio, level = 0.95) {
  z <- qnorm(1 - (1 - level) / 2)
  tr <- if (ratio) exp else identity
  list(estimate = tr(est), ci_lb = tr(est - z * se), ci_ub = tr(est + z * se), z = abs(est / se),
       pval = 2 * pnorm(-abs(est / se)), Q = Q, pval_Q = if (df > 0) pchisq(Q, df, lower.tail = FALSE) else 1,
       I2 = i2(Q, df), tau2 = tau2, df = df, k = k, log_estimate = est, se = se)
}
dl_tau2 <- function(Q, w, df) max(0, (Q - df) / (sum(w) - sum(w^2) / sum(w)))

studies <- data.frame(
  id = sprintf("STD-S%02d", 1:14),
  name = c("Adams 1999", "O\u2019Brien 2001", "M\u00fcller\u2013Schmidt 2003", "Baker 2004", "Chen 2005",
           "Diaz 2006", "Evans 2007", "Fischer 2008", "Garcia 2009", "Hughes 2010", "Ito 2011",
           "Jones 2012", "Khan 2013", "Lopez 2014"),
  year = as.character(c(1999, 2001, 2003:2014)), stringsAsFactors = FALSE)

outcomes <- list(); expected <- list()
study_attr <- function(ids, ...) { list(ids = ids, ...) }

# ---- 1.1 RD MH random --------------------------------------------------------------------
d <- data.frame(id = studies$id[1:6], a = c(12, 8, 20, 5, 15, 9), n1 = c(100, 80, 150, 60, 120, 90),
                c = c(30, 10, 31, 6, 14, 28), n2 = c(100, 82, 148, 58, 118, 91))
b <- d$n1 - d$a; dd <- d$n2 - d$c; N <- d$n1 + d$n2
mh <- rma.mh(ai = a, n1i = n1, ci = c, n2i = n2, data = d, measure = "RD")
rd <- c(mh$beta)
var_gr <- sum((d$a * b * d$n2^3 + d$c * dd * d$n1^3) / (d$n1 * d$n2 * N^2)) / sum(d$n1 * d$n2 / N)^2
es <- escalc("RD", ai = a, n1i = n1, ci = c, n2i = n2, data = d)
w <- 1 / es$vi
Q <- sum(w * (es$yi - rd)^2)
t2 <- dl_tau2(Q, w, 5)
re <- rma(es$yi, es$vi, tau2 = t2)
wr <- 1 / (es$vi + t2)
expected[["1.1"]] <- list(pooled = pooled(c(re$beta), re$se, Q, 5, t2, 6, FALSE),
                          common = list(estimate = rd, se = sqrt(var_gr)),
                          yi = es$yi, vi = es$vi, weight = 100 * wr / sum(wr))
outcomes[["1.1"]] <- list(type = "DICH", measure = "RD", method = "MH", random = "YES", d = d,
                          yi = es$yi, vi = es$vi, weight = 100 * wr / sum(wr))

# ---- 1.2 Peto OR fixed, one double-zero study ------------------------------------------------
d <- data.frame(id = studies$id[c(2, 3, 7, 8, 9)], a = c(3, 0, 7, 0, 2), n1 = c(50, 40, 60, 30, 45),
                c = c(8, 2, 12, 0, 6), n2 = c(52, 41, 58, 30, 44))
use <- !(d$a == 0 & d$c == 0)
pf <- rma.peto(ai = a, n1i = n1, ci = c, n2i = n2, data = d, subset = use)
N <- d$n1 + d$n2; m1 <- d$a + d$c
E <- d$n1 * m1 / N; V <- d$n1 * d$n2 * m1 * (N - m1) / (N^2 * (N - 1))
yi <- ifelse(use, (d$a - E) / V, NA); vi <- ifelse(use, 1 / V, NA)
wt <- ifelse(use, 100 * V / sum(V[use]), NA)
expected[["1.2"]] <- list(pooled = pooled(c(pf$beta), pf$se, pf$QE, sum(use) - 1, 0, sum(use), TRUE),
                          yi = yi[use], vi = vi[use], weight = wt[use])
outcomes[["1.2"]] <- list(type = "DICH", measure = "PETO_OR", method = "PETO", random = "NO", d = d,
                          estimable = use, yi = yi, vi = vi, weight = wt)

# ---- 1.3 RR IV random, two subgroups -------------------------------------------------------
d <- data.frame(id = studies$id[c(1, 4, 5, 6, 10, 11, 12)],
                g = c("Low dose", "Low dose", "Low dose", "High dose", "High dose", "High dose", "High dose"),
                a = c(10, 30, 6, 5, 22, 11, 0), n1 = c(60, 75, 40, 55, 110, 70, 35),
                c = c(16, 20, 19, 12, 30, 19, 3), n2 = c(62, 70, 41, 57, 108, 69, 36), stringsAsFactors = FALSE)
es <- escalc("RR", ai = a, n1i = n1, ci = c, n2i = n2, data = d)
all <- rma(yi, vi, data = es, method = "DL")
sub <- list(); se_g <- est_g <- c()
for (grp in c("Low dose", "High dose")) {
  sel <- d$g == grp  # computed outside rma(): inside, `g` would name the data column
  f <- rma(es$yi[sel], es$vi[sel], method = "DL")
  sub[[grp]] <- pooled(c(f$beta), f$se, f$QE, f$k - 1, f$tau2, f$k, TRUE)
  est_g <- c(est_g, c(f$beta)); se_g <- c(se_g, f$se)
}
tst <- rma(est_g, sei = se_g, method = "FE")
wr <- 1 / (es$vi + all$tau2)
expected[["1.3"]] <- list(pooled = pooled(c(all$beta), all$se, all$QE, all$k - 1, all$tau2, all$k, TRUE),
                          subgroups = sub, test = list(Q = tst$QE, df = 1, pval = tst$QEp, I2 = i2(tst$QE, 1)),
                          yi = es$yi, vi = es$vi, weight = 100 * wr / sum(wr))
outcomes[["1.3"]] <- list(type = "DICH", measure = "RR", method = "IV", random = "YES", d = d,
                          yi = es$yi, vi = es$vi, weight = 100 * wr / sum(wr), sub = sub, test = tst)

# ---- 1.4 MD random ---------------------------------------------------------------------------
d <- data.frame(id = studies$id[c(2, 4, 6, 8, 10)], m1 = c(5.2, 4.8, 6.1, 5.5, 4.9), s1 = c(1.1, 1.3, 1.5, 0.9, 1.2),
                n1 = c(30, 45, 28, 50, 35), m2 = c(5.9, 5.0, 6.9, 6.4, 5.1), s2 = c(1.2, 1.1, 1.6, 1.0, 1.4),
                n2 = c(31, 44, 30, 48, 36))
es <- escalc("MD", m1i = m1, sd1i = s1, n1i = n1, m2i = m2, sd2i = s2, n2i = n2, data = d)
f <- rma(yi, vi, data = es, method = "DL")
wr <- 1 / (es$vi + f$tau2)
expected[["1.4"]] <- list(pooled = pooled(c(f$beta), f$se, f$QE, 4, f$tau2, 5, FALSE), yi = es$yi, vi = es$vi,
                          weight = 100 * wr / sum(wr))
outcomes[["1.4"]] <- list(type = "CONT", measure = "MD", method = "IV", random = "YES", d = d,
                          yi = es$yi, vi = es$vi, weight = 100 * wr / sum(wr))

# ---- 1.5 SMD random (RevMan's g) --------------------------------------------------------------
revman_smd <- function(m1, s1, n1, m2, s2, n2) {
  N <- n1 + n2
  sp <- sqrt(((n1 - 1) * s1^2 + (n2 - 1) * s2^2) / (N - 2))
  g <- (m1 - m2) / sp * (1 - 3 / (4 * N - 9))
  list(yi = g, vi = N / (n1 * n2) + g^2 / (2 * (N - 3.94)))
}
d <- data.frame(id = studies$id[c(3, 5, 7, 9)], m1 = c(20, 18.5, 22, 19), s1 = c(4, 5, 6, 4.5), n1 = c(25, 40, 18, 33),
                m2 = c(23, 19, 26, 22.5), s2 = c(4.2, 5.5, 5, 4), n2 = c(24, 38, 20, 30))
es <- with(d, revman_smd(m1, s1, n1, m2, s2, n2))
f <- rma(es$yi, es$vi, method = "DL")
wr <- 1 / (es$vi + f$tau2)
expected[["1.5"]] <- list(pooled = pooled(c(f$beta), f$se, f$QE, 3, f$tau2, 4, FALSE), yi = es$yi, vi = es$vi,
                          weight = 100 * wr / sum(wr))
outcomes[["1.5"]] <- list(type = "CONT", measure = "SMD", method = "IV", random = "YES", d = d,
                          yi = es$yi, vi = es$vi, weight = 100 * wr / sum(wr))

# ---- 1.6 generic HR (ratio stored), fixed; last row not estimable ------------------------------------
d <- data.frame(id = studies$id[c(1, 3, 6, 9, 12, 13)], hr = c(0.75, 0.82, 0.60, 0.95, 0.70, NA),
                se = c(0.12, 0.20, 0.25, 0.15, 0.30, NA))
use <- !is.na(d$se)
f <- rma(log(d$hr[use]), sei = d$se[use], method = "FE")
w <- 1 / d$se^2
expected[["1.6"]] <- list(pooled = pooled(c(f$beta), f$se, f$QE, 4, 0, 5, TRUE), yi = log(d$hr[use]),
                          vi = d$se[use]^2, weight = 100 * w[use] / sum(w[use]))
outcomes[["1.6"]] <- list(type = "IV", measure = "Hazard Ratio", log = "YES", random = "NO", d = d, estimable = use,
                          yi = log(d$hr), vi = d$se^2, weight = 100 * w / sum(w[use]))

# ---- 1.7 generic MD, random, 90% CIs ---------------------------------------------------------
d <- data.frame(id = studies$id[c(2, 5, 8, 11, 14)], est = c(-1.2, -0.5, -2.0, 0.3, -0.9), se = c(0.5, 0.4, 0.8, 0.6, 0.35))
f <- rma(d$est, sei = d$se, method = "DL", level = 90)
wr <- 1 / (d$se^2 + f$tau2)
expected[["1.7"]] <- list(pooled = pooled(c(f$beta), f$se, f$QE, 4, f$tau2, 5, FALSE, level = 0.90),
                          metafor_ci = c(f$ci.lb, f$ci.ub), yi = d$est, vi = d$se^2, weight = 100 * wr / sum(wr))
outcomes[["1.7"]] <- list(type = "IV", measure = "Mean Difference", log = "NO", random = "YES", d = d, level = 90,
                          yi = d$est, vi = d$se^2, weight = 100 * wr / sum(wr))

# ---- 1.8 O-E and variance, fixed ---------------------------------------------------------------
d <- data.frame(id = studies$id[c(4, 7, 10, 13)], oe = c(-3.2, -1.5, -4.8, 0.6), v = c(8.1, 5.4, 12.3, 4.2))
f <- rma(d$oe / d$v, 1 / d$v, method = "FE")
expected[["1.8"]] <- list(pooled = pooled(c(f$beta), f$se, f$QE, 3, 0, 4, TRUE), yi = d$oe / d$v, vi = 1 / d$v,
                          weight = 100 * d$v / sum(d$v))
outcomes[["1.8"]] <- list(type = "IPD", random = "NO", d = d, yi = d$oe / d$v, vi = 1 / d$v,
                          weight = 100 * d$v / sum(d$v))

# ---- 1.10 OR MH fixed, swapped events, optional attributes missing ---------------------------------
d <- data.frame(id = studies$id[c(5, 6, 14)], a = c(30, 45, 20), n1 = c(40, 60, 25), c = c(25, 40, 15),
                n2 = c(41, 58, 26))
sw <- rma.mh(ai = n1 - a, n1i = n1, ci = n2 - c, n2i = n2, data = d, measure = "OR")
es <- escalc("OR", ai = n1 - a, n1i = n1, ci = n2 - c, n2i = n2, data = d)
w_mh <- with(d, (a) * (n2 - c) / (n1 + n2))  # (n1 - non-events1) * non-events2 / N
expected[["1.10"]] <- list(pooled = pooled(c(sw$beta), sw$se, sw$QE, 2, 0, 3, TRUE), yi = es$yi, vi = es$vi,
                           weight = 100 * w_mh / sum(w_mh))
outcomes[["1.10"]] <- list(type = "DICH", measure = "OR", method = "MH", random = "NO", swap = TRUE, d = d,
                           yi = es$yi, vi = es$vi, weight = 100 * w_mh / sum(w_mh))

# ---- Fleiss 1993 outcome 1.2 (SMD, fixed), left blank by RevMan ----------------------------------------
fl <- data.frame(m1 = c(5.0, 4.9, 22.5, 12.5, 6.5), s1 = c(4.7, 1.71, 3.44, 1.47, 0.76), n1 = c(13, 30, 35, 20, 8),
                 m2 = c(6.5, 6.1, 24.9, 12.3, 7.38), s2 = c(3.8, 2.3, 10.65, 1.66, 1.41), n2 = c(13, 50, 35, 20, 8))
es <- with(fl, revman_smd(m1, s1, n1, m2, s2, n2))
f <- rma(es$yi, es$vi, method = "FE")
expected[["fleiss_smd"]] <- list(pooled = pooled(c(f$beta), f$se, f$QE, 4, 0, 5, FALSE), yi = es$yi, vi = es$vi,
                                 weight = 100 * (1 / es$vi) / sum(1 / es$vi))

# ---- write the .rm5 ---------------------------------------------------------------------------------
name_of <- setNames(studies$name, studies$id)
xml <- c('<?xml version="1.0" encoding="ISO-8859-1" standalone="no"?>',
         '<COCHRANE_REVIEW ID="1" REVMAN_SUB_VERSION="5.3.5" REVMAN_VERSION="5" TYPE="INTERVENTION">',
         '<COVER_SHEET><TITLE>Synthetic review for metakit tests</TITLE></COVER_SHEET>',
         '<STUDIES_AND_REFERENCES><STUDIES><INCLUDED_STUDIES>')
for (i in seq_len(nrow(studies)))
  xml <- c(xml, sprintf('<STUDY DATA_SOURCE="PUB" ID="%s" NAME="%s" YEAR="%s"></STUDY>', studies$id[i],
                        studies$name[i], studies$year[i]))
xml <- c(xml, '</INCLUDED_STUDIES></STUDIES></STUDIES_AND_REFERENCES>')
# RoB 1: items 1-2 study level, item 3 group level with two groups; Diaz 2006 lacks item 2.
rob_ids <- studies$id[1:6]
it1 <- c("YES", "NO", "UNKNOWN", "YES", "YES", "NO")
it2 <- c("YES", "YES", "UNKNOWN", "NO", "YES", NA)
it3a <- c("YES", "NO", "YES", "UNKNOWN", "YES", "YES")
it3b <- c("NO", "NO", "YES", "YES", "UNKNOWN", "YES")
entries <- function(res, group = NULL) {
  out <- c()
  for (i in seq_along(rob_ids)) if (!is.na(res[i]))
    out <- c(out, sprintf('<QUALITY_ITEM_DATA_ENTRY %sRESULT="%s" STUDY_ID="%s"><DESCRIPTION/></QUALITY_ITEM_DATA_ENTRY>',
                          if (is.null(group)) "" else sprintf('GROUP_ID="%s" ', group), res[i], rob_ids[i]))
  out
}
xml <- c(xml, '<QUALITY_ITEMS>',
         '<QUALITY_ITEM CORE_ITEM="YES" ID="QIT-01" LEVEL="STUDY" NO="1"><NAME>Random sequence generation (selection bias)</NAME><QUALITY_ITEM_DATA>',
         entries(it1), '</QUALITY_ITEM_DATA></QUALITY_ITEM>',
         '<QUALITY_ITEM CORE_ITEM="YES" ID="QIT-02" LEVEL="STUDY" NO="2"><NAME>Allocation concealment (selection bias)</NAME><QUALITY_ITEM_DATA>',
         entries(it2), '</QUALITY_ITEM_DATA></QUALITY_ITEM>',
         '<QUALITY_ITEM CORE_ITEM="YES" ID="QIT-03" LEVEL="GROUP" NO="3"><NAME>Blinding of outcome assessment (detection bias)</NAME>',
         '<QUALITY_ITEM_DATA_ENTRY_GROUP ID="QIG-03.01" NO="1"><NAME>Objective outcomes</NAME></QUALITY_ITEM_DATA_ENTRY_GROUP>',
         '<QUALITY_ITEM_DATA_ENTRY_GROUP ID="QIG-03.02" NO="2"><NAME>Subjective outcomes</NAME></QUALITY_ITEM_DATA_ENTRY_GROUP>',
         '<QUALITY_ITEM_DATA>', entries(it3a, "QIG-03.01"), entries(it3b, "QIG-03.02"), '</QUALITY_ITEM_DATA></QUALITY_ITEM>',
         '<QUALITY_ITEM CORE_ITEM="YES" ID="QIT-04" LEVEL="STUDY" NO="4"><NAME>Other bias</NAME><QUALITY_ITEM_DATA/></QUALITY_ITEM>',
         '</QUALITY_ITEMS>')

stored_attrs <- function(p, logscale = TRUE) {
  list(CHI2 = p$Q, CI_END = p$ci_ub, CI_START = p$ci_lb, DF = p$df, EFFECT_SIZE = p$estimate, I2 = p$I2,
       P_CHI2 = p$pval_Q, P_Z = p$pval, STUDIES = p$k, TAU2 = p$tau2, Z = p$z)
}
study_row <- function(o, i, tag, extra) {
  z <- qnorm(1 - (1 - (if (is.null(o$level)) 95 else o$level) / 100) / 2)
  ratio <- o$type %in% c("IPD") || (o$type == "DICH" && o$measure %in% c("OR", "RR", "PETO_OR")) ||
    (o$type == "IV" && identical(o$log, "YES"))
  tr <- if (ratio) exp else identity
  est <- isTRUE(o$estimable[i]) || is.null(o$estimable)
  res <- if (est && !is.na(o$yi[i])) list(CI_END = tr(o$yi[i] + z * sqrt(o$vi[i])), CI_START = tr(o$yi[i] - z * sqrt(o$vi[i])),
                                          EFFECT_SIZE = tr(o$yi[i]), SE = sqrt(o$vi[i]), WEIGHT = o$weight[i])
         else list(CI_END = "", CI_START = "", EFFECT_SIZE = "", SE = "", WEIGHT = "0.0")
  if (o$type == "IV") { res$EFFECT_SIZE <- NULL; res$SE <- NULL }
  a <- c(res, list(ESTIMABLE = if (est) "YES" else "NO"), extra,
         if (isTRUE(o$swap)) list() else list(ORDER = i), list(STUDY_ID = o$d$id[i]))
  sprintf("<%s %s/>", tag, attrs(a[order(names(a))]))
}
write_outcome <- function(no, o, p, name) {
  tag <- paste0(o$type, "_OUTCOME"); dtag <- paste0(o$type, "_DATA")
  head <- c(stored_attrs(p), list(ID = sprintf("CMP-001.%02d", no), NO = no, RANDOM = o$random, TOTALS = "YES",
                                  SUBGROUPS = if (is.null(o$sub)) "NO" else "YES", SUBGROUP_TEST = "YES"))
  if (is.null(o$swap)) head <- c(head, list(CI_STUDY = if (is.null(o$level)) 95 else o$level,
                                            CI_TOTAL = if (is.null(o$level)) 95 else o$level,
                                            MODIFIED = "2024-01-01 10:00:00 +0000", SWAP_EVENTS = "NO"))
  else head <- c(head, list(SWAP_EVENTS = "YES"))
  if (o$type %in% c("DICH", "CONT")) head <- c(head, list(EFFECT_MEASURE = o$measure))
  if (o$type == "DICH") head <- c(head, list(METHOD = o$method))
  if (o$type == "IV") head <- c(head, list(LOG_DATA = o$log))
  if (o$type == "IPD") head <- c(head, list(METHOD = "PETO"))
  if (!is.null(o$test)) head <- c(head, list(Q = o$test$QE, P_Q = o$test$QEp, I2_Q = i2(o$test$QE, 1)))
  lines <- c(sprintf("<%s %s>", tag, attrs(head[order(names(head))])), sprintf("<NAME>%s</NAME>", name),
             "<GROUP_LABEL_1>Treatment</GROUP_LABEL_1>", "<GROUP_LABEL_2>Control</GROUP_LABEL_2>",
             if (o$type %in% c("IV", "IPD")) sprintf("<EFFECT_MEASURE>%s</EFFECT_MEASURE>",
                                                     if (o$type == "IPD") "Peto Odds Ratio" else o$measure),
             "<GRAPH_LABEL_1>Favours treatment</GRAPH_LABEL_1>", "<GRAPH_LABEL_2>Favours control</GRAPH_LABEL_2>")
  extra_of <- function(i) {
    d <- o$d
    switch(o$type,
           DICH = list(EVENTS_1 = d$a[i], TOTAL_1 = d$n1[i], EVENTS_2 = d$c[i], TOTAL_2 = d$n2[i]),
           CONT = list(MEAN_1 = d$m1[i], SD_1 = d$s1[i], TOTAL_1 = d$n1[i], MEAN_2 = d$m2[i], SD_2 = d$s2[i], TOTAL_2 = d$n2[i]),
           IV = list(EFFECT_SIZE = if (identical(o$log, "YES")) d$hr[i] else d$est[i], SE = d$se[i]),
           IPD = list(O_E = d$oe[i], VAR = d$v[i]))
  }
  rows <- seq_len(nrow(o$d))
  if (is.null(o$sub)) {
    lines <- c(lines, vapply(rows, function(i) study_row(o, i, dtag, extra_of(i)), ""))
  } else {
    k <- 0
    for (g in names(o$sub)) {
      k <- k + 1
      sg <- stored_attrs(o$sub[[g]])
      sg <- c(sg, list(ID = sprintf("CMP-001.%02d.%02d", no, k), NO = k))
      lines <- c(lines, sprintf("<%s_SUBGROUP %s>", o$type, attrs(sg[order(names(sg))])), sprintf("<NAME>%s</NAME>", g),
                 vapply(rows[o$d$g == g], function(i) study_row(o, i, dtag, extra_of(i)), ""),
                 sprintf("</%s_SUBGROUP>", o$type))
    }
  }
  c(lines, sprintf("</%s>", tag))
}
names_o <- c("1.1" = "Risk difference, Mantel-Haenszel, random", "1.2" = "Peto odds ratio",
             "1.3" = "Risk ratio, inverse variance, random, by dose", "1.4" = "Mean difference, random",
             "1.5" = "Standardised mean difference, random", "1.6" = "Hazard ratio (generic inverse variance)",
             "1.7" = "Mean difference (generic inverse variance), 90% CI", "1.8" = "O-E and variance",
             "1.10" = "Odds ratio, Mantel-Haenszel, events swapped")
xml <- c(xml, '<ANALYSES_AND_DATA CALCULATED_DATA="YES"><COMPARISON ID="CMP-001" NO="1"><NAME>Synthetic checks</NAME>')
for (key in c("1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.7", "1.8")) {
  no <- as.integer(sub("1.", "", key, fixed = TRUE))
  xml <- c(xml, write_outcome(no, outcomes[[key]], expected[[key]]$pooled, names_o[[key]]))
}
xml <- c(xml, paste0('<DICH_OUTCOME CHI2="" CI_END="" CI_START="" CI_STUDY="95" CI_TOTAL="95" DF="0" EFFECT_MEASURE="RR" ',
                     'EFFECT_SIZE="" ESTIMABLE="NO" I2="" ID="CMP-001.09" METHOD="MH" NO="9" P_CHI2="" P_Z="" RANDOM="NO" ',
                     'STUDIES="0" SUBGROUPS="NO" SUBGROUP_TEST="YES" SWAP_EVENTS="NO" TAU2="" TOTALS="YES" Z="">'),
         '<NAME>An outcome with no data yet</NAME><GROUP_LABEL_1>Treatment</GROUP_LABEL_1><GROUP_LABEL_2>Control</GROUP_LABEL_2>',
         '<GRAPH_LABEL_1>Favours treatment</GRAPH_LABEL_1><GRAPH_LABEL_2>Favours control</GRAPH_LABEL_2></DICH_OUTCOME>')
xml <- c(xml, write_outcome(10, outcomes[["1.10"]], expected[["1.10"]]$pooled, names_o[["1.10"]]))
xml <- c(xml, '</COMPARISON></ANALYSES_AND_DATA>', '</COCHRANE_REVIEW>')
con <- file(out_rm5, "wb")
writeBin(iconv(paste(c(xml, ""), collapse = "\n"), "UTF-8", "CP1252", toRaw = TRUE)[[1]], con)
close(con)

expected$rob <- list(ids = rob_ids, item1 = it1, item2 = it2, item3_objective = it3a, item3_subjective = it3b)
expected$studies <- studies
expected$software <- paste("R", getRversion(), "metafor", packageVersion("metafor"))
# numbers as the shortest of %.15g/%.16g/%.17g that reads back as the same double
exact <- function(x) {
  if (is.list(x) && !is.data.frame(x)) return(lapply(x, exact))
  if (!is.numeric(x)) return(x)
  s <- vapply(x, function(v) if (is.na(v)) "null" else num(v), "")
  structure(if (length(x) == 1) s else paste0("[", paste(s, collapse = ", "), "]"), class = "json")
}
json <- toJSON(exact(expected), auto_unbox = TRUE, json_verbatim = TRUE, pretty = TRUE)
writeLines(json, file.path(here, "revman_synthetic.json"))
