"""Look up the sender domain's SPF, DKIM and DMARC records for ``pinwheel doctor``.

The lookups go through a ``TxtResolver`` (``txt(name) -> list[str]``), so tests hand in a fake
one; ``DnsPythonResolver`` is the real one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import dns.exception
import dns.resolver

from engine.checks import Check
from engine.delivery.system import sender_domain

#: Selectors of the usual providers (SendGrid's ``s1``/``s2``, Microsoft 365, Google, Mailchimp).
DKIM_SELECTORS = ("s1", "s2", "selector1", "selector2", "google", "k1", "default", "dkim")
LOOKUP_SECONDS = 4.0


class DnsUnavailable(Exception):
    """The lookup could not be made (no network, timeout, server failure)."""


class TxtResolver(Protocol):
    def txt(self, name: str) -> list[str]:
        """Return the TXT strings at ``name`` ([] when there are none); raise ``DnsUnavailable``."""
        ...


class DnsPythonResolver:
    """Resolve TXT records with dnspython and the system's resolver configuration."""

    def __init__(self, lifetime: float = LOOKUP_SECONDS) -> None:
        self.lifetime = lifetime

    def txt(self, name: str) -> list[str]:
        try:
            answer = dns.resolver.resolve(name, "TXT", lifetime=self.lifetime)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except dns.exception.DNSException as error:
            raise DnsUnavailable(f"{error.__class__.__name__}: {error}") from error
        return [b"".join(record.strings).decode("utf-8", "replace") for record in answer]


def check_sender_dns(
    sender_address: str, resolver: TxtResolver, *, own_dkim_key: bool = False
) -> list[Check]:
    """Check SPF, DKIM and DMARC for the sender's domain.

    With ``own_dkim_key`` (Pinwheel signs with a configured selector, checked on its own), the
    guess at the usual providers' selectors is left out: it would warn beside a passing check.
    """
    domain = sender_domain(sender_address)
    checks: list[Check] = []
    probes = (_check_spf, _check_dmarc) if own_dkim_key else (_check_spf, _check_dkim, _check_dmarc)
    for check in probes:
        try:
            checks.append(check(domain, resolver))
        except DnsUnavailable as error:
            checks.append(_offline(check, domain, error))
    return checks


def _offline(check: Callable[..., Check], domain: str, error: DnsUnavailable) -> Check:
    name = check.__name__.removeprefix("_check_")
    return Check(
        f"dns {name}",
        "warn",
        f"offline: could not look up {name.upper()} for {domain} ({error})",
        "Run the doctor where DNS is reachable to check the sender domain.",
    )


def _check_spf(domain: str, resolver: TxtResolver) -> Check:
    records = [r for r in resolver.txt(domain) if r.lower().startswith("v=spf1")]
    if len(records) == 1:
        return Check("dns spf", "ok", f"{domain}: {records[0]}")
    if records:
        return Check(
            "dns spf",
            "fail",
            f"{domain} has {len(records)} SPF records",
            "Merge them into one TXT record: receivers treat several as an error.",
        )
    return Check(
        "dns spf",
        "fail",
        f"no SPF record at {domain}",
        'Add a TXT record such as "v=spf1 include:sendgrid.net ~all" for your provider.',
    )


def _check_dkim(domain: str, resolver: TxtResolver) -> Check:
    for selector in DKIM_SELECTORS:
        name = f"{selector}._domainkey.{domain}"
        if any("p=" in record for record in resolver.txt(name)):
            return Check("dns dkim", "ok", f"DKIM key at {name}")
    return Check(
        "dns dkim",
        "warn",
        f"no DKIM key found at the usual selectors of {domain}",
        "Publish the DKIM records your provider gives you (SendGrid: domain authentication); "
        "a key under another selector is fine.",
    )


def _check_dmarc(domain: str, resolver: TxtResolver) -> Check:
    name = f"_dmarc.{domain}"
    records = [r for r in resolver.txt(name) if r.upper().startswith("V=DMARC1")]
    if not records:
        return Check(
            "dns dmarc",
            "fail",
            f"no DMARC record at {name}",
            'Gmail and Yahoo require DMARC from bulk senders: start with "v=DMARC1; p=none; '
            f'rua=mailto:dmarc@{domain}".',
        )
    return Check("dns dmarc", "ok", f"{name}: {records[0]}")
