"""Structure checks for allowed binary and markup kinds: each returns the problems found.

- PNG: chunks walk from IHDR to IEND with valid CRCs, only known chunk types,
  no bytes after IEND (no appended archive), at most 64 KiB of text chunks.
- JPEG: ends at its End Of Image marker (no appended data).
- PDF: no active or hidden content (JavaScript, launch actions, embedded files,
  rich media, XFA forms, form submission), looked for in the raw bytes and in
  every Flate-compressed stream (object streams hide dictionaries there); no
  data after the last %%EOF.
- SVG: allowed only when it is passive: parsed as XML with no entity
  declarations, no <script>, no event handler attributes (on*), no
  foreignObject/iframe/embed/object, no javascript: URLs, no reference to
  anything outside the file (href/src other than '#fragment' or an embedded
  PNG/JPEG/GIF data: URL, CSS url() other than '#fragment', @import,
  xml-stylesheet), and no animation that rewrites a link.
"""

from __future__ import annotations

import re
import struct
import zlib
from xml.etree import ElementTree

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_CHUNKS = frozenset(
    b"IHDR PLTE IDAT IEND tRNS cHRM gAMA iCCP sBIT sRGB cICP mDCV cLLI bKGD hIST pHYs "
    b"sPLT eXIf tIME tEXt zTXt iTXt acTL fcTL fdAT".split()
)
PNG_TEXT_CHUNKS = frozenset({b"tEXt", b"zTXt", b"iTXt"})
PNG_MAX_TEXT = 64 * 1024


def png_problems(data: bytes) -> list[str]:
    if not data.startswith(PNG_SIGNATURE):
        return ["not a PNG signature"]
    pos, seen, text_bytes = len(PNG_SIGNATURE), [], 0
    while pos + 12 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        ctype = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        crc_at = pos + 8 + length
        if crc_at + 4 > len(data):
            return [f"chunk {ctype!r} is truncated"]
        (crc,) = struct.unpack(">I", data[crc_at : crc_at + 4])
        if zlib.crc32(ctype + body) & 0xFFFFFFFF != crc:
            return [f"chunk {ctype!r} has a bad checksum"]
        if not seen and ctype != b"IHDR":
            return ["first chunk is not IHDR"]
        if ctype not in PNG_CHUNKS:
            return [f"unknown chunk type {ctype!r} (could hide data)"]
        if ctype in PNG_TEXT_CHUNKS:
            text_bytes += length
        seen.append(ctype)
        pos = crc_at + 4
        if ctype == b"IEND":
            break
    problems = []
    if not seen or seen[-1] != b"IEND":
        problems.append("no IEND chunk: truncated image")
    elif pos != len(data):
        problems.append(f"{len(data) - pos} bytes after the end of the image (appended data)")
    if b"IDAT" not in seen:
        problems.append("no image data")
    if text_bytes > PNG_MAX_TEXT:
        problems.append(f"{text_bytes} bytes of text chunks (limit {PNG_MAX_TEXT})")
    return problems


def jpeg_problems(data: bytes) -> list[str]:
    if not data.startswith(b"\xff\xd8\xff"):
        return ["not a JPEG start of image"]
    if not data.rstrip(b"\x00").endswith(b"\xff\xd9"):
        return ["does not end at the JPEG end-of-image marker (truncated or appended data)"]
    return []


PDF_ACTIVE_NAMES = frozenset(
    {"JavaScript", "JS", "Launch", "EmbeddedFile", "EmbeddedFiles", "RichMedia", "XFA",
     "SubmitForm", "ImportData", "GoToE"}
)  # fmt: skip
_PDF_NAME = re.compile(rb"/([^\s/<>\[\]()%{}]+)")
_PDF_STREAM = re.compile(rb"stream\r?\n")
_PDF_MAX_INFLATE = 64 * 1024 * 1024
_PDF_MAX_TRAILER = 1024


def pdf_problems(data: bytes) -> list[str]:
    if not data.startswith(b"%PDF-"):
        return ["not a PDF header"]
    problems = []
    eof = data.rfind(b"%%EOF")
    if eof < 0:
        problems.append("no %%EOF marker: truncated document")
    elif len(data) - eof - 5 > _PDF_MAX_TRAILER and data[eof + 5 :].strip():
        problems.append(f"{len(data) - eof - 5} bytes after %%EOF (appended data)")
    found = _pdf_names(data)
    for chunk in _pdf_inflated_streams(data):
        found |= _pdf_names(chunk)
    active = sorted(found & PDF_ACTIVE_NAMES)
    if active:
        problems.append("active or embedded content: " + ", ".join("/" + n for n in active))
    return problems


def _pdf_names(data: bytes) -> set[str]:
    names = set()
    for match in _PDF_NAME.finditer(data):
        raw = match.group(1)
        if b"#" in raw:  # /J#61vaScript is /JavaScript
            raw = re.sub(rb"#([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), raw)
        names.add(raw.decode("latin-1"))
    return names


def _pdf_inflated_streams(data: bytes):
    budget = _PDF_MAX_INFLATE
    for match in _PDF_STREAM.finditer(data):
        if budget <= 0:
            return
        start = match.end()
        end = data.find(b"endstream", start)
        if end < 0:
            return
        inflater = zlib.decompressobj()
        try:
            chunk = inflater.decompress(data[start:end], min(budget, 4 * 1024 * 1024))
        except zlib.error:
            continue  # not Flate (images, fonts in other filters)
        budget -= len(chunk)
        yield chunk


_SVG_DANGEROUS_ELEMENTS = frozenset(
    {"script", "foreignobject", "iframe", "embed", "object", "handler", "listener", "audio", "video"}
)
_SVG_ANIMATIONS = frozenset({"set", "animate", "animatemotion", "animatetransform"})
_SVG_LINK_ATTRIBUTES = frozenset({"href", "src"})
_SVG_SAFE_DATA_URL = re.compile(r"^data:image/(png|jpeg|jpg|gif);base64,", re.IGNORECASE)
_CSS_URL = re.compile(r"url\(\s*['\"]?\s*([^'\")\s]*)", re.IGNORECASE)
_PROCESSING_INSTRUCTION = re.compile(r"<\?(?!xml\s)", re.IGNORECASE)


def svg_problems(text: str) -> list[str]:
    problems: list[str] = []
    if re.search(r"<!ENTITY", text, re.IGNORECASE) or re.search(r"<!DOCTYPE[^>]*\[", text, re.IGNORECASE):
        return ["declares XML entities (DOCTYPE internal subset)"]
    if _PROCESSING_INSTRUCTION.search(text):
        problems.append("has a processing instruction (e.g. xml-stylesheet) that can load external content")
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as exc:
        return problems + [f"not well-formed XML: {exc}"]
    if _local(root.tag) != "svg":
        problems.append("root element is not <svg>")
    for element in root.iter():
        tag = _local(element.tag)
        if tag in _SVG_DANGEROUS_ELEMENTS:
            problems.append(f"has a <{tag}> element")
        for attribute, value in element.attrib.items():
            name = _local(attribute)
            if name.startswith("on"):
                problems.append(f"<{tag}> has an event handler attribute '{name}'")
            elif name in _SVG_LINK_ATTRIBUTES and not _local_reference(value):
                problems.append(f"<{tag}> {name} refers outside the file")
            elif name == "style":
                problems += _css_problems(value, tag)
            if "javascript:" in value.lower().replace(" ", ""):
                problems.append(f"<{tag}> has a javascript: URL")
            if tag in _SVG_ANIMATIONS and name == "attributename" and _local(value) in _SVG_LINK_ATTRIBUTES:
                problems.append(f"<{tag}> animates a link")
        if tag == "style" and element.text:
            problems += _css_problems(element.text, tag)
    return sorted(set(problems), key=problems.index)


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1].rsplit(":", 1)[-1].lower()


def _local_reference(value: str) -> bool:
    value = value.strip()
    return value.startswith("#") or bool(_SVG_SAFE_DATA_URL.match(value))


def _css_problems(css: str, tag: str) -> list[str]:
    problems = []
    if "@import" in css.lower():
        problems.append(f"<{tag}> style imports external CSS")
    for target in _CSS_URL.findall(css):
        if not target.startswith("#"):
            problems.append(f"<{tag}> style loads an external url()")
    return problems
