"""Signed, expiring links for subscribers: each token is bound to one subscriber and one purpose."""

from __future__ import annotations

from enum import StrEnum

from flask_babel import gettext
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from engine.errors import PinwheelError


class Purpose(StrEnum):
    CONFIRM = "confirm"
    UNSUBSCRIBE = "unsubscribe"
    PREFERENCES = "preferences"
    WEBVIEW = "webview"


class InvalidToken(PinwheelError):
    status = 400
    code = "invalid_token"


class TokenSigner:
    """Sign and check subscriber tokens; the purpose is part of the salt, so tokens don't mix."""

    def __init__(self, secret_key: str, max_age_days: int) -> None:
        self._secret_key = secret_key
        self.max_age_seconds = max_age_days * 86400
        self._serializers = {
            purpose: URLSafeTimedSerializer(secret_key, salt=f"pinwheel.{purpose}")
            for purpose in Purpose
        }

    def sign(
        self, purpose: Purpose, subscriber_id: int, extra: str = "", *, issued_at: int | None = None
    ) -> str:
        """Return a URL-safe token for ``subscriber_id`` (``extra`` binds e.g. a campaign id).

        ``issued_at`` (Unix seconds) dates the token then instead of now: a page opened with an
        older token hands on links that expire with it, never fresher ones.
        """
        payload: list[int | str] = [subscriber_id, extra] if extra else [subscriber_id]
        serializer = self._serializers[purpose]
        if issued_at is None:
            return serializer.dumps(payload)
        signer = _DatedSigner(self._secret_key, salt=serializer.salt, issued_at=issued_at)
        return signer.sign(serializer.dump_payload(payload)).decode()

    def load(self, purpose: Purpose, token: str) -> tuple[int, str]:
        """Return ``(subscriber_id, extra)`` or raise ``InvalidToken`` with a friendly message."""
        subscriber_id, extra, _issued = self.load_issued(purpose, token)
        return subscriber_id, extra

    def load_issued(self, purpose: Purpose, token: str) -> tuple[int, str, int]:
        """Return ``(subscriber_id, extra, issued)``; ``issued`` is when it was signed (Unix s)."""
        try:
            payload, signed_at = self._serializers[purpose].loads(
                token, max_age=self.max_age_seconds, return_timestamp=True
            )
        except SignatureExpired:
            raise InvalidToken(
                gettext(
                    "This link has expired. Use the link in a more recent email, or subscribe "
                    "again."
                )
            ) from None
        except BadSignature:
            raise InvalidToken(
                gettext(
                    "This link is not valid. It may have been cut short or changed; copy the "
                    "whole link from the email."
                )
            ) from None
        if not isinstance(payload, list) or not payload or not isinstance(payload[0], int):
            raise InvalidToken(gettext("This link is not valid."))
        extra = payload[1] if len(payload) > 1 and isinstance(payload[1], str) else ""
        return payload[0], extra, int(signed_at.timestamp())


class _DatedSigner(TimestampSigner):
    """A timestamp signer that writes a given time instead of now."""

    def __init__(self, secret_key: str, *, salt: str | bytes | None, issued_at: int) -> None:
        super().__init__(secret_key, salt=salt)
        self._issued_at = issued_at

    def get_timestamp(self) -> int:
        return self._issued_at
