"""Pick the configured delivery backend."""

from __future__ import annotations

from engine.config import Settings
from engine.delivery.base import DeliveryBackend

#: One memory backend per process, so tests can inspect what was "sent".
_memory_backend = None


def backend_from_settings(settings: Settings) -> DeliveryBackend:
    """Return a backend for ``settings.MAIL_BACKEND``; providers are imported only when used."""
    global _memory_backend
    if settings.MAIL_BACKEND == "memory":
        from engine.delivery.memory import MemoryBackend

        if _memory_backend is None:
            _memory_backend = MemoryBackend()
        return _memory_backend
    if settings.MAIL_BACKEND == "outbox":
        from engine.delivery.dkim import signer_from_settings
        from engine.delivery.outbox import OutboxBackend

        return OutboxBackend(
            settings.outbox_path,
            return_path=settings.RETURN_PATH,
            signer=signer_from_settings(settings),
        )
    if settings.MAIL_BACKEND == "smtp":
        from engine.delivery.smtp import SmtpBackend

        return SmtpBackend(settings)
    from engine.delivery.budget import shared_budget
    from engine.delivery.sendgrid import SendGridBackend

    # One budget for every worker on every host: SendGrid limits the account, not the process.
    return SendGridBackend(settings, budget=shared_budget(settings, SendGridBackend.name))


def reset_memory_backend() -> None:
    """Forget the memory backend's messages (each test starts empty)."""
    global _memory_backend
    _memory_backend = None
