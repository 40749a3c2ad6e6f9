"""Data at rest: the encrypted volume the state folder lives on (volume.py, fscrypt.py)."""
