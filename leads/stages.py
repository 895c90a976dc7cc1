"""Pipeline stages: hooks another app plugs into leads_ingest at fixed points.

leads knows no app that extends it; an app registers its stage from its AppConfig.ready() (the
dialer app does). Each hook runs once per call, with every live row of the call, so a stage
costs a fixed number of queries per batch, never one per row:

    validate -> read (each stage names its query) -> lock, load candidates and run the stages'
    queries (after the locks, in one round trip on PostgreSQL) -> candidates_loaded (may reject
    rows) ->
    decide (dup_scope, per row, no query) -> bulk writes -> written (same transaction) -> log

A stage reads its own options from IntakeRequest.dialer (typed loosely here: leads imports
nothing from the app that fills it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from leads.matching import DupScope, LeadIndex


class StageRow(Protocol):
    """What a stage sees of a row: the request, its normalized keys, its result so far."""

    request: Any
    keys: Any
    result: Any  # set result.error to reject the row
    list_obj: Any  # the list a new lead goes to (the dialer stage sets it)


@dataclass
class StageRead:
    """A query a stage needs before it can judge the rows: the pipeline sends it after the locks,
    with the candidate read (one message, so one round trip, on PostgreSQL), and fills in its
    rows. One statement, with no semicolon of its own."""

    sql: str
    params: list[Any]
    rows: list[tuple] | None = None


class Stage(Protocol):
    name: str

    def read(self, rows: Sequence[StageRow]) -> StageRead | None:
        """Before the candidate lookup: the stage's query for these rows (None: none to send)."""

    def candidates_loaded(
        self, rows: Sequence[StageRow], index: LeadIndex, read: StageRead | None
    ) -> None:
        """After the candidate lookup, with the rows of the stage's read: load what the stage
        needs and reject rows it refuses."""

    def dup_scope(self, row: StageRow, *, insert_reject_duplicates: bool) -> DupScope | None:
        """Where a phone number counts as a duplicate for this row (None: the stage has no say)."""

    def written(self, rows: Sequence[StageRow], *, now: Any) -> None:
        """After the writes, in the same transaction: the accepted rows, each with its lead."""


STAGES: dict[str, Stage] = {}


def register(stage: Stage) -> Stage:
    """Add a stage (by name: registering again replaces it, so ready() may run twice)."""
    STAGES[stage.name] = stage
    return stage


def stages_reads(*, rows: Sequence[StageRow]) -> dict[str, StageRead]:
    """Each stage's read for these rows, by stage name (stages with none left out)."""
    reads = {}
    for stage in STAGES.values():
        read = stage.read(rows)
        if read is not None:
            reads[stage.name] = read
    return reads


def stages_candidates_loaded(
    *, rows: Sequence[StageRow], index: LeadIndex, reads: dict[str, StageRead]
) -> None:
    for stage in STAGES.values():
        stage.candidates_loaded(rows, index, reads.get(stage.name))


def stages_dup_scope(*, row: StageRow, insert_reject_duplicates: bool) -> DupScope | None:
    for stage in STAGES.values():
        scope = stage.dup_scope(row, insert_reject_duplicates=insert_reject_duplicates)
        if scope is not None:
            return scope
    return None


def stages_written(*, rows: Sequence[StageRow], now: Any) -> None:
    for stage in STAGES.values():
        stage.written(rows, now=now)
