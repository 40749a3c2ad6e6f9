"""Reviewers' views of staged files: whole tables with linked findings, safe text and Markdown, PDF pages."""

from __future__ import annotations

import io

from PIL import Image

from egress_review.web.pdf_pages import page_count, render_page
from egress_review.web.previews import cell_anchor, preview, render_markdown


def small_counts(*cells: tuple[int, int]) -> dict:
    return {
        "rule": "small_counts",
        "verdict": "flag",
        "findings": [{"message": f"count {r} is below 10", "location": f"row {r}, column {c} 'n'"} for r, c in cells],
    }


def test_every_row_of_a_150_row_table_is_shown_with_every_finding_linked_to_its_cell():
    body = "".join(f"g{i},{i % 12}\n" for i in range(150))
    flagged = [(r, 2) for r in range(1, 151) if 0 < (r - 1) % 12 < 10]
    p = preview(7, "t.csv", ("group,n\n" + body).encode(), [small_counts(*flagged)], 5000)
    assert p.kind == "table" and len(p.rows) == p.total_rows == 150 and not p.truncated
    assert len(p.findings) == len(flagged) and all(f.anchor for f in p.findings)
    assert p.findings[-1].anchor == cell_anchor(7, flagged[-1][0], 2) == f"f7-r{flagged[-1][0]}-c2"
    assert set(p.flagged) == {cell_anchor(7, r, c) for r, c in flagged}


def test_a_finding_outside_the_shown_rows_is_listed_without_a_link():
    p = preview(1, "t.csv", b"g,n\na,1\nb,2\nc,3\n", [small_counts((1, 2), (3, 2))], 2)
    assert p.truncated and [f.anchor for f in p.findings] == ["f1-r1-c2", ""]
    assert [f.location for f in p.findings] == ["row 1, column 2 'n'", "row 3, column 2 'n'"]


def test_a_null_is_not_an_empty_string_and_totals_rows_are_marked():
    p = preview(1, "t.csv", b'group,n,note\na,1,\nb,2,""\nTotal,3,x\n', [], 100)
    assert p.rows == [["a", "1", None], ["b", "2", ""], ["Total", "3", "x"]]
    assert p.totals == [3]


def test_parquet_nulls_stay_nulls():
    import polars as pl

    buffer = io.BytesIO()
    pl.DataFrame({"g": ["a", None, ""], "n": [1, None, 3]}).write_parquet(buffer)
    p = preview(1, "t.parquet", buffer.getvalue(), [], 100)
    assert p.kind == "table" and p.rows == [["a", "1"], [None, None], ["", "3"]]


def test_text_is_shown_line_by_line_with_flagged_lines():
    checks = [
        {"rule": "participant_identifiers", "verdict": "block", "findings": [{"message": "m", "location": "line 2"}]}
    ]
    p = preview(3, "notes.txt", b"first\n<script>alert(1)</script>\nthird", checks, 10)
    assert p.kind == "text" and p.text_lines[1] == "<script>alert(1)</script>"  # the template escapes it
    assert p.flagged == {"f3-l2": [0]}


def test_markdown_is_rendered_without_the_files_html_images_or_script_links():
    html = render_markdown(
        "# Results\n\n<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n"
        "![plot](https://example.invalid/p.png)\n\n[x](javascript:alert(1)) **bold**\n"
    )
    assert "<h1>Results</h1>" in html and "<strong>bold</strong>" in html
    assert "<script" not in html and "<img" not in html and 'href="javascript' not in html
    assert "&lt;script&gt;" in html
    p = preview(1, "README.md", b"# Title\n\ntext", [], 10)
    assert p.kind == "markdown" and "<h1>Title</h1>" in p.markdown_html and p.text_lines[0] == "# Title"


def two_page_pdf() -> bytes:
    pages = [Image.new("RGB", (200, 100), colour) for colour in ("white", "red")]
    buffer = io.BytesIO()
    pages[0].save(buffer, format="PDF", save_all=True, append_images=pages[1:])
    return buffer.getvalue()


def test_pdf_pages_are_drawn_as_png_in_a_child_process():
    pdf = two_page_pdf()
    assert page_count(pdf) == 2
    assert preview(1, "report.pdf", pdf, [], 10).pages == 2
    png = render_page(pdf, 2)
    assert png is not None
    red, green, blue = Image.open(io.BytesIO(png)).getpixel((10, 10))[:3]
    assert red > 240 and green < 16 and blue < 16
    assert render_page(pdf, 3) is None


def test_a_broken_pdf_has_no_pages_and_no_preview():
    assert page_count(b"%PDF-1.7\nnot really") == 0
    assert preview(1, "report.pdf", b"%PDF-1.7\nnot really", [], 10).kind == "none"
