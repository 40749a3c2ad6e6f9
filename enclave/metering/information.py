"""Measuring the information a response carries for the person who receives it, not its length.

Counting raw bytes punishes repetition (a notebook reopened, a plot redrawn) and is generous to
padding; what a budget must bound is what the person LEARNS. So each send is charged the length of
a lossless description of it, given what that person already holds:

- A body, or a long segment of one, that the same person already received today (same digest) is
  charged REFERENCE_COST bytes: a tag, its offset in the send and its index among at most
  `capacity` remembered digests fit in 16 bytes (1 + 5 + 4), so a sequence of references can
  never say more than it is charged, however an insider orders them.
- Everything else is charged its size under one zlib compressor per stream, sync-flushed after
  every send: the receiver's own zlib decoder, fed the same flushed blocks, gets the bytes back,
  so the flushed output is a lossless description of what is new. One byte per send ends its
  list of references.

The sum is the length of a code the receiver could decode into exactly the bytes they were sent,
knowing only what they already received; no measure that undercounts that can exist, since
information cannot exceed the length of a lossless description (an upper bound, never an
estimate). Compression with a weaker level only makes the bound looser (more is counted). Forgetting
digests (the memory is capped, oldest first) only over-counts, and so does remembering per edge
process rather than across them.

Segments are found by a C-speed regular expression: the runs of at least MIN_SEGMENT bytes without
a quote or backslash that start right after one (or at the start). In JSON that is a long string
value, such as a plot's base64 PNG inside a kernel message whose header ids differ each time, or
the same PNG inside a notebook read through the contents API.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections import OrderedDict
from dataclasses import dataclass

REFERENCE_COST = 16  # bytes charged for content the person already holds (see above)
SEND_COST = 1  # ends a send's list of references
MIN_SEGMENT = 512  # shorter bodies and runs are not worth a reference
DIGESTS_PER_PERSON = 16384  # about 2 MiB per person at most; < 2**32, as the reference cost assumes
COMPRESSION_LEVEL = 1  # zlib's fastest: the edge relays at line rate; a weaker level over-counts, never under

_SEGMENTS = re.compile(rb'(?<![^"\\])[^"\\]{%d,}' % MIN_SEGMENT)


def _digest(data) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


class ReceivedToday:
    """Digests of what one person already received today, most recent last, at most `capacity`."""

    def __init__(self, capacity: int = DIGESTS_PER_PERSON):
        if not 1 <= capacity < 2**32:
            raise ValueError("capacity must be between 1 and 2**32 - 1 digests")
        self.capacity = capacity
        self._digests: OrderedDict[bytes, None] = OrderedDict()

    def __len__(self) -> int:
        return len(self._digests)

    def holds(self, digest: bytes) -> bool:
        if digest in self._digests:
            self._digests.move_to_end(digest)
            return True
        return False

    def remember(self, digests) -> None:
        for digest in digests:
            self._digests[digest] = None
            self._digests.move_to_end(digest)
        while len(self._digests) > self.capacity:
            self._digests.popitem(last=False)  # forgetting only over-counts


@dataclass(frozen=True)
class Measured:
    """What one send carries: `counted` bytes of information, `raw` bytes on the wire."""

    counted: int
    raw: int
    new_digests: tuple[bytes, ...] = ()  # to remember once the bytes were really sent


class StreamMeasure:
    """The information measure of one stream (one HTTP response, or one websocket's direction)."""

    def __init__(self, level: int = COMPRESSION_LEVEL):
        self._compressor = zlib.compressobj(level)

    def measure(self, data: bytes, received: ReceivedToday) -> Measured:
        raw = len(data)
        if raw == 0:
            return Measured(0, 0)
        view = memoryview(data)
        whole = None
        if raw >= MIN_SEGMENT:
            whole = _digest(view)
            if received.holds(whole):
                return Measured(REFERENCE_COST, raw)
        references, new, literal, start = 0, [], [], 0
        for match in _SEGMENTS.finditer(data):
            begin, end = match.span()
            digest = _digest(view[begin:end])
            if received.holds(digest):
                literal.append(view[start:begin])
                start = end
                references += 1
            else:
                new.append(digest)
        if whole is not None:
            new.append(whole)
        if start == 0:
            packed = self._compressor.compress(data)
        else:
            literal.append(view[start:])
            packed = b"".join(self._compressor.compress(part) for part in literal)
        packed_size = len(packed) + len(self._compressor.flush(zlib.Z_SYNC_FLUSH))
        return Measured(SEND_COST + packed_size + REFERENCE_COST * references, raw, tuple(new))
