"""HMAC under one fixed key, with the key's padded blocks hashed once (RFC 2104).

``hmac.digest(key, message, "sha1")`` re-derives the padded key blocks on every call; a send
signs several short messages per recipient under the same few keys, so keeping the two
partial hashes and continuing copies of them halves the cost of each signature::

    mac = KeyedHmac(key, "sha256")
    mac.digest(b"message") == hmac.digest(key, b"message", "sha256")
"""

from __future__ import annotations

import hashlib


class KeyedHmac:
    """Compute ``HMAC(key, message)`` for many messages under one key."""

    def __init__(self, key: bytes, algorithm: str) -> None:
        inner, outer = hashlib.new(algorithm), hashlib.new(algorithm)
        if len(key) > inner.block_size:
            key = hashlib.new(algorithm, key).digest()
        block = key.ljust(inner.block_size, b"\0")
        inner.update(bytes(byte ^ 0x36 for byte in block))
        outer.update(bytes(byte ^ 0x5C for byte in block))
        self._inner, self._outer = inner, outer

    def digest(self, message: bytes) -> bytes:
        """Return the HMAC of ``message``."""
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()
