"""The fast link signer mints the tokens ``TokenSigner`` makes, and they load the same.

itsdangerous zlib-compresses a payload when that makes it shorter (a leading "."), which only
long runs of one digit do; the fast signer never compresses, and its token loads all the same.
"""

from __future__ import annotations

import time_machine
from hypothesis import given
from hypothesis import strategies as st

from campaigns.sending.links import FastTokenSigner
from subscribers.tokens import Purpose, TokenSigner

SECRET = "a-secret-for-links"


@given(
    purpose=st.sampled_from(list(Purpose)),
    subscriber_id=st.integers(min_value=0, max_value=2**40),
    campaign=st.none() | st.integers(min_value=1, max_value=10**6),
)
def test_tokens_match_itsdangerous(purpose, subscriber_id, campaign) -> None:
    extra = "" if campaign is None else f"c{campaign}"
    with time_machine.travel(1_760_000_000, tick=False):
        fast = FastTokenSigner(SECRET).sign(purpose, subscriber_id, extra)
        slow = TokenSigner(SECRET, 90).sign(purpose, subscriber_id, extra)
        if not slow.startswith("."):
            assert fast == slow
        assert TokenSigner(SECRET, 90).load(purpose, fast) == (subscriber_id, extra)
