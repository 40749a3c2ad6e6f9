"""Measuring the information a response carries for the person who receives it, not its length.

Counting raw bytes punishes repetition (a notebook reopened, a plot redrawn) and is generous to
padding; what a budget must bound is what the person LEARNS. So each send is charged the length of
a lossless description of it, given what that person already holds:

- A send, or a long segment of a stream, that the same person already received today (same
  digest) is charged REFERENCE_COST bytes: a tag, its offset and its index among at most
  `capacity` remembered digests fit in 16 bytes (1 + 5 + 4), so a sequence of references can
  never say more than it is charged, however an insider orders them.
- A new segment written in base64's alphabet (a plot's PNG, or what an insider prints, lines
  ending in JSON's "\\n") is charged 6 bits a character, MARK_COST bytes for each "=" or "\\n"
  (its position) and BASE64_OVERHEAD for its tag and length: no alphabet of 64 symbols can carry
  more, and not compressing it keeps the edge fast.
- Everything else is charged its size under one zlib compressor per stream, sync-flushed after
  every block: the receiver's own inflater, fed the same blocks, gets the bytes back (a flush
  ends each block on a byte boundary, so blocks are separable), and a segment's bytes replaced by
  a reference are known to the receiver, who puts them in the inflater's window. One byte per send
  ends its list of references.
- Each stream's compressor starts from a preset dictionary: the last PRIMER_BYTES of the small
  sends (heads, short answers) the person received before it began. They hold those bytes, and
  PRIMER_COST bytes, charged once per stream, say which moment's they were; so the hundredth
  near-identical response head costs tens of bytes, not hundreds.

The sum is the length of a code the receiver could decode into exactly the bytes they were sent,
knowing only what they already received: an upper bound on the information received, never an
estimate (information cannot exceed the length of a lossless description). A weaker compression
level only loosens the bound (more is counted); forgetting digests (the memory is capped, oldest
first) and remembering per edge process rather than across them only over-count.

Segments are found by a C-speed regular expression: runs of at least MIN_SEGMENT bytes between two
double quotes. In JSON that is a long string value: a plot's base64 PNG inside a kernel message
whose header ids differ each time, the same PNG or a long output inside a notebook read through
the contents API. An HTTP body reaches the meter in chunks cut anywhere, so a run may span sends:
its pieces are charged as they go, each in a block of its own, and when the run ends and proves a
repeat, what its pieces were charged beyond one reference is given back (`counted` of that send
may then be negative). Nothing is ever charged later than it is sent.
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

BASE64_OVERHEAD = 8  # a base64 segment's tag (1) and length (up to 5), rounded up
MARK_COST = 5  # the position of one "=" or escaped newline in a base64 segment (a varint)
PRIMER_BYTES = 16 * 1024  # how much of a person's recent small sends primes each new stream
PRIMER_COST = 8  # names the moment of the person's history the primer was taken at
SMALL_SEND = 4096  # sends up to this size feed the primer (heads and short answers)
TRACKED_TAIL = 64  # a run left open at the end of a send is followed into the next one from this length

_SEGMENTS = re.compile(rb'(?<=")[^"]{%d,}(?=")' % MIN_SEGMENT)  # complete runs between two quotes
# Lines of base64: its 64 symbols, up to two "=" of padding, a JSON-escaped newline (possessive: no backtracking).
_BASE64 = re.compile(rb"(?:[A-Za-z0-9+/]++={0,2}+(?:\\n)?+)++")
_NEWLINE = b"\\n"
VARIED = 32  # distinct bytes in a segment's first 256 that make it worth charging as base64 rather than zlib


def base64_cost(segment) -> int | None:
    """What a segment in base64's alphabet can carry, in bytes with its token; None: charge it otherwise.

    A segment that repeats itself (few distinct bytes at its start) is left to zlib, which finds it
    carries less; which way was taken is one bit of the segment's tag.
    """
    if len(set(bytes(segment[:256]))) < VARIED:
        return None
    segment = bytes(segment)
    if not _BASE64.fullmatch(segment):
        return None
    marks = segment.count(_NEWLINE) + segment.count(b"=")
    symbols = len(segment) - marks - segment.count(_NEWLINE)  # a newline is two bytes
    return (6 * symbols + 7) // 8 + MARK_COST * marks + BASE64_OVERHEAD


def _digest(data) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


class ReceivedToday:
    """Digests of what one person already received today, most recent last, at most `capacity`."""

    def __init__(self, capacity: int = DIGESTS_PER_PERSON):
        if not 1 <= capacity < 2**32:
            raise ValueError("capacity must be between 1 and 2**32 - 1 digests")
        self.capacity = capacity
        self._digests: OrderedDict[bytes, None] = OrderedDict()
        self._recent = bytearray()  # the last PRIMER_BYTES of the small sends received

    def __len__(self) -> int:
        return len(self._digests)

    def holds(self, digest: bytes) -> bool:
        if digest in self._digests:
            self._digests.move_to_end(digest)
            return True
        return False

    def primer(self) -> bytes:
        """What a new stream's compressor starts from (see above)."""
        return bytes(self._recent)

    def remember(self, digests, sent: bytes = b"") -> None:
        """Remember what was really sent: its new digests, and the bytes themselves if it was small."""
        if 0 < len(sent) <= SMALL_SEND:
            self._recent += sent
            del self._recent[:-PRIMER_BYTES]
        for digest in digests:
            self._digests[digest] = None
            self._digests.move_to_end(digest)
        while len(self._digests) > self.capacity:
            self._digests.popitem(last=False)  # forgetting only over-counts


@dataclass(frozen=True)
class Measured:
    """What one send carries: `counted` bytes of information, `raw` bytes on the wire."""

    counted: int  # negative when a run that spanned sends proved a repeat (see above)
    raw: int
    new_digests: tuple[bytes, ...] = ()  # to remember once the bytes were really sent


class _OpenRun:
    """A run between quotes that the last send left open: its digest so far and what its pieces were charged."""

    def __init__(self):
        self.hash = hashlib.blake2b(digest_size=16)
        self.length = 0
        self.charged = 0

    def add(self, piece, charged: int) -> None:
        self.hash.update(piece)
        self.length += len(piece)
        self.charged += charged


class StreamMeasure:
    """The information measure of one stream (one HTTP response, or one websocket's direction)."""

    def __init__(self, level: int = COMPRESSION_LEVEL, primer: bytes = b""):
        self._compressor = zlib.compressobj(level, zdict=primer) if primer else zlib.compressobj(level)
        self._open: _OpenRun | None = None
        self._primer_cost = PRIMER_COST if primer else 0  # charged with the first send

    def _block(self, *parts) -> int:
        """Compress `parts` as one sync-flushed block; its size in bytes."""
        size = sum(len(self._compressor.compress(part)) for part in parts if len(part))
        return size + len(self._compressor.flush(zlib.Z_SYNC_FLUSH))

    def _piece(self, piece) -> int:
        """The charge of a piece of an open run: as base64 if it is written in its alphabet, else a block."""
        cost = base64_cost(piece)
        return self._block(piece) if cost is None else cost

    def measure(self, data: bytes, received: ReceivedToday) -> Measured:
        if not isinstance(data, (bytes, bytearray)):
            data = bytes(data)  # a memoryview: find and the expressions want bytes
        raw = len(data)
        if raw == 0:
            return Measured(0, 0)
        view = memoryview(data)
        whole = None
        if raw >= MIN_SEGMENT:
            whole = _digest(view)
            if received.holds(whole):
                self._open = None  # an open run's pieces stay charged: over-counts only
                return Measured(REFERENCE_COST, raw)
        counted, new, start = SEND_COST + self._primer_cost, [], 0
        self._primer_cost = 0
        if self._open is not None:  # the first bytes continue the run the last send left open
            run, end = self._open, data.find(b'"')
            piece_end = raw if end < 0 else end
            charged = self._piece(view[:piece_end])
            counted += charged
            run.add(view[:piece_end], charged)
            if end < 0:
                return Measured(counted, raw)
            self._open, start = None, end
            if run.length >= MIN_SEGMENT:
                digest = run.hash.digest()
                if received.holds(digest):
                    counted -= max(0, run.charged - REFERENCE_COST)  # its pieces become one reference
                else:
                    new.append(digest)
        last_quote = data.rfind(b'"')
        tail = raw if last_quote < start or raw - last_quote - 1 < TRACKED_TAIL else last_quote + 1
        literal = []
        for match in _SEGMENTS.finditer(data, start, tail):
            begin, end = match.span()
            digest = _digest(view[begin:end])
            if received.holds(digest):
                counted += REFERENCE_COST
            else:
                new.append(digest)
                cost = base64_cost(view[begin:end])
                if cost is None:
                    continue  # stays in the literal
                counted += cost
            literal.append(view[start:begin])
            start = end
        literal.append(view[start:tail])
        counted += self._block(*literal)
        if tail < raw:  # a long open run: charged on its own, followed into the next send
            self._open = _OpenRun()
            charged = self._piece(view[tail:])
            self._open.add(view[tail:], charged)
            counted += charged
        if whole is not None:
            new.append(whole)
        return Measured(counted, raw, tuple(new))
