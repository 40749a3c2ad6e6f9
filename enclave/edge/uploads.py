"""What comes IN through the edge: request bodies and websocket messages to workspaces, capped and audited.

Results leave through the airlock; data enters when an operator registers it (`enclave dataset register`)
and approves it for a project. The browser is not a way in for data, so the edge decides (issue 12, item 7):

- **Files written through the contents API** (`PUT api/contents/<path>`: JupyterLab's upload button and
  drag and drop send base64; the text editor's saves send text) are capped at `edge_upload_max_bytes`
  (default 1 MiB) of decoded content. JupyterLab sends a file over 1 MiB in 1 MiB chunks (`chunk` 1, 2,
  ..., then -1 for the last), each a PUT the server appends to the file, so the cap is on their sum,
  tracked per (user, server, path). A chunk that does not continue a tracked upload (a number out of
  order, an edge restarted mid-upload, another spelling of the path) is refused. A chunk that is not the
  last promises at least one more byte, so an upload is refused as soon as the file can no longer end
  within the cap: under the default cap, JupyterLab's upload of a larger file is refused at its first
  chunk and NOTHING of it is written; under a cap above 1 MiB, the edge deletes the partial file (as the
  person uploading) when it refuses a later chunk.
- **Every file write that carries content is audited** as `edge.upload` with its path, size and the
  SHA-256 of the bytes written; a chunked upload once, after its last chunk, for the whole file.
  Refusals are audited as `edge.refused` with the same facts.
- **Every request body sent to a workspace** (notebook saves with their outputs, settings, layouts,
  declared apps) is capped at `edge_request_body_max_bytes` (default 32 MiB). Notebook saves are the
  analyst's work, saved every couple of minutes, so they are not capped per file; one larger than the
  upload cap is audited like an upload (size and SHA-256 of the request).
- **Fail closed**: a body without a Content-Length, a contents write whose body is not a JSON object, a
  file content that cannot be measured (not a string, bad base64) is refused, never passed.
- **Websockets** (kernels, terminals, declared apps): each message from the browser is capped at the
  upload cap (a larger one is a file, e.g. ipywidgets' FileUpload, not typed code): the connection is
  closed (1009) and the refusal audited. What each connection carried in is audited when it closes
  (`edge.inbound`: bytes and messages). Not capped: typing and pasting, message by message. Pasting is
  how code enters, and a determined analyst can paste data in, up to the cap per message and as many
  messages as they like; that volume is left in the audit log rather than refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import time
from dataclasses import dataclass, field

from ..settings import DEFAULT_REQUEST_BODY_MAX_BYTES, DEFAULT_UPLOAD_MAX_BYTES
from .policy import Decision

# The defaults are the settings' (enclave/settings.py), where the installation can change them.
SEQUENCE_IDLE_SECONDS = 3600.0  # a chunked upload untouched this long is forgotten (its next chunk is refused)
WRITES = frozenset({"PUT", "POST", "PATCH"})
WS_MESSAGE_TOO_BIG = 1009  # the websocket close code (RFC 6455), the "status" of a message's refusal

UPLOAD_ACTION = "edge.upload"
INBOUND_ACTION = "edge.inbound"

# Reasons, also the `reason` of the audit event.
NO_LENGTH = "upload-no-length"
REQUEST_TOO_LARGE = "upload-request-too-large"
UNREADABLE = "upload-unreadable"
TOO_LARGE = "upload-too-large"
UNTRACKED_CHUNK = "upload-chunk-untracked"
MESSAGE_TOO_LARGE = "websocket-message-too-large"

HOW_DATA_ENTERS = (
    "To bring data in, ask an operator: they register it as a dataset (enclave dataset "
    "register) and approve it for your project, and it appears under /data. Small code and "
    "text files can be uploaded."
)


@dataclass(frozen=True)
class UploadLimits:
    file_bytes: int = DEFAULT_UPLOAD_MAX_BYTES  # edge_upload_max_bytes
    request_bytes: int = DEFAULT_REQUEST_BODY_MAX_BYTES  # edge_request_body_max_bytes


@dataclass(frozen=True)
class Refusal:
    status: int
    reason: str
    message: str
    facts: dict = field(default_factory=dict)  # path, size, sha256, chunk: for the audit event
    remove_partial: bool = False  # chunks of this upload were written: the edge deletes the file


@dataclass(frozen=True)
class Upload:
    """A write admitted into a workspace, audited once the workspace has taken it."""

    facts: dict


@dataclass(frozen=True)
class ContentsWrite:
    """What one contents API write carries: a file's decoded bytes, a notebook, or nothing to measure."""

    kind: str  # "file", "notebook" or "none"
    path: str  # the file's path under the server's root
    data: bytes = b""  # "file": the bytes the server writes
    fmt: str = ""
    chunk: int | None = None
    renamed_to: str | None = None  # PATCH: the new path


class Unreadable(ValueError):
    """The body of a contents write cannot be judged; it is refused."""


def contents_path(rest: tuple[str, ...]) -> str | None:
    """The file path of a contents API address (rest under /user/<u>/<s>/), or None for other addresses."""
    if rest[:2] != ("api", "contents"):
        return None
    return "/".join(rest[2:])


def read_contents_write(method: str, path: str, body: bytes) -> ContentsWrite:
    """Parse a contents API write as the Jupyter server would (jupyter_server.services.contents.handlers)."""
    if not body.strip():
        return ContentsWrite("none", path)  # a new untitled file or notebook: empty
    try:
        model = json.loads(body)
    except ValueError as bad:
        raise Unreadable("the body is not JSON") from bad
    if not isinstance(model, dict):
        raise Unreadable("the body is not a JSON object")
    if method == "PATCH":
        new_path = model.get("path")
        return ContentsWrite("none", path, renamed_to=_normalised(new_path) if isinstance(new_path, str) else None)
    if method != "PUT":
        return ContentsWrite("none", path)  # POST: a new untitled file, or a copy of one already inside
    kind = model.get("type")
    if kind == "directory":
        return ContentsWrite("none", path)  # the server ignores any content
    if kind == "notebook" and "chunk" not in model:
        return ContentsWrite("notebook", path)
    # A file; the server treats an unknown type as a file too.
    chunk = model.get("chunk")
    if chunk is not None and (not isinstance(chunk, int) or isinstance(chunk, bool)):
        raise Unreadable(f"the chunk number {chunk!r} is not a whole number")
    fmt = model.get("format") or ""
    return ContentsWrite("file", path, file_bytes(model.get("content"), fmt), fmt, chunk)


def _normalised(path: str) -> str:
    """A path from a request's body spelled as contents_path spells addresses (no empty or '.' segments)."""
    return "/".join(segment for segment in path.split("/") if segment not in ("", "."))


def file_bytes(content, fmt: str) -> bytes:
    """The bytes the server writes for a file's content (absent: none)."""
    if content is None:
        return b""
    if not isinstance(content, str):
        raise Unreadable("the file's content is not a string")
    if fmt == "base64":
        try:
            return base64.decodebytes(content.encode("ascii"))  # as the server decodes it
        except (UnicodeEncodeError, binascii.Error, ValueError) as bad:
            raise Unreadable("the file's base64 content cannot be decoded") from bad
    return content.encode("utf-8", "surrogatepass")


def facts_of(path: str, data: bytes, **more) -> dict:
    return {"path": path, "size": len(data), "sha256": hashlib.sha256(data).hexdigest(), **more}


@dataclass
class _Sequence:
    """A chunked upload in progress: what was admitted of it so far."""

    next_chunk: int = 1  # the number the next chunk must have, once this one is admitted
    size: int = 0
    sha256: object = field(default_factory=hashlib.sha256)  # of the bytes admitted so far
    touched: float = 0.0


class ChunkedUploads:
    """The chunked uploads in progress, per (user, server, path), and the cap on each file's total."""

    def __init__(self, cap: int, clock=time.monotonic):
        self.cap = cap
        self.clock = clock
        self._open: dict[tuple[str, str, str], _Sequence] = {}

    def admit(self, key: tuple[str, str, str], chunk: int, data: bytes) -> Refusal | Upload | None:
        """Judge one chunk; a Refusal, an Upload (the last chunk: the whole file to audit) or None (admitted)."""
        self._forget_idle()
        path = key[2]
        if chunk == 1:
            sequence = self._open[key] = _Sequence()
        else:
            sequence = self._open.pop(key, None)
            if sequence is None or (chunk != -1 and chunk != sequence.next_chunk):
                expected = "chunk 1" if sequence is None else f"chunk {sequence.next_chunk} or -1"
                return Refusal(
                    409,
                    UNTRACKED_CHUNK,
                    f"chunk {chunk} of {path} does not continue an upload the "
                    f"edge is tracking (it expected {expected}); start the upload again. "
                    f"{HOW_DATA_ENTERS}",
                    facts_of(path, data, chunk=chunk),
                    remove_partial=sequence is not None,
                )
            self._open[key] = sequence
        total = sequence.size + len(data)
        last = chunk == -1
        if total > self.cap or (not last and total >= self.cap):  # a chunk not the last promises one more byte
            del self._open[key]
            return Refusal(
                413,
                TOO_LARGE,
                too_large_message(path, self.cap),
                facts_of(path, data, chunk=chunk, file_size_at_least=total + (0 if last else 1)),
                remove_partial=chunk != 1,
            )
        sequence.size = total
        sequence.sha256.update(data)
        sequence.touched = self.clock()
        if not last:
            sequence.next_chunk += 1
            return None
        del self._open[key]
        return Upload({"path": path, "size": total, "sha256": sequence.sha256.hexdigest(), "chunked": True})

    def forget(self, user: str, server: str, path: str) -> None:
        """A write, rename or deletion at `path` (or a folder above it) ends the uploads tracked there."""
        for key in [
            k
            for k in self._open
            if k[:2] == (user, server) and (k[2] == path or k[2].startswith(path.rstrip("/") + "/") or not path)
        ]:
            del self._open[key]

    def _forget_idle(self) -> None:
        horizon = self.clock() - SEQUENCE_IDLE_SECONDS
        for key in [k for k, s in self._open.items() if s.touched < horizon]:
            del self._open[key]


def too_large_message(path: str, cap: int) -> str:
    return f"{path} is larger than the {cap} bytes a file uploaded through the browser may have. {HOW_DATA_ENTERS}"


class InboundGate:
    """The edge's judgement of what a browser sends to a workspace: request bodies and websocket messages."""

    def __init__(self, limits: UploadLimits = UploadLimits(), clock=time.monotonic):
        self.limits = limits
        self.chunked = ChunkedUploads(limits.file_bytes, clock)

    def check_length(self, has_body: bool, length: int | None) -> Refusal | None:
        """Any request to a workspace: a body must say its length, and be within the request cap."""
        if has_body and length is None:
            return Refusal(
                411,
                NO_LENGTH,
                "a request body without a Content-Length is refused by the edge: it "
                "could not be measured before it is passed on.",
            )
        if length is not None and length > self.limits.request_bytes:
            return Refusal(
                413,
                REQUEST_TOO_LARGE,
                f"the request's body ({length} bytes) is larger than the "
                f"{self.limits.request_bytes} bytes the edge passes to a workspace. {HOW_DATA_ENTERS}",
                {"size": length},
            )
        return None

    def is_contents_write(self, method: str, decision: Decision) -> bool:
        return method in WRITES and decision.channel == "contents" and contents_path(decision.rest or ()) is not None

    def judge_contents_write(self, method: str, decision: Decision, body: bytes) -> Refusal | Upload | None:
        """A contents API write, its whole body read: a Refusal, an Upload to audit once written, or None."""
        path = contents_path(decision.rest or ()) or ""
        user, server = decision.user or "", decision.server or ""
        try:
            write = read_contents_write(method, path, body)
        except Unreadable as why:
            self.chunked.forget(user, server, path)
            return Refusal(
                400,
                UNREADABLE,
                f"the edge could not read this write to {path or 'the home folder'} ({why}), so it is refused.",
                {"path": path, "size": len(body)},
            )
        if method == "PATCH" or (method == "PUT" and write.chunk is None):
            self.chunked.forget(user, server, path)  # the file is replaced or moved: its upload, if any, ends
            if write.renamed_to is not None:
                self.chunked.forget(user, server, write.renamed_to)
        if write.kind == "notebook":
            if len(body) > self.limits.file_bytes:
                return Upload(facts_of(path, body, notebook=True))
            return None
        if write.kind != "file":
            return None
        if write.chunk is not None:
            return self.chunked.admit((user, server, path), write.chunk, write.data)
        if len(write.data) > self.limits.file_bytes:
            return Refusal(
                413,
                TOO_LARGE,
                too_large_message(path, self.limits.file_bytes),
                facts_of(path, write.data, format=write.fmt),
            )
        if not write.data:
            return None  # an empty file: nothing comes in
        return Upload(facts_of(path, write.data, format=write.fmt))

    def forget(self, decision: Decision) -> None:
        """A contents address deleted, or a write the workspace did not take: no upload is tracked on there."""
        path = contents_path(decision.rest or ())
        if path is not None:
            self.chunked.forget(decision.user or "", decision.server or "", path)

    def message_refusal(self, size: int) -> Refusal | None:
        """One websocket message from the browser."""
        if size <= self.limits.file_bytes:
            return None
        return Refusal(
            WS_MESSAGE_TOO_BIG,
            MESSAGE_TOO_LARGE,
            f"a message of {size} bytes is larger than the "
            f"{self.limits.file_bytes} bytes the edge passes to a workspace at once. {HOW_DATA_ENTERS}",
            {"size": size},
        )


@dataclass
class InboundCount:
    """What one websocket carried from the browser to a workspace."""

    bytes: int = 0
    messages: int = 0

    def add(self, size: int) -> None:
        self.bytes += size
        self.messages += 1
