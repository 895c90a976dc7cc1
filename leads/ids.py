"""New primary keys: UUID version 7 (RFC 9562).

A version 7 UUID starts with the milliseconds since the epoch, then 74 random bits: ids made one
after another sort one after another. A new row's key then goes in at the right edge of its
primary key index (and of the indexes that lead with it, such as an activity's lead), not on a
random page of it: after each checkpoint a random page's first change writes the whole page to
the WAL, and a growing table's random pages fall out of the database's buffers. Measured on
PostgreSQL (docs/performance.md, round ten): 25-row batches wrote half the WAL per lead after a
checkpoint, for about a sixth less of the server's CPU.

Still a UUID in the usual text form, and still unguessable (74 random bits); it tells when the row
was made, as its created_at does. Ids that callers send (a ProspectID, a leadId) are kept as they
are.
"""

from __future__ import annotations

import uuid

from uuid_utils.compat import uuid7


def new_id() -> uuid.UUID:
    """A new primary key: a version 7 UUID, as Python's own uuid.UUID."""
    return uuid7()
