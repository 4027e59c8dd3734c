"""Statuses in words and times in the organisation's zone, as the staff pages show them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaigns.issues.models import IssueStatus
from campaigns.sending.models import CampaignStatus, DeliveryStatus
from engine.display import local_time_element, local_time_text, status_label
from subscribers.models import SubscriberStatus


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (IssueStatus.IN_REVIEW, "In review"),
        (CampaignStatus.NEEDS_REVIEW, "Needs review"),
        (CampaignStatus.SCHEDULED, "Scheduled"),
        (SubscriberStatus.UNSUBSCRIBED, "Unsubscribed"),
        (DeliveryStatus.FAILED_TRANSIENT, "Failed, will retry"),
        ("", ""),
        (None, ""),
    ],
)
def test_status_label_reads_as_words(value: object, words: str) -> None:
    assert status_label(value) == words


@given(st.from_regex(r"[a-z]+(_[a-z]+)*", fullmatch=True))
def test_status_label_never_shows_an_underscore(value: str) -> None:
    words = status_label(value)
    assert "_" not in words and words[0].isupper()


def test_winter_and_summer_times_name_their_zone() -> None:
    winter = datetime(2027, 1, 12, 15, 0, tzinfo=UTC)
    summer = datetime(2027, 7, 4, 14, 30, 5, tzinfo=UTC)
    assert local_time_text(winter, "America/New_York") == "Jan 12, 2027, 10:00 EST"
    assert local_time_text(summer, "America/New_York") == "Jul 4, 2027, 10:30 EDT"
    assert local_time_text(summer, "America/Chicago", seconds=True) == "Jul 4, 2027, 09:30:05 CDT"
    assert local_time_text(winter, "America/Los_Angeles", date_only=True) == "Jan 12, 2027"


def test_the_local_day_is_the_one_shown() -> None:
    # 02:00 UTC on the 13th is still the evening of the 12th in New York.
    late = datetime(2027, 1, 13, 2, 0, tzinfo=UTC)
    assert local_time_text(late, "America/New_York") == "Jan 12, 2027, 21:00 EST"


def test_the_element_carries_whole_seconds_in_utc() -> None:
    value = datetime(2027, 1, 12, 15, 0, 7, 654321, tzinfo=UTC)
    assert str(local_time_element(value, "America/New_York")) == (
        '<time datetime="2027-01-12T15:00:07Z">Jan 12, 2027, 10:00 EST</time>'
    )
    assert str(local_time_element(None, "America/New_York")) == ""
