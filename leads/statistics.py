"""Planner statistics for the intake tables, kept fresh while they grow fast.

Without statistics PostgreSQL misjudges the intake's lookups: on a new or fast-growing lead table
it read `id = ANY(...)` and `phone_normalized = ANY(...)` through the third and second columns
of the list indexes (lead_list_created, lead_list_phone), whole-index scans that grew with the
table (the 25-row bulk call fell from 1,900 to 500 leads/s). Autovacuum analyzes a table once a
tenth of it has changed, but looks only once a minute; a launch-day burst outgrows that. The
scheduler runs this every 15 seconds: the same rule, checked four times as often.
"""

from __future__ import annotations

from django.db import connection

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


def intake_tables_analyze() -> list[str]:
    """ANALYZE each intake table changed by more than a tenth (and 1,000 rows) since its last
    analysis, by anyone; the names analyzed. Nothing on other databases."""
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
        for name in sorted(due):
            cursor.execute(f"ANALYZE {connection.ops.quote_name(name)}")
    return sorted(due)
