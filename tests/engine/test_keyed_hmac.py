from __future__ import annotations

import hmac

from hypothesis import given
from hypothesis import strategies as st

from engine.keyed_hmac import KeyedHmac


@given(
    key=st.binary(max_size=200),
    message=st.binary(max_size=300),
    algorithm=st.sampled_from(["sha1", "sha256", "sha512"]),
)
def test_matches_the_standard_library(key: bytes, message: bytes, algorithm: str) -> None:
    mac = KeyedHmac(key, algorithm)
    assert mac.digest(message) == hmac.digest(key, message, algorithm)
    # The kept partial hashes are reused, never consumed.
    assert mac.digest(message) == hmac.digest(key, message, algorithm)
