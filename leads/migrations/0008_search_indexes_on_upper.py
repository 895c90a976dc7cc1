"""The email and phone trigram indexes move onto UPPER(column).

gin_trgm_ops also serves "=": on a table without statistics the planner chose it for intake's exact
lookups (email_normalized = ANY(...)), at seconds per 500-lead batch. Staff search matches with
icontains (UPPER(col) LIKE UPPER(%q%)), which these expression indexes serve and "=" cannot pick.
"""

import django.contrib.postgres.indexes
import django.db.models.functions.text
from django.db import migrations


class PostgresOnly:
    """A GIN trigram index exists on PostgreSQL only: elsewhere the state changes, the database
    does not (as in migration 0006)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class PostgresAddIndex(PostgresOnly, migrations.AddIndex):
    pass


class PostgresRemoveIndex(PostgresOnly, migrations.RemoveIndex):
    pass


def trigram(field, name):
    return django.contrib.postgres.indexes.GinIndex(
        django.contrib.postgres.indexes.OpClass(
            django.db.models.functions.text.Upper(field), name="gin_trgm_ops"
        ),
        name=name,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0007_backfill_custom_fields"),
    ]

    operations = [
        PostgresRemoveIndex(model_name="lead", name="lead_email_trgm"),
        PostgresRemoveIndex(model_name="lead", name="lead_phone_trgm"),
        PostgresAddIndex(model_name="lead", index=trigram("email_normalized", "lead_email_up_trgm")),
        PostgresAddIndex(model_name="lead", index=trigram("phone_normalized", "lead_phone_up_trgm")),
    ]
