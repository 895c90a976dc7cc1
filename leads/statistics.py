"""Planner statistics for the intake tables, kept fresh while they grow fast.

Without statistics PostgreSQL misjudges the intake's lookups: on a new or fast-growing lead table
it read `id = ANY(...)` and `phone_normalized = ANY(...)` through the third and second columns
of the list indexes (lead_list_created, lead_list_phone), whole-index scans that grew with the
table (the 25-row bulk call fell from 1,900 to 500 leads/s). Autovacuum analyzes a table once a
tenth of it has changed, but looks only once a minute; a launch-day burst outgrows that. The
scheduler runs this every 15 seconds: the same rule, checked four times as often.

It analyzes with a small sample. ANALYZE reads 300 rows per unit of the statistics target, and its
CPU grows with it: at the default target (100) the lead table took about 310 ms of a core and the
activity table 190 ms, at 10 about 40 and 25 ms (86,000 leads). Half a second of a core every
few runs of a burst stalled the web workers behind it: the 16-connection p99 of the call that ran
alongside it rose from 33-41 ms to 55-63 ms. What the lookups need from it, the table's and its
indexes' sizes and whether a key is unique, a 3,000-row sample measures as well. A column's own
target (ALTER TABLE ... SET STATISTICS) still applies, and autovacuum's analyses keep theirs.
"""

from __future__ import annotations

import logging

import psycopg
from django.db import DatabaseError, connection, transaction

INTAKE_TABLES = (
    "leads_lead",
    "leads_activity",
    "leads_capturerequest",
    "injectionlogs_failedinjection",
    "lists_hopper_hopperentry",
)
# Autovacuum's own rule (autovacuum_analyze_threshold 50 + scale factor 0.1), with a floor that
# leaves a small table alone.
MIN_CHANGES = 1000
SHARE = 0.1
# default_statistics_target for these analyses (PostgreSQL's default is 100).
STATISTICS_TARGET = 10

log = logging.getLogger(__name__)


def intake_tables_analyze() -> list[str]:
    """ANALYZE each intake table changed by more than a tenth (and 1,000 rows) since its last
    analysis, by anyone; the names analyzed. Nothing on other databases.

    Each table in a transaction of its own, which sets the small sample and takes the table's
    ANALYZE lock without waiting: a table that autovacuum, a VACUUM or a migration holds is left
    for the next run, and a table whose analysis fails is logged and does not keep the others
    from theirs (nor holds its lock while they run)."""
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, n_live_tup, n_mod_since_analyze FROM pg_stat_user_tables "
            "WHERE schemaname = current_schema() AND relname = ANY(%s)",
            [list(INTAKE_TABLES)],
        )
        due = [
            name
            for name, live, changed in cursor.fetchall()
            if changed >= max(MIN_CHANGES, SHARE * live)
        ]
    return [name for name in sorted(due) if _analyze(name)]


def _analyze(table: str) -> bool:
    quoted = connection.ops.quote_name(table)
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL default_statistics_target = {int(STATISTICS_TARGET)}")
            cursor.execute(f"LOCK TABLE {quoted} IN SHARE UPDATE EXCLUSIVE MODE NOWAIT")
            cursor.execute(f"ANALYZE {quoted}")
    except DatabaseError as exc:
        if isinstance(exc.__cause__, psycopg.errors.LockNotAvailable):
            log.info("statistics: %s is locked (being vacuumed or altered); next run", table)
        else:
            log.warning("statistics: ANALYZE %s failed: %s", table, exc)
        return False
    return True
