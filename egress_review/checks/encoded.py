"""Finding encoded payloads: long runs of base64/hex-like characters, and anything that decodes to
a compressed or binary stream.

A text is scanned as places (lines of a text, cells of a Parquet column, text
chunks of an image, streams of a PDF), vectorised with polars:

- runs of the base64 alphabet (hex is a subset; '-' and '_' for URL-safe
  base64) of at least 32 characters inside a place, and blocks of
  consecutive places that are wholly such characters (base64 wrapped at 76
  characters a line, a payload cut into cells) joined into one run;
- a run blocks when it is at least `min_run` characters long with at least
  `min_entropy` bits of Shannon entropy per character (DNA or a row of 'x'
  is long but not dense), or when its start decodes (base64 or hex) to a
  compressed, archive or executable stream (gzip, zlib, bzip2, xz, zstd,
  lz4, zip, 7z, Parquet, pickle, ELF, PE...);
- a text whose runs of >= 64 characters make up at least `min_share` of its
  non-blank characters (and at least `min_run` characters) is mostly
  encoded and blocks even when cut into short pieces;
- runs of `min_run` printable characters without a space (base85, Ascii85)
  with at least 5 bits a character block too;
- lines of at least 64 numbers 0-255 (bytes written as numbers) block when
  they decode to such a stream or are as dense as compressed data.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import zlib
from collections import Counter
from dataclasses import dataclass

import polars as pl

from .kinds import FileKind
from .sniff import detect

ALPHABET = r"A-Za-z0-9+/_\-"
_RUN = rf"[{ALPHABET}]{{32,}}={{0,2}}"
_WHOLE = rf"^[{ALPHABET}]{{16,}}={{0,2}}$"
_HEX_ONLY = re.compile(r"^[0-9a-fA-F]+$")
# how the start of a compressed/binary stream looks once base64- or hex-encoded
_MAGIC_PREFIX = (
    r"^(?:H4sI|eJ|eN|eA|eF|Qlpo|/Td6WFo|_Td6WFo|KLUv|BCJNGA|UEsDB|UEsFB|N3q8|UEFSMQ|gA[SNWQ]|gAJ|f0VMR|TVqQ|"
    r"iVBORw0KGgo|JVBER|U1FMaXRl|0M8R4KGx|"
    r"1f8b|78(?:9c|da|01|5e)|425a68|fd377a585a|28b52ffd|04224d18|504b03|377abcaf|50415231|80(?:0[2-5])|"
    r"7f454c46|4d5a|89504e47|25504446)"
)
_BYTE_LIST = re.compile(r"(?:\b\d{1,3}\b[ \t]*[,; \t][ \t]*){63,}\b\d{1,3}\b")
RUN_IN_SHARE = 64
DENSE_ENTROPY = 5.0  # bits a character: base85 of compressed data has ~6.4; text without spaces far less
SAMPLE_DECODE = 96  # characters of a run decoded to look at its first bytes
MAX_REPORTED = 50


@dataclass(frozen=True)
class Payload:
    place: str
    length: int  # characters (or bytes, for byte lists)
    what: str  # "base64 run of high entropy (5.9 bits/char)", "hex that decodes to gzip-compressed data", ...


def scan(places: pl.DataFrame, min_run: int, min_entropy: float, min_share: float) -> list[Payload]:
    """Payloads in `places` (columns: "place" label, "text", "group": places chain only within a group)."""
    if not places.height:
        return []
    places = places.with_row_index("i")
    found: list[Payload] = []
    runs = (
        places.select("i", "place", pl.col("text").str.extract_all(_RUN).alias("run")).explode("run").drop_nulls("run")
    )
    whole = places.filter(pl.col("text").str.strip_chars().str.contains(_WHOLE))
    if whole.height:
        # consecutive whole places of one group form one run (a wrapped payload)
        blocks = (
            whole.with_columns(
                ((pl.col("i").diff() != 1) | (pl.col("group").diff() != 0)).fill_null(True).cum_sum().alias("block")
            )
            .group_by("block", maintain_order=True)
            .agg(
                pl.col("place").first(),
                pl.col("i").first(),
                pl.col("text").str.strip_chars().str.join(""),
                pl.len().alias("parts"),
            )
            .filter(pl.col("parts") > 1)
            .select("i", "place", pl.col("text").alias("run"))
        )
        runs = pl.concat([runs, blocks.cast(runs.schema)])
    runs = runs.with_columns(pl.col("run").str.len_chars().alias("length"))
    suspects = runs.filter((pl.col("length") >= min_run) | pl.col("run").str.contains(_MAGIC_PREFIX))
    for place, run, length in suspects.sort("i").select("place", "run", "length").iter_rows():
        what = judge(run, min_run, min_entropy)
        if what:
            found.append(Payload(place, length, what))
            if len(found) >= MAX_REPORTED:
                break
    if not found:
        found += _dense_runs(places, min_run)
    if not found:
        long_runs = int(runs.filter(pl.col("length") >= RUN_IN_SHARE).get_column("length").sum())
        total = int(places.get_column("text").str.replace_all(r"\s", "").str.len_chars().sum())
        if long_runs >= min_run and total and long_runs / total >= min_share:
            found.append(
                Payload(
                    places.get_column("place")[0],
                    long_runs,
                    f"mostly encoded text: {long_runs / total:.0%} of its characters are long runs "
                    "of base64/hex characters",
                )
            )
    found += _byte_lists(places)
    return found


def _dense_runs(places: pl.DataFrame, min_run: int) -> list[Payload]:
    """Runs of printable non-space characters (base85, Ascii85, Z85 and the like) of high entropy."""
    runs = (
        places.select("place", pl.col("text").str.extract_all(rf"[!-~]{{{max(min_run, 1)},}}").alias("run"))
        .explode("run")
        .drop_nulls("run")
    )
    found = []
    for place, run in runs.iter_rows():
        bits = entropy(run)
        if bits >= DENSE_ENTROPY:
            found.append(
                Payload(
                    place,
                    len(run),
                    f"run of printable characters of high entropy ({bits:.1f} bits a character, like base85)",
                )
            )
            if len(found) >= MAX_REPORTED:
                break
    return found


def judge(run: str, min_run: int, min_entropy: float) -> str:
    """Why `run` is a payload, or "" if it is not one."""
    alphabet = "hex" if _HEX_ONLY.match(run.rstrip("=")) else "base64"
    decoded = _decode_start(run, alphabet)
    if decoded:
        kind = detect(decoded, "payload.bin")
        if is_stream(kind.kind):
            return f"{alphabet} that decodes to {kind.what}"
        if _is_zlib(run, alphabet):
            return f"{alphabet} that decodes to zlib-compressed data"
    if len(run) >= min_run:
        bits = entropy(run)
        if bits >= min_entropy:
            return f"{alphabet} run of high entropy ({bits:.1f} bits a character)"
    return ""


def is_stream(kind: FileKind) -> bool:
    """A kind recognised by its magic number: compressed, archive, executable, container or image."""
    return kind not in (FileKind.UNKNOWN, FileKind.TEXT, FileKind.CSV, FileKind.JSON, FileKind.ACRO_RESULTS)


def entropy(text: str) -> float:
    counts = Counter(text)
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def _decode_start(run: str, alphabet: str) -> bytes:
    start = run[:SAMPLE_DECODE]
    try:
        if alphabet == "hex":
            return binascii.unhexlify(start[: len(start) // 2 * 2])
        start = start[: len(start) // 4 * 4]
        if "-" in start or "_" in start:
            return base64.urlsafe_b64decode(start)
        return base64.b64decode(start)
    except (binascii.Error, ValueError):
        return b""


def _is_zlib(run: str, alphabet: str) -> bool:
    try:
        if alphabet == "hex":
            data = binascii.unhexlify(run[: len(run) // 2 * 2][:8192])
        else:
            chunk = run[:8192]
            chunk = chunk[: len(chunk) // 4 * 4]
            data = base64.urlsafe_b64decode(chunk) if ("-" in chunk or "_" in chunk) else base64.b64decode(chunk)
    except (binascii.Error, ValueError):
        return False
    if len(data) < 2 or data[0] & 0x0F != 8 or ((data[0] << 8) | data[1]) % 31:
        return False
    try:
        return bool(zlib.decompressobj().decompress(data, 64))
    except zlib.error:
        return False


def _byte_lists(places: pl.DataFrame) -> list[Payload]:
    """Places holding 64 or more numbers 0-255 in a row that decode to a binary stream or dense data."""
    long_enough = places.filter(pl.col("text").str.len_bytes() >= 127)  # 64 numbers and their separators
    candidates = long_enough.filter(pl.col("text").str.count_matches(r"\b\d{1,3}\b") >= 64)
    found = []
    for place, text in candidates.select("place", "text").iter_rows():
        for match in _BYTE_LIST.finditer(text):
            values = [int(v) for v in re.findall(r"\d+", match.group(0))]
            if max(values) > 255:
                continue
            data = bytes(values)
            kind = detect(data, "payload.bin")
            if is_stream(kind.kind):
                found.append(Payload(place, len(data), f"numbers 0-255 that are the bytes of {kind.what}"))
            elif len(data) >= 256 and _byte_entropy(data) >= 7.0:
                found.append(Payload(place, len(data), "numbers 0-255 as dense as compressed data"))
            break
    return found


def _byte_entropy(data: bytes) -> float:
    counts = Counter(data)
    n = len(data)
    return -sum(c / n * math.log2(c / n) for c in counts.values())
