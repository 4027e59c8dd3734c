"""Failed sign-in attempts, counted per account and per client address.

The counts live in the rate limiter's storage (``RATELIMIT_STORAGE_URL``: this process's
counters for ``memory://``, shared by every worker with ``redis://``), in fixed windows, and only
failures are counted: a person who types their password right spends nothing.

Each throttle keeps three counters, and an attempt waits while any of them is full:

- *account from one address*, the strict one: it stops one client guessing at one account
  without touching the account's owner, who signs in from another address;
- *one address across accounts*: it stops one client trying a password on many accounts;
- *account from every address*, a looser ceiling for guessing from many addresses. Reaching it
  locks the owner out as well, but only until its window ends, and keeping it full takes the
  strict limit's worth of failures from many addresses in every window.

The account is the address as typed (lower-cased), whether or not such an account exists, so a
refusal says nothing about which accounts exist; it is hashed, so the storage keeps no addresses.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse

from engine.ratelimit import limiter


@dataclass(frozen=True, slots=True)
class Throttle:
    """Three failure counters of one step of signing in (the password, the code, …)."""

    scope: str
    account_from_client: RateLimitItem
    client: RateLimitItem
    account: RateLimitItem

    def begin_attempt(self, account: str, client: str) -> int:
        """Count an attempt on ``account`` from ``client``; return how long to wait (0: go on).

        The strict counter is taken before the password is checked, in one atomic ``hit``, so
        parallel requests cannot all slip past a check made before any of them failed; a
        success gives it back (``record_success``). The two wider counters only count failures.
        """
        if not limiter.enabled:
            return 0
        strategy = limiter.limiter
        strict, *wider = self._counters(account, client)
        full = [(item, keys) for item, keys in wider if not strategy.test(item, *keys)]
        if not full and strategy.hit(strict[0], *strict[1]):
            return 0
        ends = [
            strategy.get_window_stats(item, *keys).reset_time for item, keys in full or [strict]
        ]
        return max(1, math.ceil(max(ends) - time.time()))

    def record_failure(self, account: str, client: str) -> None:
        """Count a failed attempt against the wider counters (the strict one already counts it)."""
        if limiter.enabled:
            for item, keys in self._counters(account, client)[1:]:
                limiter.limiter.hit(item, *keys)

    def record_success(self, account: str, client: str) -> None:
        """Forget ``client``'s attempts on ``account``: its owner got in."""
        if limiter.enabled:
            item, keys = self._counters(account, client)[0]
            limiter.limiter.clear(item, *keys)

    def _counters(self, account: str, client: str) -> list[tuple[RateLimitItem, tuple[str, ...]]]:
        digest = hashlib.sha256(account.strip().lower().encode()).hexdigest()[:32]
        return [
            (self.account_from_client, (self.scope, "account-client", digest, client)),
            (self.client, (self.scope, "client", client)),
            (self.account, (self.scope, "account", digest)),
        ]


#: The password step, keyed by the address typed.
PASSWORD_STEP = Throttle(
    "sign-in",
    account_from_client=parse("10 per 15 minutes"),
    client=parse("50 per 15 minutes"),
    account=parse("100 per 15 minutes"),
)
#: The code step of two-factor sign-in and password checks of a signed-in user, keyed by user
#: id: a six-digit code needs a tighter limit than a password.
CODE_STEP = Throttle(
    "second-factor",
    account_from_client=parse("5 per 15 minutes"),
    client=parse("50 per 15 minutes"),
    account=parse("20 per 15 minutes"),
)
