from __future__ import annotations

import pytest
from django.conf import settings

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")

# Concurrency tests need PostgreSQL's row and advisory locks; they are skipped only on SQLite.
postgres_only = pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL (set DATABASE_URL)")


def attrs(**fields: str) -> list[dict[str, str]]:
    """A LeadSquared attribute array: attrs(EmailAddress="a@x.com", FirstName="A")."""
    return [{"Attribute": name, "Value": value} for name, value in fields.items()]
