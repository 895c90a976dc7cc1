"""Reading a lead list file: its encoding, its separator, its rows, and the column mapping that
its headers suggest. Plain Python: no models, no HTTP."""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from leads.services import LEAD_FIELDS
from lists_hopper.wire.convoso import OPTIONS

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
DELIMITERS = (",", ";", "\t")
SAMPLE_ROWS = 5

# The lead fields a column can fill, by the insert API's names (POST /v1/leads/insert).
TARGETS: dict[str, str] = {
    "phone_number": "Phone number",
    **{name: name.replace("_", " ").capitalize() for name in LEAD_FIELDS if name != "phone"},
}
# Parameter names that steer an insert: never a column's target.
OPTION_NAMES = OPTIONS | {"raw_body"}
MAX_CUSTOM_NAME = 100

# Headers as spreadsheets, dialers and CRMs export them, lower-cased with everything but letters
# and digits removed ("E-mail" -> "email", "Phone Number" -> "phonenumber").
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "phone_number": (
        "phone",
        "phonenumber",
        "phoneno",
        "telephone",
        "tel",
        "primaryphone",
        "homephone",
        "number",
        "cellphone",
        "cell",
    ),
    "phone_code": ("phonecode", "countrycode", "dialcode", "countrycallingcode"),
    "mobile": ("mobile", "mobilephone", "mobilenumber"),
    "alt_phone": ("altphone", "altphone1", "alternatephone", "phone2", "otherphone", "workphone"),
    "first_name": ("firstname", "first", "fname", "givenname", "forename"),
    "last_name": ("lastname", "last", "lname", "surname", "familyname"),
    "contact_name": ("name", "fullname", "contactname", "contact"),
    "email": ("email", "emailaddress", "mail", "emailid", "primaryemail"),
    "company": ("company", "companyname", "organization", "organisation", "business"),
    "job_title": ("jobtitle", "title", "position"),
    "address1": ("address", "address1", "addressline1", "street", "streetaddress"),
    "address2": ("address2", "addressline2"),
    "city": ("city", "town"),
    "state": ("state", "province", "region", "county"),
    "postal_code": ("zip", "zipcode", "postalcode", "postcode", "zippostalcode"),
    "country": ("country",),
    "website": ("website", "web", "url", "site"),
    "notes": ("notes", "note", "comments", "comment"),
    "source": ("source", "leadsource"),
    "source_medium": ("sourcemedium", "medium"),
    "source_campaign": ("sourcecampaign", "campaign", "utmcampaign"),
    "source_content": ("sourcecontent", "utmcontent"),
    "source_referrer": ("sourcereferrer", "referrer"),
    "status": ("status", "leadstatus"),
}
SYNONYMS = {alias: target for target, aliases in _SYNONYMS.items() for alias in aliases}
# LeadSquared's schema names say the same: FirstName, EmailAddress, Phone, ...
SYNONYMS.update({name.replace("_", ""): name for name in TARGETS})


class FileError(ValueError):
    """A file, a mapping or an option the upload cannot take; the message is for the user."""


@dataclass
class FileInfo:
    encoding: str
    delimiter: str
    headers: list[str]
    total: int
    sample: list[list[str]] = field(default_factory=list)


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding): UTF-8 with or without a byte order mark, else Windows-1252."""
    if data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        raise FileError("The file is UTF-16 text: save it as CSV UTF-8 and upload it again.")
    if b"\x00" in data:
        raise FileError("This is not a CSV file: it holds binary data.")
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[len(codecs.BOM_UTF8) :].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as error:
            raise _undecodable(error) from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as error:
        raise _undecodable(error) from None


def _undecodable(error: UnicodeDecodeError) -> FileError:
    byte = error.object[error.start : error.start + 1].hex()
    return FileError(
        f"The file's text cannot be read: byte 0x{byte} at position {error.start} is neither "
        "UTF-8 nor Windows-1252. Save it as CSV UTF-8 and upload it again."
    )


def sniff_delimiter(text: str) -> str:
    """The separator that splits the header row most: comma, semicolon or tab."""
    header = _first_record(text)
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _first_record(text: str) -> str:
    # The header ends at the first line break outside quotes.
    quoted = False
    for i, char in enumerate(text):
        if char == '"':
            quoted = not quoted
        elif char in "\r\n" and not quoted:
            return text[:i]
    return text


def records(text: str, delimiter: str) -> Iterator[list[str]]:
    """Every record, the header first; quoted fields may hold separators and line breaks."""
    return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)


def data_rows(text: str, delimiter: str, *, start: int = 0) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells) after the header, from row start + 1; blank lines are skipped and not
    counted."""
    for number, cells, _position in rows_from(text, delimiter, start=start):
        yield number, cells


def rows_from(
    text: str, delimiter: str, *, start: int = 0, position: int = 0
) -> Iterator[tuple[int, list[str], int]]:
    """(row number, cells, position of the next row in text). With the position after row
    start (as a previous read gave it), reading resumes there instead of from the top."""
    buffer = io.StringIO(text, newline="")
    reader = csv.reader(buffer, delimiter=delimiter, strict=False)
    number = 0
    if position:
        buffer.seek(position)
        number = start
    else:
        next(reader, None)  # the header
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue
        number += 1
        if number > start:
            yield number, cells, buffer.tell()


def inspect(data: bytes, *, max_bytes: int = MAX_UPLOAD_BYTES) -> FileInfo:
    """Read the whole file once: raises FileError with a message for the user when it cannot."""
    if not data:
        raise FileError("The file is empty.")
    if len(data) > max_bytes:
        raise FileError(
            f"The file is {len(data) / 1_048_576:.1f} MB; the limit is "
            f"{max_bytes / 1_048_576:.0f} MB. Split it and upload the parts."
        )
    text, encoding = decode(data)
    delimiter = sniff_delimiter(text)
    try:
        headers = [h.strip() for h in next(records(text, delimiter), [])]
        if not any(headers):
            raise FileError("This is not a CSV file: its first row holds no column names.")
        total, sample = 0, []
        for _number, cells in data_rows(text, delimiter):
            total += 1
            if len(sample) < SAMPLE_ROWS:
                sample.append(cells)
    except csv.Error as error:
        raise FileError(f"This is not a CSV file the upload can read: {error}.") from None
    if total == 0:
        raise FileError("The file has no rows under its header.")
    return FileInfo(encoding, delimiter, headers, total, sample)


def _key(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", header.lower())


def suggest_mapping(headers: list[str], *, keep_unmapped: bool = True) -> list[str]:
    """One target per column: a lead field its header names, else a custom field of the header's
    name (mx_* names always), else "" (dropped). A field goes to its first column only."""
    taken: set[str] = set()
    mapping = []
    for index, header in enumerate(headers):
        target = SYNONYMS.get(_key(header), "")
        if target and target not in taken and not header.lower().startswith("mx_"):
            taken.add(target)
        elif header.lower().startswith("mx_") or keep_unmapped:
            target = custom_name(header, index)
        else:
            target = ""
        mapping.append(target)
    return mapping


def custom_name(header: str, index: int) -> str:
    name = header.strip()[:MAX_CUSTOM_NAME] or f"column_{index + 1}"
    if name in TARGETS or name in OPTION_NAMES:
        name = f"csv_{name}"
    return name


def apply_mapping(
    headers: list[str], given: dict[str, str | None] | None, *, keep_unmapped: bool
) -> list[str]:
    """The suggestion, overridden by the caller's {header: target} (null or "" drops the column;
    a target that is no lead field is a custom field of that name). Raises FileError."""
    mapping = suggest_mapping(headers, keep_unmapped=keep_unmapped)
    given = given or {}
    if not isinstance(given, dict):
        raise FileError('mapping must be a JSON object: {"column header": "field", ...}')
    unknown = [name for name in given if name not in headers]
    if unknown:
        raise FileError(f"mapping names a column the file does not have: {unknown[0]}")
    for index, header in enumerate(headers):
        if header not in given:
            continue
        target = given[header]
        if target is None:
            target = ""
        if not isinstance(target, str):
            raise FileError(f"mapping for {header}: the target must be a field name or null")
        mapping[index] = target.strip()
    return check_mapping(headers, mapping)


def check_mapping(headers: list[str], mapping: list[str]) -> list[str]:
    if len(mapping) != len(headers):
        raise FileError("the mapping must name one target per column")
    seen: dict[str, str] = {}
    for header, target in zip(headers, mapping, strict=True):
        if target in OPTION_NAMES:
            raise FileError(f"mapping for {header}: {target} is an option, not a lead field")
        if len(target) > MAX_CUSTOM_NAME:
            raise FileError(f"mapping for {header}: a field name is at most 100 characters")
        if target in TARGETS:
            if target in seen:
                raise FileError(
                    f"{TARGETS[target]} is mapped from two columns: {seen[target]} and {header}"
                )
            seen[target] = header
    if "phone_number" not in seen:
        raise FileError(
            "No column is mapped to the phone number: map the column that holds it "
            "(e.g. a header named Phone or Phone Number)."
        )
    return mapping


def row_params(mapping: list[str], cells: list[str]) -> dict[str, str]:
    """The insert API's parameters of one row: mapped, non-empty cells only."""
    params: dict[str, str] = {}
    for target, cell in zip(mapping, cells, strict=False):
        if target and cell.strip():
            params[target] = cell.strip()
    return params
