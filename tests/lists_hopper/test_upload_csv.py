"""Reading lead list files: encodings, separators, quoted line breaks, mapping suggestions."""

from __future__ import annotations

import codecs

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lists_hopper.upload_csv import (
    FileError,
    apply_mapping,
    data_rows,
    decode,
    inspect,
    row_params,
    suggest_mapping,
)

TEXT = (
    "First Name{s}Phone Number{s}City\r\n"
    'René{s}"(201) 555-0123"{s}"Zürich, ""old town""\r\nnorth"\r\n'
)


@pytest.mark.parametrize(
    ("encoding", "prefix", "expected"),
    [
        ("utf-8", b"", "utf-8"),
        ("utf-8", codecs.BOM_UTF8, "utf-8-sig"),
        ("cp1252", b"", "cp1252"),
    ],
)
@pytest.mark.parametrize("separator", [",", ";", "\t"])
def test_each_encoding_and_separator_reads_the_same_rows(encoding, prefix, expected, separator):
    data = prefix + TEXT.format(s=separator).encode(encoding)
    info = inspect(data)
    assert (info.encoding, info.delimiter) == (expected, separator)
    assert info.headers == ["First Name", "Phone Number", "City"]
    assert info.total == 1
    text, _ = decode(data)
    rows = list(data_rows(text, info.delimiter))
    assert rows == [(1, ["René", "(201) 555-0123", 'Zürich, "old town"\r\nnorth'])]


def test_windows_1252_smart_quotes_and_euro_are_read():
    data = "Name,Phone\r\n\u201cBo\u201d \u20ac,2015550123\r\n".encode("cp1252")
    text, encoding = decode(data)
    assert encoding == "cp1252"
    assert "\u201cBo\u201d \u20ac" in text


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a CSV file"),
        (codecs.BOM_UTF16_LE + "a,b".encode("utf-16-le"), "UTF-16"),
        (b"Phone\r\n\x81\x8d\x90\r\n", "cannot be read"),
        (b"Phone,Name\r\n", "no rows"),
        (b",,\r\n1,2,3\r\n", "no column names"),
    ],
)
def test_unreadable_files_get_a_clear_message(data, message):
    with pytest.raises(FileError, match=message):
        inspect(data)


def test_a_file_over_the_limit_is_refused_before_it_is_read():
    with pytest.raises(FileError, match="limit is 1 MB"):
        inspect(b"Phone\r\n" + b"2015550123\r\n" * 100_000, max_bytes=1_048_576)


def test_blank_lines_are_skipped_and_not_counted():
    info = inspect(b"Phone\r\n2015550123\r\n\r\n,\r\n2015550124\r\n")
    assert info.total == 2
    assert [n for n, _ in data_rows("Phone\n1\n\n2\n", ",")] == [1, 2]


@pytest.mark.parametrize(
    ("header", "target"),
    [
        ("First Name", "first_name"),
        ("first_name", "first_name"),
        ("FirstName", "first_name"),
        ("Last Name", "last_name"),
        ("Surname", "last_name"),
        ("Phone Number", "phone_number"),
        ("phone", "phone_number"),
        ("Telephone", "phone_number"),
        ("E-mail", "email"),
        ("EmailAddress", "email"),
        ("Email Address", "email"),
        ("Zip", "postal_code"),
        ("ZIP Code", "postal_code"),
        ("Postal Code", "postal_code"),
        ("Street Address", "address1"),
        ("Address Line 2", "address2"),
        ("Company Name", "company"),
        ("Mobile", "mobile"),
        ("Alt Phone", "alt_phone"),
        ("Country Code", "phone_code"),
        ("Lead Source", "source"),
        ("State", "state"),
        ("mx_City", "mx_City"),
        ("mx_Budget", "mx_Budget"),
        ("Favourite colour", "Favourite colour"),
    ],
)
def test_mapping_is_suggested_from_the_headers(header, target):
    assert suggest_mapping([header]) == [target]


def test_unmapped_columns_are_dropped_when_asked_but_mx_names_stay():
    assert suggest_mapping(["Phone", "Shoe size", "mx_City"], keep_unmapped=False) == [
        "phone_number",
        "",
        "mx_City",
    ]


def test_a_field_goes_to_its_first_column_only_and_option_names_are_renamed():
    assert suggest_mapping(["Phone", "Phone", "list_id", "", "phone_number"]) == [
        "phone_number",
        "Phone",
        "csv_list_id",
        "column_4",
        "csv_phone_number",
    ]


def test_given_mapping_overrides_the_suggestion():
    headers = ["Tel", "Cell", "Notes"]
    mapping = apply_mapping(
        headers, {"Tel": None, "Cell": "phone_number", "Notes": "mx_Note"}, keep_unmapped=True
    )
    assert mapping == ["", "phone_number", "mx_Note"]


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"Phone": None}, "No column is mapped to the phone number"),
        ({"Nope": "email"}, "does not have: Nope"),
        ({"Name": "phone_number"}, "mapped from two columns"),
        ({"Name": "check_dup"}, "is an option"),
        ({"Name": 5}, "field name or null"),
        (["Phone"], "JSON object"),
    ],
)
def test_bad_mappings_are_refused(given, message):
    with pytest.raises(FileError, match=message):
        apply_mapping(["Phone", "Name"], given, keep_unmapped=True)


def test_row_params_keep_mapped_non_empty_cells():
    assert row_params(["phone_number", "", "city", "mx_A"], ["201", "x", " ", " b "]) == {
        "phone_number": "201",
        "mx_A": "b",
    }


cell = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))


@given(
    rows=st.lists(st.lists(cell, min_size=3, max_size=3), min_size=1, max_size=8),
    separator=st.sampled_from([",", ";", "\t"]),
    bom=st.booleans(),
)
def test_any_written_csv_reads_back_or_is_refused_clearly(rows, separator, bom):
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, delimiter=separator, quoting=csv.QUOTE_ALL)
    writer.writerow(["Phone", "Name", "City"])
    writer.writerows(rows)
    data = (codecs.BOM_UTF8 if bom else b"") + out.getvalue().encode("utf-8")
    try:
        info = inspect(data)
    except FileError as error:
        assert str(error)
        return
    text, _ = decode(data)
    read = [cells for _n, cells in data_rows(text, info.delimiter)]
    assert read == [r for r in rows if any(c.strip() for c in r)]
    assert info.total == len(read)
