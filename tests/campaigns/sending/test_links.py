"""The fast link signer mints exactly the tokens ``TokenSigner`` makes and accepts."""

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
        assert fast == slow
        assert TokenSigner(SECRET, 90).load(purpose, fast) == (subscriber_id, extra)
