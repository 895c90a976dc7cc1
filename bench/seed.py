"""Seed leads by COPY, and build raw INSERTs that survive new columns (bench/run.py's B0 and B4).

The column lists are read from the catalog: a NOT NULL column without a database default gets an
empty value of its type, so a field another change adds does not break the harness.

    python bench/seed.py postgres://postgres@127.0.0.1/bench 100000   # add 100,000 leads
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from leads.ids import new_id  # noqa: E402  (the application's own keys: version 7 UUIDs)

EMPTY = {
    "character varying": "",
    "text": "",
    "jsonb": "{}",
    "json": "{}",
    "boolean": "f",
    "integer": "0",
    "bigint": "0",
    "smallint": "0",
    "double precision": "0",
    "numeric": "0",
}
NOW = "now()"


def required_columns(conn: Any, table: str) -> dict[str, str]:
    """NOT NULL columns without a default, with an empty literal of their type."""
    rows = conn.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_name = %s AND is_nullable = 'NO' AND column_default IS NULL "
        "AND is_generated = 'NEVER'",
        [table],
    ).fetchall()
    out = {}
    for name, data_type in rows:
        if data_type.startswith("timestamp") or data_type == "date":
            out[name] = NOW
        elif data_type == "uuid":
            out[name] = "uuid"
        else:
            out[name] = EMPTY.get(data_type, "")
    return out


def insert_sql(conn: Any, table: str, given: list[str]) -> str:
    """INSERT INTO table (given..., other required columns) VALUES (%s for given, literals)."""
    extra = {k: v for k, v in required_columns(conn, table).items() if k not in given}
    columns = [*given, *extra]
    values = ["%s"] * len(given)
    for literal in extra.values():
        if literal == NOW:
            values.append("now()")
        elif literal == "uuid":
            values.append("gen_random_uuid()")
        else:
            values.append("'" + literal.replace("'", "''") + "'")
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(values)})"


CUSTOM_KEYS = [f"mx_Seed{i}" for i in range(20)]


def seed_leads(database_url: str, count: int, *, start: int = 0) -> int:
    """Add count leads by COPY, each with a unique email and phone and a few custom fields."""
    import psycopg

    if count <= 0:
        return 0
    given = [
        "id",
        "first_name",
        "last_name",
        "contact_name",
        "email",
        "email_normalized",
        "phone",
        "phone_normalized",
        "source",
        "status",
        "custom_fields",
        "created_at",
        "updated_at",
    ]
    with psycopg.connect(database_url) as conn:
        required = required_columns(conn, "leads_lead")
        extra = {k: v for k, v in required.items() if k not in given}
        columns = [*given, *extra]
        tail = []
        for literal in extra.values():
            tail.append("" if literal in (NOW, "uuid") else literal)
        if any(v in (NOW, "uuid") for v in extra.values()):
            raise SystemExit(f"seed: cannot fill {sorted(extra)} in leads_lead")
        sql = f"COPY leads_lead ({', '.join(columns)}) FROM STDIN"
        with conn.cursor() as cur, cur.copy(sql) as copy:
            buf = io.StringIO()
            for i in range(start, start + count):
                email = f"seed{i}@seed.example.com"
                phone = f"+1{3000000000 + i}"
                custom = json.dumps({"mx_City": "Austin", CUSTOM_KEYS[i % 20]: str(i)})
                row = [
                    str(new_id()),
                    f"Seed{i}",
                    "Lead",
                    f"Seed{i} Lead",
                    email,
                    email,
                    phone,
                    phone,
                    "Seed",
                    "New",
                    custom,
                    "2025-01-01 00:00:00+00",
                    "2025-01-01 00:00:00+00",
                    *tail,
                ]
                buf.write("\t".join(v.replace("\\", "\\\\") for v in row))
                buf.write("\n")
                if i % 20000 == 19999:
                    copy.write(buf.getvalue())
                    buf = io.StringIO()
            copy.write(buf.getvalue())
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE leads_lead")
    return count


if __name__ == "__main__":
    print(seed_leads(sys.argv[1], int(sys.argv[2])))
