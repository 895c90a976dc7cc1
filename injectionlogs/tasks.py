from __future__ import annotations

from django_tasks import task

from injectionlogs.services import intake_counts_compact


@task()
def compact_intake_counts() -> int:
    """Fold the intake rollup of past hours (scheduled): see intake_counts_compact."""
    return intake_counts_compact()
