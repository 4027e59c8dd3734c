"""The headers that mark a campaign message as list mail: ``List-Id``, ``Feedback-ID``, bulk.

They are the same for every recipient of a campaign, so they are built once per campaign.
A campaign sent to several topics is one message per reader, so it carries one list: its
first topic in the order the public pages show topics (position, then id).
"""

from __future__ import annotations

import re

from engine.delivery.mime import encode_words

#: Gmail's feedback loop aggregates by each field; long values only cost header bytes.
MAX_FEEDBACK_FIELD = 40
#: The list's display name is shortened to this: encoded, a topic's full 200 characters could
#: pass the 998 a header line may have, and the name is only a label for people.
MAX_LIST_NAME = 100
_UNSAFE_FIELD = re.compile(r"[^a-z0-9._-]+")
_PLAIN_PHRASE = re.compile(r"[ -~]*")


def bulk_headers(
    *, campaign_id: int, topic_slug: str, topic_name: str, publication: str, domain: str
) -> dict[str, str]:
    """Return ``List-Id`` (RFC 2919), Gmail's ``Feedback-ID`` and ``Precedence: bulk``.

    ``publication`` names the series (the issue's layout: ``spotlight``, ``digest`` …) and
    stands in for the topic when there is none; ``domain`` is the sender's. The
    ``Feedback-ID`` is ``campaign:topic:publication:sender-domain``: ids only, no one's data.
    """
    label = _atom(topic_slug or publication) or "newsletter"
    list_id = f"<{label}.list-id.{_atom(domain)}>"
    if topic_name.strip():
        list_id = f"{_phrase(topic_name)} {list_id}"
    fields = (campaign_id, label, publication, domain)
    feedback_id = ":".join(_feedback_field(str(value)) for value in fields)
    return {"List-Id": list_id, "Feedback-ID": feedback_id, "Precedence": "bulk"}


def _atom(value: str) -> str:
    # Colons separate Feedback-ID's fields; dots and dashes keep a domain or slug readable.
    return _UNSAFE_FIELD.sub("-", value.lower()).strip("-.")


def _feedback_field(value: str) -> str:
    return _atom(value)[:MAX_FEEDBACK_FIELD].rstrip("-.") or "none"


def _phrase(name: str) -> str:
    """Return ``name`` as the display phrase before the list's id, quoted or RFC 2047-encoded."""
    name = " ".join(name.split())[:MAX_LIST_NAME].rstrip()
    if _PLAIN_PHRASE.fullmatch(name) and "=?" not in name:
        return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    # Encoded words on one line: the MIME builder folds only at commas.
    return " ".join(encode_words(name).split())
