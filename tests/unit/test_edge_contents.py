"""The edge's size check on contents API answers: files over the limit refused, notebooks and listings pass."""

from __future__ import annotations

import base64
import json

import pytest

from enclave.edge.contents import HOLD, PASS, REFUSE, ContentsCheck, cap_for

LIMIT = 64 * 1024


def model(content, kind="file", fmt="text", **extra) -> bytes:
    # The key order of jupyter-server's models: content comes before type and format.
    return json.dumps(
        {
            "name": "x",
            "path": "x",
            "last_modified": "2026-01-01T00:00:00Z",
            "content": content,
            "format": fmt,
            "mimetype": "text/plain",
            "size": 1,
            "writable": True,
            "type": kind,
            **extra,
        }
    ).encode()


def judge(body: bytes, chunk: int = 1000) -> str:
    check = ContentsCheck(LIMIT)
    for start in range(0, len(body), chunk):
        verdict = check.feed(body[start : start + chunk])
        if verdict != HOLD:
            return verdict
    return check.finish()


@pytest.mark.parametrize("chunk", [1, 7, 1000, 10**9])
def test_a_small_text_file_passes(chunk):
    assert judge(model("a,b\n1,2\n"), chunk) == PASS


def test_a_text_file_at_the_limit_passes_and_one_byte_more_is_refused():
    assert judge(model("x" * LIMIT)) == PASS
    assert judge(model("x" * (LIMIT + 1))) == REFUSE


def test_base64_is_judged_on_the_decoded_bytes():
    assert judge(model(base64.b64encode(b"\0" * LIMIT).decode(), fmt="base64")) == PASS
    assert judge(model(base64.b64encode(b"\0" * (LIMIT + 1)).decode(), fmt="base64")) == REFUSE


def test_multibyte_text_is_judged_in_bytes():
    assert judge(model("é" * (LIMIT // 2 + 1))) == REFUSE  # 2 bytes each


def test_a_huge_file_is_refused_before_it_is_all_read():
    check = ContentsCheck(LIMIT)
    body = model("y" * (cap_for(LIMIT) * 2))
    verdicts = [check.feed(body[i : i + 65536]) for i in range(0, cap_for(LIMIT) + 65536, 65536)]
    assert verdicts[-1] == REFUSE and len(check.buffer) <= cap_for(LIMIT) + 65536


def test_notebooks_and_listings_pass_at_once_whatever_their_size():
    nb = {"cells": [{"cell_type": "code", "source": "x" * (LIMIT * 4), "outputs": [], "metadata": {}}]}
    check = ContentsCheck(LIMIT)
    assert check.feed(model(nb, kind="notebook", fmt="json")[:400]) == PASS
    listing = [{"name": f"f{i}", "type": "file"} for i in range(5000)]
    assert judge(model(listing, kind="directory", fmt="json")) == PASS


def test_a_large_notebook_arriving_in_one_chunk_passes():
    nb = {"cells": [{"cell_type": "markdown", "source": "x" * (cap_for(LIMIT) * 2), "metadata": {}}]}
    assert ContentsCheck(LIMIT).feed(model(nb, kind="notebook", fmt="json")) == PASS


def test_a_model_without_content_passes():
    assert judge(model(None, fmt=None)) == PASS


def test_a_list_passes_checkpoints():
    assert judge(json.dumps([{"id": "checkpoint", "last_modified": "x"}]).encode()) == PASS


def test_an_empty_body_passes():
    assert judge(b"") == PASS


@pytest.mark.parametrize(
    "body", [b"<html>not json</html>", b'{"content": "unterminated', b"\xff\xfe", b'{"content": 12, "type": "file"}']
)
def test_unreadable_answers_are_refused(body):
    assert judge(body) == REFUSE


def test_small_error_pages_pass_but_not_large_ones_nor_successes():
    page = b"<html>Server not running</html>"
    for status, body, verdict in [
        (503, page, PASS),
        (302, b"", PASS),
        (200, page, REFUSE),
        (500, b"<html>" + b"x" * LIMIT + b"</html>", REFUSE),
    ]:
        check = ContentsCheck(LIMIT, status)
        assert check.feed(body) == HOLD or not body
        assert check.finish() == verdict, (status, len(body))


def test_invalid_base64_is_refused():
    assert judge(model("!!!not base64!!!", fmt="base64")) == REFUSE


def test_an_error_answer_passes():
    assert judge(json.dumps({"message": "No such file", "reason": None}).encode()) == PASS
