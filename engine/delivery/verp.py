"""Per-delivery return paths (VERP): ``bounces+<delivery id>-<signature>@domain``.

An asynchronous bounce is addressed to the envelope sender of the message it is about, so a
return path that names the delivery lets a bounce days later be matched from its envelope
alone, whatever its body says. The signature keeps anyone from naming a delivery by writing
to ``bounces+123@…``. Everything in the tag is lower-case letters and digits: some mail
servers lower-case the local part on the way back.
"""

from __future__ import annotations

import base64
import hmac
import re

from engine.keyed_hmac import KeyedHmac

#: RFC 5321: a local part is at most 64 octets.
MAX_LOCAL_PART = 64
#: 10 bytes of HMAC-SHA256: 80 bits, written as 16 base32 characters.
_SIGNATURE_BYTES = 10
_TAG = re.compile(r"(?P<base>[^+@\s]+)\+(?P<id>[1-9][0-9]{0,18})-(?P<sig>[a-z2-7]{16})")


class ReturnPaths:
    """Mint the return paths of one configured bounce mailbox; each costs one HMAC."""

    def __init__(self, return_path: str, secret: str) -> None:
        local, at, domain = return_path.rpartition("@")
        if not (local and at and domain) or "+" in local:
            raise ValueError(f"not a usable return path: {return_path!r}")
        if not secret:
            raise ValueError("a secret is required so return paths cannot be forged")
        self._local, self._domain = local, domain
        self._mac = KeyedHmac(secret.encode(), "sha256")

    def for_delivery(self, delivery_id: int) -> str:
        """Return the envelope sender of the message of ``delivery_id``."""
        if delivery_id < 1:
            raise ValueError("only deliveries (ids from 1) have their own return path")
        local = f"{self._local}+{delivery_id}-{_signature(self._mac, delivery_id)}"
        if len(local) > MAX_LOCAL_PART:
            raise ValueError(f"the return path's local part is over {MAX_LOCAL_PART} characters")
        return f"{local}@{self._domain}"


def parse_return_path(address: str | None, *, secret: str) -> int | None:
    """Return the delivery id a return path of ours names, else None (forged, altered, other).

    The mailbox part before ``+`` and the domain are not checked: a bounce to a return path
    used before the setting changed still names its delivery.
    """
    local = (address or "").strip().strip("<>").rpartition("@")[0].lower()
    match = _TAG.fullmatch(local)
    if match is None or not secret:
        return None
    delivery_id = int(match["id"])
    expected = _signature(KeyedHmac(secret.encode(), "sha256"), delivery_id)
    if not hmac.compare_digest(match["sig"], expected):
        return None
    return delivery_id


def _signature(mac: KeyedHmac, delivery_id: int) -> str:
    # A prefix of its own keeps these signatures apart from every other HMAC under the key.
    digest = mac.digest(f"return-path:{delivery_id}".encode())[:_SIGNATURE_BYTES]
    return base64.b32encode(digest).decode("ascii").lower()
