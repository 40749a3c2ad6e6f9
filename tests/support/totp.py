"""RFC 6238 one-time codes, computed independently of the authenticator under test."""

import base64
import hashlib
import hmac
import struct
import time
from urllib.parse import parse_qs, urlparse


def secret_from_uri(uri: str) -> str:
    return parse_qs(urlparse(uri).query)["secret"][0]


def totp(secret: str, at: float | None = None, step: int = 30, digits: int = 6) -> str:
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    counter = struct.pack(">Q", int((time.time() if at is None else at) // step))
    digest = hmac.new(key, counter, hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    code = (struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 10**digits
    return str(code).zfill(digits)


def fresh_totp(secret: str, step: int = 30, margin: float = 5.0) -> str:
    """A code that stays valid for at least `margin` seconds (the hub accepts only the current step)."""
    left = step - time.time() % step
    if left < margin:
        time.sleep(left + 0.1)
    return totp(secret, step=step)
