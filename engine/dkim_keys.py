"""DKIM key pairs: read the configured private key, make new ones, and the DNS record of each.

A key is a PEM file (PKCS#8 or PKCS#1) holding an RSA key of at least 1,024 bits (2,048 is what
receivers expect) or an Ed25519 key (RFC 8463). Its public half is published as a TXT record at
``<selector>._domainkey.<domain>``: ``p=`` is the DER SubjectPublicKeyInfo for RSA and the raw
32 bytes for Ed25519, both in base64.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

KeyType = Literal["rsa", "ed25519"]
KEY_TYPES: tuple[KeyType, ...] = ("rsa", "ed25519")
#: RFC 8301: verifiers ignore RSA keys under 1,024 bits; 2,048 is what ``generate_key`` makes.
MIN_RSA_BITS = 1024
RSA_BITS = 2048
#: One character-string of a TXT record holds at most 255 octets (RFC 1035).
TXT_STRING_LENGTH = 255

_DNS_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
#: A selector or signing domain: dot-separated DNS labels (RFC 6376, 3.1).
DNS_NAME = re.compile(rf"{_DNS_LABEL}(?:\.{_DNS_LABEL})*")

PrivateKey = rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey


@dataclass(frozen=True, slots=True)
class DkimKey:
    """A parsed private key with what signing and publishing need to know about it."""

    private: PrivateKey

    @property
    def key_type(self) -> KeyType:
        return "rsa" if isinstance(self.private, rsa.RSAPrivateKey) else "ed25519"

    @property
    def algorithm(self) -> str:
        """Return the ``a=`` value of a signature made with this key."""
        return "rsa-sha256" if self.key_type == "rsa" else "ed25519-sha256"

    @property
    def public_bytes(self) -> bytes:
        """Return the public key as it is published in ``p=``, before base64."""
        public = self.private.public_key()
        if isinstance(public, rsa.RSAPublicKey):
            return public.public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    def dns_record(self) -> str:
        """Return the TXT record value that publishes this key."""
        p = base64.b64encode(self.public_bytes).decode("ascii")
        return f"v=DKIM1; k={self.key_type}; p={p}"

    def record_line(self, selector: str, domain: str) -> str:
        """Return the record as a zone line: name, type, and the value in 255-octet strings."""
        strings = " ".join(f'"{part}"' for part in txt_strings(self.dns_record()))
        return f"{selector}._domainkey.{domain} TXT {strings}"

    def is_published_as(self, key_type: str, public: bytes) -> bool:
        """Return whether a record's ``k=`` and decoded ``p=`` are this key's public half."""
        if key_type != self.key_type or not public:
            return False
        if key_type == "ed25519":
            return public == self.public_bytes
        try:
            # DER SubjectPublicKeyInfo, or the bare RSAPublicKey that some generators publish.
            published = serialization.load_der_public_key(public)
        except (ValueError, UnsupportedAlgorithm):
            return False
        own = self.private.public_key()
        return (
            isinstance(published, rsa.RSAPublicKey)
            and isinstance(own, rsa.RSAPublicKey)
            and published.public_numbers() == own.public_numbers()
        )

    def private_pem(self) -> bytes:
        """Return the private key as unencrypted PKCS#8 PEM."""
        return self.private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def public_pem(self) -> bytes:
        """Return the public key as SubjectPublicKeyInfo PEM."""
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def generate_key(key_type: KeyType = "rsa") -> DkimKey:
    """Make a new key: RSA 2,048 bits or Ed25519."""
    if key_type == "ed25519":
        return DkimKey(ed25519.Ed25519PrivateKey.generate())
    return DkimKey(rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS))


def load_key(path: Path) -> DkimKey:
    """Read the private key at ``path``; raise ``ValueError`` saying what is wrong with it."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ValueError(f"no file at {path}") from None
    except OSError as error:
        raise ValueError(f"cannot read {path} ({error.strerror})") from None
    return _parsed_key(data, str(path))


@lru_cache(maxsize=8)
def _parsed_key(data: bytes, shown: str) -> DkimKey:
    # Keyed on the file's bytes: start-up validation and every backend of the process share
    # one parse, and a replaced file is parsed again.
    try:
        private = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise ValueError(f"{shown} is encrypted; store the key without a passphrase") from None
    except (ValueError, UnsupportedAlgorithm):
        raise ValueError(f"{shown} is not a PEM private key") from None
    if isinstance(private, rsa.RSAPrivateKey):
        if private.key_size < MIN_RSA_BITS:
            raise ValueError(
                f"{shown} is a {private.key_size}-bit RSA key; use {RSA_BITS} bits"
            ) from None
        return DkimKey(private)
    if isinstance(private, ed25519.Ed25519PrivateKey):
        return DkimKey(private)
    raise ValueError(f"{shown} is neither an RSA nor an Ed25519 key")


def txt_strings(record: str) -> list[str]:
    """Split a TXT record value into the 255-character strings a zone file needs."""
    return [
        record[start : start + TXT_STRING_LENGTH]
        for start in range(0, len(record), TXT_STRING_LENGTH)
    ]


def published_key(records: list[str]) -> tuple[str, bytes] | None:
    """Return ``(k, p)`` of the one DKIM key among TXT ``records``, ``None`` when there is none.

    ``p`` is empty for a revoked key; raises ``ValueError`` for several records or a malformed
    one.
    """
    keys = [record for record in records if "p=" in record]
    if not keys:
        return None
    if len(keys) > 1:
        raise ValueError(f"{len(keys)} DKIM records where there must be one")
    tags = _tags(keys[0])
    try:
        public = base64.b64decode("".join(tags.get("p", "").split()), validate=True)
    except binascii.Error:
        raise ValueError("the record's p= is not base64") from None
    return tags.get("k", "rsa").lower(), public


def _tags(record: str) -> dict[str, str]:
    """Parse a tag=value list (RFC 6376, 3.2); later duplicates are ignored, as invalid."""
    tags: dict[str, str] = {}
    for spec in record.split(";"):
        name, equals, value = spec.partition("=")
        if equals:
            tags.setdefault(name.strip(), value.strip())
    return tags
