"""Measuring information (enclave.metering.information): repeats cost a reference, new bytes their compressed size."""

from __future__ import annotations

import base64
import json
import math
import os
import uuid
import zlib

import pytest

from enclave.metering.information import (
    BASE64_OVERHEAD,
    DIGESTS_PER_PERSON,
    MARK_COST,
    MIN_SEGMENT,
    PRIMER_BYTES,
    PRIMER_COST,
    REFERENCE_COST,
    SEND_COST,
    SMALL_SEND,
    ReceivedToday,
    StreamMeasure,
    base64_cost,
)

MB = 1024 * 1024


def sent(measure: StreamMeasure, memory: ReceivedToday, data: bytes) -> int:
    """Measure one send that went out, as the meter does; the counted bytes."""
    measured = measure.measure(data, memory)
    assert measured.raw == len(data)
    memory.remember(measured.new_digests)
    return measured.counted


def kernel_display(png: bytes) -> bytes:
    """A display_data message as the Jupyter server sends it: fresh ids every time, the PNG as base64."""
    return json.dumps(
        {
            "header": {
                "msg_id": uuid.uuid4().hex,
                "msg_type": "display_data",
                "session": uuid.uuid4().hex,
                "date": "2026-12-05T17:00:00.000000Z",
                "username": "alice",
                "version": "5.3",
            },
            "parent_header": {"msg_id": uuid.uuid4().hex},
            "metadata": {},
            "channel": "iopub",
            "content": {
                "data": {"image/png": base64.b64encode(png).decode(), "text/plain": "<Figure size 640x480>"},
                "metadata": {"image/png": {"width": 640, "height": 480}},
                "transient": {},
            },
        }
    ).encode()


def test_the_same_body_again_costs_one_reference():
    memory = ReceivedToday()
    notebook = json.dumps({"cells": [{"source": f"print({i})", "outputs": []} for i in range(200)]}).encode()
    first = sent(StreamMeasure(), memory, notebook)
    assert REFERENCE_COST < first <= len(zlib.compress(notebook, 1)) + 64
    assert sent(StreamMeasure(), memory, notebook) == REFERENCE_COST  # reopened: a new response, same body


def test_a_redrawn_plot_costs_its_message_around_it_not_the_image_again():
    memory, png = ReceivedToday(), os.urandom(40_000)  # PNG data is compressed already: incompressible
    first = sent(StreamMeasure(), memory, kernel_display(png))
    assert first >= len(png)
    again = sent(StreamMeasure(), memory, kernel_display(png))  # other header ids, same image
    assert again < 600


def test_the_plot_of_a_kernel_message_is_known_in_the_notebook_read_later():
    memory, png = ReceivedToday(), os.urandom(40_000)
    sent(StreamMeasure(), memory, kernel_display(png))
    notebook = json.dumps(
        {
            "content": {
                "cells": [
                    {
                        "cell_type": "code",
                        "source": "plot()",
                        "outputs": [
                            {"output_type": "display_data", "data": {"image/png": base64.b64encode(png).decode()}}
                        ],
                    }
                ]
            }
        }
    ).encode()
    assert sent(StreamMeasure(), memory, notebook) < 400


def test_a_megabyte_of_one_character_counts_little():
    assert sent(StreamMeasure(), ReceivedToday(), b"A" * MB) < MB // 100


def test_a_megabyte_of_random_bytes_counts_at_least_a_megabyte():
    assert sent(StreamMeasure(), ReceivedToday(), os.urandom(MB)) >= MB


def test_random_bytes_as_base64_count_at_least_the_bytes_they_encode():
    payload = os.urandom(256 * 1024)
    measure, memory = StreamMeasure(), ReceivedToday()
    text = base64.b64encode(payload)
    counted = sum(sent(measure, memory, text[i : i + 4096]) for i in range(0, len(text), 4096))
    assert counted >= len(payload)


def test_each_send_is_charged_as_it_goes_and_the_stream_remembers_what_it_compressed():
    measure, memory = StreamMeasure(), ReceivedToday()
    line = os.urandom(300)
    first = sent(measure, memory, line)
    assert first >= len(line) + SEND_COST
    assert sent(measure, memory, line) < 40  # within zlib's window: a back-reference, not the bytes again


def test_a_sequence_of_references_never_carries_more_than_it_is_charged():
    # An insider who made the person receive K distinct blocks can then signal by choosing which block to
    # send again: each choice carries log2(K) bits. Even with the largest memory, a reference costs more.
    assert 8 * REFERENCE_COST >= 8 * (1 + 5) + math.log2(DIGESTS_PER_PERSON)
    k = 256
    memory = ReceivedToday(capacity=k)
    blocks = [os.urandom(MIN_SEGMENT) for _ in range(k)]
    for block in blocks:
        sent(StreamMeasure(), memory, block)
    message = os.urandom(1000)  # 1000 symbols of log2(256) = 8 bits
    counted = sum(sent(StreamMeasure(), memory, blocks[symbol]) for symbol in message)
    assert counted == REFERENCE_COST * len(message) >= len(message)


def test_forgetting_the_oldest_only_counts_more():
    memory = ReceivedToday(capacity=2)
    bodies = [os.urandom(MIN_SEGMENT) for _ in range(3)]
    for body in bodies:
        sent(StreamMeasure(), memory, body)
    assert len(memory) == 2
    assert sent(StreamMeasure(), memory, bodies[0]) > len(bodies[0])  # forgotten: charged in full again
    assert sent(StreamMeasure(), memory, bodies[2]) == REFERENCE_COST


def test_short_bodies_are_not_remembered_and_nothing_costs_nothing():
    memory = ReceivedToday()
    assert StreamMeasure().measure(b"", memory).counted == 0
    small = b'{"execution_state": "idle"}'
    assert sent(StreamMeasure(), memory, small) >= SEND_COST
    assert len(memory) == 0


def test_memory_capacity_is_checked():
    with pytest.raises(ValueError, match="capacity"):
        ReceivedToday(capacity=0)


def chunked(data: bytes, sizes) -> list[bytes]:
    """`data` cut as an HTTP body reaches the edge: anywhere."""
    pieces, at, turn = [], 0, 0
    while at < len(data):
        size = sizes[turn % len(sizes)]
        pieces.append(data[at : at + size])
        at, turn = at + size, turn + 1
    return pieces


def notebook_body(png: bytes, text: str) -> bytes:
    return json.dumps(
        {
            "name": "analysis.ipynb",
            "last_modified": "2026-12-05T17:00:00Z",
            "content": {
                "cells": [
                    {
                        "cell_type": "code",
                        "source": "df.describe()",
                        "outputs": [{"output_type": "stream", "text": text}],
                    },
                    {
                        "cell_type": "code",
                        "source": "plot()",
                        "outputs": [
                            {"output_type": "display_data", "data": {"image/png": base64.b64encode(png).decode()}}
                        ],
                    },
                ]
            },
        }
    ).encode()


def test_a_notebook_reread_in_other_chunks_costs_little_the_second_time():
    png, text = os.urandom(60_000), "".join(f"row {i}: {os.urandom(8).hex()}\n" for i in range(2000))
    body = notebook_body(png, text)
    memory = ReceivedToday()
    first = StreamMeasure()
    first_cost = sum(sent(first, memory, piece) for piece in chunked(body, [65_536, 4_000, 30_000]))
    assert first_cost >= len(png)
    again = StreamMeasure()
    costs = [sent(again, memory, piece) for piece in chunked(body, [16_384, 50_000, 7_777])]
    assert 0 < sum(costs) < 2_000  # the long strings are references; the rest is a little JSON
    assert min(costs) < 0  # a run that spanned sends gave back what its pieces were charged


def test_a_run_spanning_sends_is_charged_as_it_goes_and_new_runs_are_remembered():
    memory = ReceivedToday()
    body = b'{"data": "' + base64.b64encode(os.urandom(90_000)) + b'"}'
    measure = StreamMeasure()
    costs = [sent(measure, memory, piece) for piece in chunked(body, [10_000])]
    assert all(cost > 0 for cost in costs)  # nothing waits to be charged
    assert sum(costs) >= 90_000
    prefix = b'{"other": 1, "data": "'  # the same string in another document, cut elsewhere
    other = StreamMeasure()
    again = [sent(other, memory, piece) for piece in [prefix + body[10:30_000]] + chunked(body[30_000:], [25_000])]
    assert sum(again) < 600


def test_random_bytes_in_many_chunks_count_at_least_their_length():
    body = b'"' + os.urandom(500_000).replace(b'"', b"'") + b'"'
    measure, memory = StreamMeasure(), ReceivedToday()
    assert sum(sent(measure, memory, piece) for piece in chunked(body, [1_000, 65_536, 333])) >= 500_000


def kernel_stream(text: str) -> bytes:
    return json.dumps(
        {
            "header": {"msg_id": uuid.uuid4().hex, "msg_type": "stream"},
            "parent_header": {},
            "metadata": {},
            "channel": "iopub",
            "content": {"name": "stdout", "text": text},
        }
    ).encode()


def test_printed_base64_counts_what_it_encodes_lines_and_padding_included():
    measure, memory, payload = StreamMeasure(), ReceivedToday(), os.urandom(300_000)
    lines = [base64.b64encode(payload[i : i + 1000]).decode() for i in range(0, len(payload), 1000)]
    messages = [kernel_stream("\n".join(lines[i : i + 30]) + "\n") for i in range(0, len(lines), 30)]
    counted = sum(sent(measure, memory, message) for message in messages)
    assert len(payload) <= counted < 1.1 * len(payload)
    assert base64_cost(base64.b64encode(os.urandom(300))) == 300 + BASE64_OVERHEAD
    padded = base64.b64encode(os.urandom(298)) + b"\\n"  # 398 symbols, "==", a newline as JSON writes it
    assert base64_cost(padded) == (6 * 398 + 7) // 8 + 3 * MARK_COST + BASE64_OVERHEAD
    varied = base64.b64encode(os.urandom(300))
    assert base64_cost(varied + b"!") is None and base64_cost(varied + b"===") is None
    assert base64_cost(b"x" * 600) is None  # repeats itself: zlib says it carries less


def test_a_long_repetitive_string_in_json_counts_little():
    body = b'{"content": "' + b"x" * 100_000 + b'"}'
    assert sent(StreamMeasure(), ReceivedToday(), body) < 1_000


def test_a_stream_starts_from_what_the_person_received_lately_so_heads_cost_little():
    memory = ReceivedToday()

    def head(n: int) -> bytes:
        return (
            f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {1000 + n}\r\n"
            f"Content-Security-Policy: frame-ancestors 'self'; report-uri /user/alice/alpha/api/security/csp\r\n"
            f'Date: Sat, 05 Dec 2026 18:{n % 60:02d}:00 GMT\r\nEtag: "{uuid.uuid4().hex}"\r\n\r\n'
        ).encode()

    heads = []

    def send_head(n: int) -> int:
        heads.append(head(n))
        measured = StreamMeasure(primer=memory.primer()).measure(heads[-1], memory)
        memory.remember(measured.new_digests, heads[-1])
        return measured.counted

    first = send_head(0)
    assert first >= len(zlib.compress(heads[0], 9))  # nothing to start from
    later = [send_head(n) for n in range(1, 20)]
    assert max(later) < first / 2 and min(later) >= PRIMER_COST + SEND_COST + 16  # the Etag is new each time
    assert len(memory.primer()) <= PRIMER_BYTES
    memory.remember((), b"x" * (SMALL_SEND + 1))  # large sends do not push heads out
    assert memory.primer().endswith(heads[-1])


def test_bytes_like_sends_are_measured_alike():
    body = b'{"a": "' + base64.b64encode(os.urandom(3000)) + b'"}'
    counts = {
        kind: StreamMeasure().measure(kind(body), ReceivedToday()).counted for kind in (bytes, bytearray, memoryview)
    }
    assert len(set(counts.values())) == 1
