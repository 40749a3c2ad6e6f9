#' Read a Parquet table of the project's extract into a data.table.
#'
#' Debian bookworm has no Parquet reader for R (no arrow, no nanoparquet), and the workspace has no
#' route to CRAN. So the workspace's own Parquet reader (polars, in /opt/venv) writes the table as
#' CSV to scratch (/tmp) and data.table::fread reads it back; the CSV is deleted at once.
#' Types come back as fread reads them: whole numbers beyond 32 bits as bit64's integer64 (the
#' extract's pseudonyms, exactly), ISO dates as IDate, empty fields as NA.
#'
#' @param path a Parquet file, a folder of Parquet files or a glob, e.g. "/data/cohort/v1/baseline.parquet"
#' @param columns the columns to read (all when NULL); reading fewer is faster and smaller
#' @param ... further arguments to data.table::fread (e.g. colClasses)
read_parquet <- function(path, columns = NULL, ...) {
  csv <- tempfile(fileext = ".csv")
  on.exit(unlink(csv), add = TRUE)
  script <- system.file("python", "parquet_to_csv.py", package = "enclave", mustWork = TRUE)
  python <- getOption("enclave.python", "/opt/venv/bin/python")
  said <- suppressWarnings(system2(python, shQuote(c(script, path, csv, columns)), stdout = TRUE, stderr = TRUE))
  status <- attr(said, "status")
  if (!is.null(status) && status != 0) {
    stop("Reading ", path, " failed: ", paste(said, collapse = "\n"), call. = FALSE)
  }
  data.table::fread(csv, na.strings = "", ...)
}
