"""What a file is, by content, and which kinds may leave the enclave.

Deny by default: a kind is allowed only if it is in ALLOWED_KINDS, and a file
name's extension is allowed only if it is in EXTENSION_KINDS, naming the kinds
its content may have.
"""

from __future__ import annotations

import enum


class FileKind(str, enum.Enum):
    # allowed
    CSV = "csv"  # delimited text table (comma, tab, semicolon or pipe)
    PARQUET = "parquet"
    TEXT = "text"  # UTF-8 plain text or Markdown
    JSON = "json"
    ACRO_RESULTS = "acro_results"  # ACRO's results.json (a JSON file)
    PNG = "png"
    JPEG = "jpeg"
    SVG = "svg"
    PDF = "pdf"
    # refused: executable
    ELF = "elf"
    PE = "pe"  # Windows / DOS executable
    MACH_O = "mach_o"  # also Java class files (same magic)
    WASM = "wasm"
    SCRIPT = "script"  # text starting with #!
    PYTHON_BYTECODE = "python_bytecode"
    # refused: archives and compressed data
    ZIP = "zip"  # also docx, xlsx, pptx, jar, odt
    GZIP = "gzip"
    BZIP2 = "bzip2"
    XZ = "xz"
    SEVEN_ZIP = "7z"
    TAR = "tar"
    ZSTD = "zstd"
    RAR = "rar"
    LZ4 = "lz4"
    UNIX_COMPRESS = "unix_compress"
    CAB = "cab"
    # refused: data containers that hide what they hold
    PICKLE = "pickle"
    HDF5 = "hdf5"  # also NetCDF-4, MATLAB v7.3, AnnData
    NETCDF = "netcdf"
    SQLITE = "sqlite"
    OLE = "ole"  # legacy Office (xls, doc), MSI
    # refused: markup that can run code, and anything not recognised
    HTML = "html"
    XML = "xml"  # XML other than SVG
    UNKNOWN = "unknown"  # binary or non-UTF-8 text

    @property
    def allowed(self) -> bool:
        return self in ALLOWED_KINDS

    @property
    def is_table(self) -> bool:
        return self in TABLE_KINDS

    @property
    def is_text(self) -> bool:
        """Content a reader sees as characters (identifiers can be searched as tokens)."""
        return self in TEXT_KINDS


ALLOWED_KINDS = frozenset(
    {
        FileKind.CSV,
        FileKind.PARQUET,
        FileKind.TEXT,
        FileKind.JSON,
        FileKind.ACRO_RESULTS,
        FileKind.PNG,
        FileKind.JPEG,
        FileKind.SVG,
        FileKind.PDF,
    }
)
TABLE_KINDS = frozenset({FileKind.CSV, FileKind.PARQUET})
TEXT_KINDS = frozenset({FileKind.TEXT, FileKind.JSON, FileKind.ACRO_RESULTS, FileKind.SVG})

_TEXTUAL = frozenset({FileKind.TEXT, FileKind.CSV})

# extension (lower case, with dot) -> the kinds its content may have
EXTENSION_KINDS: dict[str, frozenset[FileKind]] = {
    ".csv": frozenset({FileKind.CSV}),
    ".tsv": frozenset({FileKind.CSV}),
    ".tab": frozenset({FileKind.CSV}),
    ".txt": _TEXTUAL,
    ".md": _TEXTUAL,
    ".markdown": _TEXTUAL,
    ".log": _TEXTUAL,
    ".json": frozenset({FileKind.JSON, FileKind.ACRO_RESULTS}),
    ".parquet": frozenset({FileKind.PARQUET}),
    ".pq": frozenset({FileKind.PARQUET}),
    ".png": frozenset({FileKind.PNG}),
    ".jpg": frozenset({FileKind.JPEG}),
    ".jpeg": frozenset({FileKind.JPEG}),
    ".svg": frozenset({FileKind.SVG}),
    ".pdf": frozenset({FileKind.PDF}),
}

# extensions whose text content is always read as a table
TABLE_EXTENSIONS = {".csv": ",", ".tsv": "\t", ".tab": "\t"}
