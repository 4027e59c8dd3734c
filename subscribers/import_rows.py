"""Read an import CSV as a stream of checked rows: header mapping, encoding and field checks.

The file is read as bytes and decoded with ``surrogateescape``, so a row with bytes that are not
UTF-8 becomes a reported error for that row and column instead of stopping the import.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from engine.errors import ValidationFailed
from engine.text_fields import control_character
from subscribers.addresses import InvalidAddress, normalise_address
from subscribers.models import Frequency
from subscribers.profile import (
    MAX_ATTRIBUTE_KEY,
    MAX_ATTRIBUTE_VALUE,
    MAX_NAME,
    check_language,
    check_timezone,
)

#: Header spellings (lower-cased, spaces, dashes and underscores removed) for known columns.
HEADER_ALIASES = {
    "email": "email",
    "emailaddress": "email",
    "mail": "email",
    "name": "name",
    "fullname": "name",
    "firstname": "first_name",
    "first": "first_name",
    "givenname": "first_name",
    "lastname": "last_name",
    "last": "last_name",
    "surname": "last_name",
    "familyname": "last_name",
    "language": "language",
    "lang": "language",
    "timezone": "timezone",
    "tz": "timezone",
    "frequency": "frequency",
    "howoften": "frequency",
}
_NOT_ALNUM = re.compile(r"[\s_\-.]+")
_SURROGATES = re.compile("[\udc80-\udcff]")
_ONE_LINE = "contains {}; names and attributes must be one line without special characters"


@dataclass(frozen=True, slots=True)
class RowError:
    """Why one row was not imported: ``row`` counts the header as row 1, like a spreadsheet."""

    row: int
    column: str
    reason: str
    value: str = ""


@dataclass(frozen=True, slots=True)
class ImportRow:
    """A checked row, ready to be applied."""

    row: int
    email: str
    name: str | None
    language: str | None
    timezone: str | None
    attributes: dict[str, str] = field(default_factory=dict)
    #: How often the import's topics reach this reader; None: each bulletin for new
    #: subscriptions, and existing ones keep theirs.
    frequency: Frequency | None = None


@dataclass(frozen=True, slots=True)
class ColumnMap:
    """Where each known field sits in the file; other columns become attributes."""

    headers: list[str]
    known: dict[str, int]
    attributes: list[tuple[int, str]]


def map_columns(headers: list[str]) -> ColumnMap:
    """Map a header row to fields, or raise ``ValidationFailed`` when there is no email column."""
    headers = [header.strip().lstrip("\ufeff") for header in headers]
    known: dict[str, int] = {}
    attributes: list[tuple[int, str]] = []
    for index, header in enumerate(headers):
        if _SURROGATES.search(header):
            raise ValidationFailed(f"Column {index + 1} of the header row is not valid UTF-8.")
        if problem := control_character(header):
            raise ValidationFailed(
                f"Column {index + 1} of the header row ({header[:40]!r}) contains {problem}; "
                "rename the column."
            )
        target = HEADER_ALIASES.get(_NOT_ALNUM.sub("", header.lower()).replace("e-", "e"))
        if target and target not in known:
            known[target] = index
        elif header and len(header) <= MAX_ATTRIBUTE_KEY:
            attributes.append((index, header))
        elif header:
            raise ValidationFailed(f"Column name {header[:40]!r}… is too long.")
    if "email" not in known:
        raise ValidationFailed(
            "The file has no email column: name one column email, e-mail or Email Address."
        )
    return ColumnMap(headers, known, attributes)


def read_rows(
    stream: BinaryIO, *, smtputf8: bool = False
) -> Iterator[ColumnMap | ImportRow | RowError]:
    """Yield the column map, then one ``ImportRow`` or ``RowError`` per data row.

    ``smtputf8`` is ``Settings.SMTPUTF8`` (see ``normalise_address``).
    """
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")
    try:
        yield from _records(csv.reader(text), smtputf8)
    finally:
        # Leave the caller's stream open: it still reads the position for progress.
        text.detach()


def _records(reader: Any, smtputf8: bool) -> Iterator[ColumnMap | ImportRow | RowError]:
    try:
        header = next(reader)
    except StopIteration:
        raise ValidationFailed("The file is empty.") from None
    except (csv.Error, UnicodeError) as error:
        raise ValidationFailed(f"The header row cannot be read: {error}.") from None
    columns = map_columns(header)
    yield columns
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield RowError(reader.line_num, "", f"the row cannot be read as CSV: {error}")
            continue
        yield check_row(columns, reader.line_num, cells, smtputf8=smtputf8)


def _printable(value: str) -> str:
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")[:200]


def check_row(
    columns: ColumnMap, row: int, cells: list[str], *, smtputf8: bool = False
) -> ImportRow | RowError:
    """Check one row's cells against the column map."""
    if not any(cell.strip() for cell in cells):
        return RowError(row, "", "the row is empty")
    if len(cells) > len(columns.headers):
        return RowError(row, "", f"{len(cells)} cells, but the header has {len(columns.headers)}")
    if _SURROGATES.search("".join(cells)):
        index = next(i for i, cell in enumerate(cells) if _SURROGATES.search(cell))
        return RowError(row, columns.headers[index], "not valid UTF-8", _printable(cells[index]))
    values = {
        key: cells[index].strip() if index < len(cells) else ""
        for key, index in columns.known.items()
    }
    try:
        email = normalise_address(values["email"], smtputf8=smtputf8)
    except InvalidAddress as error:
        return RowError(
            row, columns.headers[columns.known["email"]], error.message, values["email"]
        )
    return _check_fields(columns, row, cells, email, values)


def _check_fields(
    columns: ColumnMap, row: int, cells: list[str], email: str, values: dict[str, str]
) -> ImportRow | RowError:
    name = values.get("name") or " ".join(
        part for part in (values.get("first_name", ""), values.get("last_name", "")) if part
    )
    name_column = "name" if "name" in columns.known else "first/last name"
    if len(name) > MAX_NAME:
        return RowError(row, name_column, f"longer than {MAX_NAME} characters", name[:200])
    if problem := control_character(name):
        return RowError(row, name_column, _ONE_LINE.format(problem), _printable(name))
    attributes: dict[str, str] = {}
    for index, key in columns.attributes:
        value = cells[index].strip() if index < len(cells) else ""
        if len(value) > MAX_ATTRIBUTE_VALUE:
            return RowError(row, key, f"longer than {MAX_ATTRIBUTE_VALUE} characters", value[:200])
        if problem := control_character(value):
            return RowError(row, key, _ONE_LINE.format(problem), _printable(value))
        if value:
            attributes[key] = value
    checked: dict[str, str | None] = {}
    for key, check in (("language", check_language), ("timezone", check_timezone)):
        try:
            checked[key] = check(values[key]) if values.get(key) else None
        except ValidationFailed as error:
            column = columns.headers[columns.known[key]]
            return RowError(row, column, error.message, values[key][:200])
    frequency = values.get("frequency", "").lower()
    if frequency and frequency not in set(Frequency):
        column = columns.headers[columns.known["frequency"]]
        return RowError(row, column, "use immediately, daily or weekly", values["frequency"][:200])
    return ImportRow(
        row,
        email,
        name or None,
        checked["language"],
        checked["timezone"],
        attributes,
        Frequency(frequency) if frequency else None,
    )
