"""A subscriber's own details: names and attributes are single lines."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from engine.errors import ValidationFailed
from subscribers.models import Subscriber
from subscribers.profile import check_attributes, check_name, edit_subscriber
from tests.factories import make_subscriber


@pytest.mark.parametrize("name", ["Ann\r\nSmith", "Ann\x00", "Ann\tSmith", "Ann\x7fSmith"])
def test_control_characters_in_a_name_are_refused(name: str) -> None:
    with pytest.raises(ValidationFailed, match=r"^The name contains ") as caught:
        check_name(name)
    assert caught.value.details[0]["path"] == "name"


def test_edge_whitespace_is_trimmed_not_refused() -> None:
    assert check_name("  Ann Smith\r\n") == "Ann Smith"


@pytest.mark.parametrize(
    ("attributes", "named"),
    [
        ({"sta\nte": "OH"}, "The attribute name 'sta\\nte'"),
        ({"state": "O\tH"}, "The attribute 'state'"),
        ({"state": "OH\x1b[2J"}, "The attribute 'state'"),
    ],
)
def test_control_characters_in_attributes_are_refused(
    attributes: dict[str, str], named: str
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_attributes(attributes)
    assert caught.value.message.startswith(f"{named} contains ")


def test_edit_refuses_a_name_with_a_carriage_return(session: Session) -> None:
    subscriber = make_subscriber(session, name="Ann")
    session.commit()
    with pytest.raises(ValidationFailed, match="carriage return"):
        edit_subscriber(
            session, subscriber, name="Ann\rBcc: x@example.com", language="en", timezone="",
            attributes={}, source="test",
        )  # fmt: skip
    session.rollback()
    assert session.get(Subscriber, subscriber.id).name == "Ann"
