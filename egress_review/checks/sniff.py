"""Detect a file's kind from its bytes (magic numbers and structure), never its name.

The name matters only where content alone cannot decide how to read text: a
text file named *.csv / *.tsv is read as a table even when its first lines are
irregular, so that a title line cannot move a table out of the table checks.
"""

from __future__ import annotations

import csv
import io
import json
import pickletools
import re
from dataclasses import dataclass
from pathlib import PurePath

from .kinds import TABLE_EXTENSIONS, FileKind

UTF8_BOM = b"\xef\xbb\xbf"
SNIFF_BYTES = 64 * 1024
DELIMITERS = (",", "\t", ";", "|")

# (offset, magic, kind, what) checked in order
_MAGIC: tuple[tuple[int, bytes, FileKind, str], ...] = (
    (0, b"\x7fELF", FileKind.ELF, "ELF executable or library"),
    (0, b"MZ", FileKind.PE, "Windows/DOS executable (PE)"),
    (0, b"\xfe\xed\xfa\xce", FileKind.MACH_O, "Mach-O executable"),
    (0, b"\xfe\xed\xfa\xcf", FileKind.MACH_O, "Mach-O executable"),
    (0, b"\xce\xfa\xed\xfe", FileKind.MACH_O, "Mach-O executable"),
    (0, b"\xcf\xfa\xed\xfe", FileKind.MACH_O, "Mach-O executable"),
    (0, b"\xca\xfe\xba\xbe", FileKind.MACH_O, "Mach-O universal binary or Java class"),
    (0, b"\x00asm", FileKind.WASM, "WebAssembly module"),
    (0, b"PK\x03\x04", FileKind.ZIP, "zip archive (also docx/xlsx/pptx/jar)"),
    (0, b"PK\x05\x06", FileKind.ZIP, "zip archive (empty)"),
    (0, b"PK\x07\x08", FileKind.ZIP, "zip archive (spanned)"),
    (0, b"\x1f\x8b", FileKind.GZIP, "gzip-compressed data"),
    (0, b"BZh", FileKind.BZIP2, "bzip2-compressed data"),
    (0, b"\xfd7zXZ\x00", FileKind.XZ, "xz-compressed data"),
    (0, b"7z\xbc\xaf\x27\x1c", FileKind.SEVEN_ZIP, "7-Zip archive"),
    (0, b"\x28\xb5\x2f\xfd", FileKind.ZSTD, "zstd-compressed data"),
    (0, b"Rar!\x1a\x07", FileKind.RAR, "RAR archive"),
    (0, b"\x04\x22\x4d\x18", FileKind.LZ4, "lz4-compressed data"),
    (0, b"\x1f\x9d", FileKind.UNIX_COMPRESS, "compress (.Z) data"),
    (0, b"MSCF", FileKind.CAB, "Microsoft cabinet archive"),
    (257, b"ustar", FileKind.TAR, "tar archive"),
    (0, b"\x89HDF\r\n\x1a\n", FileKind.HDF5, "HDF5 container (also NetCDF-4)"),
    (0, b"CDF\x01", FileKind.NETCDF, "NetCDF classic file"),
    (0, b"CDF\x02", FileKind.NETCDF, "NetCDF 64-bit offset file"),
    (0, b"CDF\x05", FileKind.NETCDF, "NetCDF 64-bit data file"),
    (0, b"SQLite format 3\x00", FileKind.SQLITE, "SQLite database"),
    (0, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", FileKind.OLE, "OLE compound file (legacy Office, MSI)"),
    (0, b"\x89PNG\r\n\x1a\n", FileKind.PNG, "PNG image"),
    (0, b"\xff\xd8\xff", FileKind.JPEG, "JPEG image"),
    (0, b"%PDF-", FileKind.PDF, "PDF document"),
)
# HDF5 may start after a user block of 512, 1024, 2048... bytes
_HDF5_OFFSETS = (512, 1024, 2048, 4096, 8192)

# bytes that never appear in text other than as these whitespace controls
_CONTROL_BYTES = bytes(b for b in range(32) if b not in b"\t\n\r\x0c\x0b") + b"\x7f"

_MARKUP_START = re.compile(r"\s*<(\?xml|!DOCTYPE|!--|[A-Za-z])", re.IGNORECASE)
_HTML = re.compile(r"<!DOCTYPE\s+html|<html[\s>]|<head[\s>]|<body[\s>]|<script[\s>]", re.IGNORECASE)
_SVG_ROOT = re.compile(r"<(?:[A-Za-z_][\w.-]*:)?svg[\s>/]")


@dataclass(frozen=True)
class Detection:
    kind: FileKind
    what: str  # a short description a reviewer can read
    delimiter: str = ""  # for CSV
    bom: bool = False  # text started with a UTF-8 byte order mark


def extension(name: str) -> str:
    return PurePath(name).suffix.lower()


def detect(data: bytes, name: str) -> Detection:
    """The kind of `data`, decided by its content. `name` only chooses how text tables are read."""
    ext = extension(name)
    for offset, magic, kind, what in _MAGIC:
        if data[offset : offset + len(magic)] == magic:
            return Detection(kind, what)
    if len(data) >= 8 and data[:4] == b"PAR1" and data[-4:] == b"PAR1":
        return Detection(FileKind.PARQUET, "Parquet table")
    for offset in _HDF5_OFFSETS:
        if data[offset : offset + 8] == b"\x89HDF\r\n\x1a\n":
            return Detection(FileKind.HDF5, "HDF5 container with a user block")
    if _is_python_bytecode(data):
        return Detection(FileKind.PYTHON_BYTECODE, "compiled Python bytecode")
    if data[:1] == b"\x80" and data[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return Detection(FileKind.PICKLE, "Python pickle")
    if _is_pickle(data):
        return Detection(FileKind.PICKLE, "Python pickle")
    return _detect_text(data, ext)


def _is_python_bytecode(data: bytes) -> bool:
    # 2-byte little-endian magic number (3000-3999 for CPython 3, so its high
    # byte is 0x0B-0x0F), "\r\n", then flags and a timestamp holding NUL bytes.
    return len(data) >= 16 and data[2:4] == b"\r\n" and 0x0B <= data[1] <= 0x0F and b"\x00" in data[4:16]


def _is_pickle(data: bytes) -> bool:
    """Protocol 0/1 pickles are (mostly) ASCII; they end with the STOP opcode '.'."""
    if not data.endswith(b"."):
        return False
    try:
        *_, (opcode, _, position) = pickletools.genops(data)
    except Exception:
        return False
    return opcode.name == "STOP" and position == len(data) - 1


def _detect_text(data: bytes, ext: str) -> Detection:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return Detection(FileKind.UNKNOWN, "UTF-16 text: save it as UTF-8")
    bom = data.startswith(UTF8_BOM)
    body = data[3:] if bom else data
    controls = len(body) - len(body.translate(None, _CONTROL_BYTES))
    if controls:
        return Detection(FileKind.UNKNOWN, "binary data (control bytes) of no allowed type")
    if not body.isascii():  # isascii is a fast scan; decoding only validates
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            return Detection(FileKind.UNKNOWN, "binary data or text not encoded as UTF-8 (save it as UTF-8)")
    head = body[:SNIFF_BYTES].decode("utf-8", errors="ignore")
    truncated = len(body) > SNIFF_BYTES
    if head.startswith("#!"):
        return Detection(FileKind.SCRIPT, "executable script (starts with #!)", bom=bom)
    if _MARKUP_START.match(head):
        if _SVG_ROOT.search(head):
            return Detection(FileKind.SVG, "SVG image", bom=bom)
        if _HTML.search(head):
            return Detection(FileKind.HTML, "HTML document", bom=bom)
        if head.lstrip().startswith("<?xml"):
            return Detection(FileKind.XML, "XML document (not SVG)", bom=bom)
    stripped = head.lstrip()
    if stripped[:1] in ("{", "["):
        try:
            value = json.loads(body)
        except ValueError:
            pass
        else:
            if is_acro_results(value):
                return Detection(FileKind.ACRO_RESULTS, "ACRO results file (JSON)", bom=bom)
            return Detection(FileKind.JSON, "JSON", bom=bom)
    if ext in TABLE_EXTENSIONS:
        delimiter = sniff_delimiter(head, truncated=truncated) or TABLE_EXTENSIONS[ext]
        return Detection(FileKind.CSV, "delimited text table", delimiter=delimiter, bom=bom)
    delimiter = sniff_delimiter(head, truncated=truncated, min_records=2)
    if delimiter:
        return Detection(FileKind.CSV, "delimited text table", delimiter=delimiter, bom=bom)
    return Detection(FileKind.TEXT, "plain text" if body else "empty file", bom=bom)


def sniff_delimiter(sample: str, *, truncated: bool, min_records: int = 1) -> str:
    """The delimiter giving every record of the sample the same number (>= 2) of fields, or ""."""
    if truncated:
        sample = sample[: sample.rfind("\n") + 1]
    best, best_fields = "", 1
    for delimiter in DELIMITERS:
        try:
            records = [r for r in csv.reader(io.StringIO(sample), delimiter=delimiter) if r]
        except csv.Error:
            continue
        if truncated and records:
            records.pop()  # may be cut inside a quoted field
        widths = {len(r) for r in records}
        if len(records) >= min_records and len(widths) == 1:
            (fields,) = widths
            if fields > best_fields:
                best, best_fields = delimiter, fields
    return best


def is_acro_results(value: object) -> bool:
    """True for the structure ACRO's `finalise(..., "json")` writes (checked against acro 0.4-1.0).

    {"version": "...", "results": {"output_0": {"uid": ..., "status": "pass|fail|review",
    "type": ..., "files": [...], "summary": ..., ...}, ...}} (acro >= 1.0 adds "tool").
    """
    if not isinstance(value, dict) or not isinstance(value.get("results"), dict):
        return False
    if not isinstance(value.get("version"), str):
        return False
    tool = value.get("tool")
    if isinstance(tool, dict) and str(tool.get("name", "")).upper() == "ACRO":
        return True
    outputs = value["results"].values()
    return bool(outputs) and all(isinstance(o, dict) and "status" in o and "uid" in o and "files" in o for o in outputs)
