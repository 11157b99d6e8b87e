# refjson.R -- shared helpers for metafor_metareg.R, metafor_defects.R and
# metafor_sensitivity.R (sourced by them; not run on its own).
#
# JSON rules (as metafor_pairwise.R): numbers are written with the shortest of
# %.15g/%.16g/%.17g that reads back as the same IEEE double; NA/NaN -> null;
# +Inf/-Inf -> the strings "Inf"/"-Inf".  An atomic vector of length 1 is a
# scalar unless wrapped in I() (arr() does that); named lists are objects,
# unnamed lists arrays; a matrix is an array of rows.

suppressPackageStartupMessages({
  library(metafor)
  library(metadat)
})

num_json <- function(x) {
  x <- as.double(x)
  out <- character(length(x))
  fin <- is.finite(x)
  if (any(fin)) {
    xf <- x[fin]
    s <- sprintf("%.15g", xf)
    for (fmt in c("%.16g", "%.17g")) {
      bad <- as.double(s) != xf
      if (any(bad)) s[bad] <- sprintf(fmt, xf[bad])
    }
    stopifnot(all(as.double(s) == xf))
    out[fin] <- s
  }
  out[is.na(x)] <- "null"
  out[!is.na(x) & is.infinite(x) & x > 0] <- "\"Inf\""
  out[!is.na(x) & is.infinite(x) & x < 0] <- "\"-Inf\""
  out
}

str_json <- function(x) {
  out <- vapply(as.character(x), function(s) {
    s <- enc2utf8(s)
    for (p in list(c("\\", "\\\\"), c("\"", "\\\""), c("\n", "\\n"), c("\r", "\\r"),
                   c("\t", "\\t")))
      s <- gsub(p[1], p[2], s, fixed = TRUE)
    paste0("\"", s, "\"")
  }, character(1), USE.NAMES = FALSE)
  out[is.na(x)] <- "null"
  out
}

atom_json <- function(x) {
  if (is.factor(x)) x <- as.character(x)
  if (is.logical(x)) {
    out <- ifelse(x, "true", "false"); out[is.na(x)] <- "null"; return(out)
  }
  if (is.numeric(x)) return(num_json(x))
  str_json(x)
}

to_json <- function(x, lvl = 0) {
  ind <- function(n) strrep(" ", n)
  if (is.null(x)) return("null")
  if (is.matrix(x) && !is.list(x)) {
    if (nrow(x) == 0) return("[]")
    rows <- vapply(seq_len(nrow(x)), function(i)
      paste0("[", paste(atom_json(unname(x[i, ])), collapse = ", "), "]"), character(1))
    return(paste0("[\n", paste0(ind(lvl + 1), rows, collapse = ",\n"), "\n", ind(lvl), "]"))
  }
  if (is.list(x)) {
    x <- unclass(x)
    nm <- names(x)
    if (length(x) == 0) return(if (is.null(nm)) "[]" else "{}")
    if (!is.null(nm)) {
      stopifnot(all(nzchar(nm)))
      items <- vapply(seq_along(x), function(i)
        paste0(ind(lvl + 1), str_json(nm[i]), ": ", to_json(x[[i]], lvl + 1)), character(1))
      return(paste0("{\n", paste(items, collapse = ",\n"), "\n", ind(lvl), "}"))
    }
    items <- vapply(seq_along(x), function(i)
      paste0(ind(lvl + 1), to_json(x[[i]], lvl + 1)), character(1))
    return(paste0("[\n", paste(items, collapse = ",\n"), "\n", ind(lvl), "]"))
  }
  asis <- inherits(x, "AsIs")
  vals <- atom_json(unclass(as.vector(x)))
  if (length(vals) == 1 && !asis) return(vals)
  paste0("[", paste(vals, collapse = ", "), "]")
}

write_json_out <- function(x, path) {
  con <- file(path, open = "w", encoding = "UTF-8")
  writeLines(to_json(x), con, useBytes = TRUE)
  close(con)
  message("wrote ", path)
}

# always an array (even of length 0 or 1); names dropped; NULL stays NULL (JSON null)
arr <- function(x) if (is.null(x)) NULL else I(unname(as.vector(x)))
# first element as a number, NA when absent
num1 <- function(x) if (is.null(x) || length(x) == 0) NA_real_ else as.double(x)[1]
# a matrix without dimnames (array of rows); NULL stays NULL
mat <- function(m) if (is.null(m)) NULL else unname(as.matrix(m))

software <- function() list(R = R.version.string,
                            metafor = as.character(packageVersion("metafor")),
                            metadat = as.character(packageVersion("metadat")),
                            platform = R.version$platform)

# Evaluate expr, collecting warnings (muffled) and turning an error into a value.
capture <- function(expr) {
  warns <- character(0)
  val <- withCallingHandlers(
    tryCatch(expr, error = function(e)
      structure(list(msg = conditionMessage(e)), class = "captured_error")),
    warning = function(w) {
      warns <<- c(warns, conditionMessage(w)); invokeRestart("muffleWarning")
    })
  list(value = val, warnings = warns, error = inherits(val, "captured_error"))
}

# Tight convergence for the iterative estimators: Fisher scoring (ML, REML, EB)
# stops when the absolute change in tau^2 is below threshold; PM/PMM use
# uniroot() with tol.  metafor's defaults (threshold 1e-5, tol ~1.2e-4) give
# tau^2 to only ~1e-7 (ML/REML/EB) or ~1e-4 (PM).
TIGHT <- list(threshold = 1e-12, tol = 1e-12, maxiter = 10000)
ITERATIVE <- c("ML", "REML", "EB", "PM", "PMM")
ctrl_for <- function(method) if (method %in% ITERATIVE) TIGHT else list()

script_dir <- function() {
  args <- commandArgs(trailingOnly = FALSE)
  p <- sub("^--file=", "", args[grep("^--file=", args)])
  if (length(p)) dirname(normalizePath(p)) else getwd()
}
