"""Dialer rules the intake pipeline applies to Convoso inserts: the lists and DNC lookups.

On PostgreSQL both are one statement built once per process (the list rows, then the DNC rows,
as a UNION ALL), which the dialer stage hands to the pipeline to send with the candidate read:
compiling the two ORM queries had been about a millisecond of every insert, and sending them as
two statements in psycopg's pipeline waited on the socket four times, not once. Other databases
run the two ORM queries.
"""

from __future__ import annotations

import functools

from django.db import connection

from leads.candidates import array_literal, instance_from_row, model_columns
from lists_hopper.models import DncEntry, List


def lists_and_dnc_orm(
    list_ids: set[int], phones: set[str]
) -> tuple[dict[int, List], dict[str, set[int | None]]]:
    """Other databases: the lists by id, and each listed E.164 number's barred campaign ids
    (None: account-wide)."""
    lists = {obj.id: obj for obj in List.objects.filter(id__in=list_ids)}
    return lists, dnc_hits(phones) if phones else {}


def lists_and_dnc_query(list_ids: set[int], phones: set[str]) -> tuple[str, list]:
    """PostgreSQL: the one statement of the lookup, to send along with another read."""
    return _lists_and_dnc_sql()[0], [array_literal(sorted(list_ids)), array_literal(sorted(phones))]


def lists_and_dnc_rows(
    rows: list[tuple],
) -> tuple[dict[int, List], dict[str, set[int | None]]]:
    """What lists_and_dnc_orm returns, from the rows of lists_and_dnc_query."""
    _, part, width = _lists_and_dnc_sql()
    lists = {}
    hits: dict[str, set[int | None]] = {}
    for row in rows:
        obj = instance_from_row(List, part, list(row[:width]))
        if obj is not None:
            lists[obj.id] = obj
        else:  # a DNC row: the list's columns are NULL
            hits.setdefault(row[width], set()).add(row[width + 1])
    return lists, hits


@functools.cache
def _lists_and_dnc_sql() -> tuple[str, tuple, int]:
    """The lists by id, then the DNC entries by phone, in one statement: a list row ends in two
    NULLs, a DNC row starts with the list's columns NULL. Returns the SQL, how to make a List
    of a row, and the number of the list's columns."""
    columns, part = model_columns(List, "l")
    quote = connection.ops.quote_name
    lists = quote(List._meta.db_table)
    dnc = quote(DncEntry._meta.db_table)
    sql = (
        f"SELECT {', '.join(columns)}, NULL::varchar, NULL::bigint FROM {lists} AS l "
        "WHERE l.id = ANY(%s::bigint[]) "
        f"UNION ALL SELECT {', '.join(['NULL'] * len(columns))}, d.phone, d.campaign_id "
        f"FROM {dnc} AS d WHERE d.phone = ANY(%s::varchar[])"
    )
    return sql, part, len(columns)


def dnc_hits(phones: set[str]) -> dict[str, set[int | None]]:
    """Each listed E.164 number: the campaign ids it is barred in (None: account-wide)."""
    hits: dict[str, set[int | None]] = {}
    for phone, campaign_id in DncEntry.objects.filter(phone__in=phones).values_list(
        "phone", "campaign_id"
    ):
        hits.setdefault(phone, set()).add(campaign_id)
    return hits
