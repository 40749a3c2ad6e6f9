"""Is a folder encrypted with ext4's native encryption (fscrypt), and is its key present? Asked of the kernel.

Two ioctls on the folder itself, no tool's output parsed: FS_IOC_GET_ENCRYPTION_POLICY_EX returns the
folder's policy (ENODATA: none, so not encrypted), and for a version 2 policy FS_IOC_GET_ENCRYPTION_KEY_STATUS
says whether its key is in the filesystem's keyring (unlocked) or not (locked: names and contents scrambled).
Constants and layouts are those of linux/fscrypt.h.
"""

from __future__ import annotations

import errno
import fcntl
import os
import struct
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

FS_IOC_GET_ENCRYPTION_POLICY_EX = 0xC0096616  # _IOWR('f', 22, __u8[9])
FS_IOC_GET_ENCRYPTION_KEY_STATUS = 0xC080661A  # _IOWR('f', 26, struct fscrypt_get_key_status_arg), 128 bytes
_POLICY_V2_SIZE = 24  # version, 2 modes, flags, 4 reserved, 16-byte key identifier
_KEY_SPEC_TYPE_IDENTIFIER = 2
_KEY_STATUS_PRESENT = 2  # 1: absent, 3: being removed


class Encryption(Enum):
    NONE = "not encrypted"
    LOCKED = "encrypted, locked"
    UNLOCKED = "encrypted, unlocked"


@dataclass(frozen=True)
class Policy:
    version: int
    key_identifier: bytes  # 16 bytes for version 2, 8 for version 1


def policy_of(folder: Path) -> Policy | None:
    """The folder's encryption policy, or None when it has none (or its filesystem cannot encrypt)."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        buffer = bytearray(struct.pack("=Q", _POLICY_V2_SIZE) + bytes(_POLICY_V2_SIZE))
        try:
            fcntl.ioctl(fd, FS_IOC_GET_ENCRYPTION_POLICY_EX, buffer)
        except OSError as e:
            if e.errno in (errno.ENODATA, errno.ENOTTY, errno.EOPNOTSUPP, errno.EINVAL):
                return None
            raise
    finally:
        os.close(fd)
    version = buffer[8]
    if version == 2:
        return Policy(version=2, key_identifier=bytes(buffer[16:32]))
    return Policy(version=version, key_identifier=bytes(buffer[12:20]))  # version 1 (0 in the header)


def encryption_of(folder: Path) -> Encryption:
    """Whether `folder` is encrypted and, if so, whether its key is present. Unknown key status counts as locked."""
    policy = policy_of(folder)
    if policy is None:
        return Encryption.NONE
    if policy.version != 2:
        return Encryption.LOCKED  # version 1 keys live in process keyrings: not checkable here, so fail closed
    arg = bytearray(struct.pack("=II32s", _KEY_SPEC_TYPE_IDENTIFIER, 0, policy.key_identifier) + bytes(128 - 40))
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.ioctl(fd, FS_IOC_GET_ENCRYPTION_KEY_STATUS, arg)
    except OSError:
        return Encryption.LOCKED
    finally:
        os.close(fd)
    (status,) = struct.unpack_from("=I", arg, 64)
    return Encryption.UNLOCKED if status == _KEY_STATUS_PRESENT else Encryption.LOCKED
