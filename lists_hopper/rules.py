"""Dialer rules the intake pipeline applies to Convoso inserts: the lists and DNC lookups.

On PostgreSQL both are SQL built once per process and travel in one round trip (psycopg's
pipeline); compiling the two ORM queries was about a millisecond of every insert.
"""

from __future__ import annotations

import functools

from django.db import connection

from leads.candidates import instance_from_row, model_columns
from lists_hopper.models import DncEntry, List


def dialer_lists_and_dnc(
    list_ids: set[int], phones: set[str]
) -> tuple[dict[int, List], dict[str, set[int | None]]]:
    """The lists by id, and each listed E.164 number's barred campaign ids (None: account-wide)."""
    if connection.vendor != "postgresql":
        lists = {obj.id: obj for obj in List.objects.filter(id__in=list_ids)}
        return lists, dnc_hits(phones) if phones else {}
    list_sql, part = _list_sql()
    with connection.cursor() as list_cursor, connection.cursor() as dnc_cursor:
        with connection.connection.pipeline():
            list_cursor.execute(list_sql, [sorted(list_ids)])
            if phones:
                dnc_cursor.execute(_DNC_SQL, [sorted(phones)])
        list_rows = list_cursor.fetchall()
        dnc_rows = dnc_cursor.fetchall() if phones else []
    lists = {}
    for row in list_rows:
        obj = instance_from_row(List, part, list(row))
        lists[obj.id] = obj
    hits: dict[str, set[int | None]] = {}
    for phone, campaign_id in dnc_rows:
        hits.setdefault(phone, set()).add(campaign_id)
    return lists, hits


_DNC_SQL = (
    f"SELECT phone, campaign_id FROM {DncEntry._meta.db_table} WHERE phone = ANY(%s::varchar[])"
)


@functools.cache
def _list_sql() -> tuple[str, tuple]:
    columns, part = model_columns(List, "l")
    table = connection.ops.quote_name(List._meta.db_table)
    return f"SELECT {', '.join(columns)} FROM {table} AS l WHERE l.id = ANY(%s::bigint[])", part


def dnc_hits(phones: set[str]) -> dict[str, set[int | None]]:
    """Each listed E.164 number: the campaign ids it is barred in (None: account-wide)."""
    hits: dict[str, set[int | None]] = {}
    for phone, campaign_id in DncEntry.objects.filter(phone__in=phones).values_list(
        "phone", "campaign_id"
    ):
        hits.setdefault(phone, set()).add(campaign_id)
    return hits
