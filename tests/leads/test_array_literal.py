"""The candidate read binds its lists as PostgreSQL array literals (leads.candidates.array_literal):
whatever the values, PostgreSQL reads back exactly the list, with either binding."""

from __future__ import annotations

import psycopg
import pytest
from django.db import connection
from hypothesis import given, settings
from hypothesis import strategies as st

from config.postgresql.base import wrapped_cursor
from leads.candidates import array_literal
from tests.helpers import ON_POSTGRES

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not ON_POSTGRES, reason="array types are PostgreSQL's"),
]

# Any text the intake lets through: everything but NUL (rejected first) and lone surrogates
# (not encodable).
texts = st.lists(
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")),
    max_size=8,
)
bigints = st.lists(st.integers(min_value=-(2**63), max_value=2**63 - 1), max_size=8)


def read_back(literal: str, cast: str, cursor_class=None) -> list:
    sql = f"SELECT %s::{cast}"
    if cursor_class is None:  # Django's cursor: its client-side binding by default
        with connection.cursor() as cursor:
            cursor.execute(sql, [literal])
            return cursor.fetchone()[0]
    with wrapped_cursor(cursor_class) as cursor:
        cursor.execute(sql, [literal])
        return cursor.fetchone()[0]


@settings(max_examples=150, deadline=None)
@given(values=texts)
def test_text_comes_back_as_it_went(values):
    literal = array_literal(values)
    assert read_back(literal, "varchar[]") == values
    assert read_back(literal, "varchar[]", psycopg.ClientCursor) == values
    assert read_back(literal, "varchar[]", psycopg.Cursor) == values  # bound by the server


@settings(max_examples=50, deadline=None)
@given(values=bigints)
def test_bigints_come_back_as_they_went(values):
    assert read_back(array_literal(values), "bigint[]", psycopg.ClientCursor) == values


@pytest.mark.parametrize(
    "values", [["NULL"], ["", " "], ["{}"], ['a"b', "c\\d", "e,f", "g}h", "i'j"], ["\\"]]
)
def test_the_awkward_ones(values):
    assert read_back(array_literal(values), "varchar[]", psycopg.ClientCursor) == values
