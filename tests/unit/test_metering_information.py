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
    DIGESTS_PER_PERSON,
    MIN_SEGMENT,
    REFERENCE_COST,
    SEND_COST,
    ReceivedToday,
    StreamMeasure,
)

pytestmark = pytest.mark.unit

MB = 1024 * 1024


def sent(measure: StreamMeasure, memory: ReceivedToday, data: bytes) -> int:
    """Measure one send that went out, as the meter does; the counted bytes."""
    measured = measure.measure(data, memory)
    assert measured.raw == len(data)
    memory.remember(measured.new_digests)
    return measured.counted


def kernel_display(png: bytes) -> bytes:
    """A display_data message as the Jupyter server sends it: fresh ids every time, the PNG as base64."""
    return json.dumps({
        "header": {"msg_id": uuid.uuid4().hex, "msg_type": "display_data", "session": uuid.uuid4().hex,
                   "date": "2026-12-05T17:00:00.000000Z", "username": "alice", "version": "5.3"},
        "parent_header": {"msg_id": uuid.uuid4().hex}, "metadata": {}, "channel": "iopub",
        "content": {"data": {"image/png": base64.b64encode(png).decode(), "text/plain": "<Figure size 640x480>"},
                    "metadata": {"image/png": {"width": 640, "height": 480}}, "transient": {}},
    }).encode()


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
    notebook = json.dumps({"content": {"cells": [{"cell_type": "code", "source": "plot()", "outputs": [
        {"output_type": "display_data", "data": {"image/png": base64.b64encode(png).decode()}}]}]}}).encode()
    assert sent(StreamMeasure(), memory, notebook) < 400


def test_a_megabyte_of_one_character_counts_little():
    assert sent(StreamMeasure(), ReceivedToday(), b"A" * MB) < MB // 100


def test_a_megabyte_of_random_bytes_counts_at_least_a_megabyte():
    assert sent(StreamMeasure(), ReceivedToday(), os.urandom(MB)) >= MB


def test_random_bytes_as_base64_count_at_least_the_bytes_they_encode():
    payload = os.urandom(256 * 1024)
    measure, memory = StreamMeasure(), ReceivedToday()
    text = base64.b64encode(payload)
    counted = sum(sent(measure, memory, text[i:i + 4096]) for i in range(0, len(text), 4096))
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
