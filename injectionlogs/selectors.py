"""Reads of the intake rollup (IntakeCount): the dashboard's series and the vendor scorecards.

Every read is one grouped query over an hour range of the rollup (an index range scan on
intakecount_key), whatever the number of leads; the folding into days, families and vendors is
plain Python over a few hundred rows.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.db.models import F, Sum
from django.db.models.functions import TruncDay
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from injectionlogs.models import IntakeCount, IntakeOutcome
from injectionlogs.services import intake_bucket
from leads.vocabulary import ReasonCode

ACCEPTED = (IntakeOutcome.CREATED, IntakeOutcome.UPDATED)


def hour_floor(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def hour_ceil(moment: datetime) -> datetime:
    floor = hour_floor(moment)
    return floor if floor == moment else floor + timedelta(hours=1)


@dataclass(frozen=True)
class IntakeRow:
    hour: datetime
    api_user_id: int
    family: str
    outcome: str
    reason_code: str
    count: int


def intake_rows(*, since: datetime, until: datetime) -> list[IntakeRow]:
    """The rollup summed over its slots, for the buckets that overlap [since, until): hours in
    the last two days, whole days before (see intake_counts_compact)."""
    start = intake_bucket(hour_floor(since), now=timezone.now())
    rows = (
        IntakeCount.objects.filter(hour__gte=start, hour__lt=until)
        .values("hour", "api_user_id", "family", "outcome", "reason_code")
        .annotate(total=Sum("count"))
        .order_by()
    )
    return [
        IntakeRow(
            hour=r["hour"],
            api_user_id=r["api_user_id"],
            family=r["family"],
            outcome=r["outcome"],
            reason_code=r["reason_code"],
            count=r["total"],
        )
        for r in rows
    ]


def intake_grouped(
    *, since: datetime, until: datetime, by: tuple[str, ...], step: str | None = None
) -> list[dict]:
    """Counts summed in the database by the given columns, and by hour or day with `step`
    (the key "bucket": a datetime for hours, a date for days). A few hundred rows at most."""
    start = intake_bucket(hour_floor(since), now=timezone.now())
    rows = IntakeCount.objects.filter(hour__gte=start, hour__lt=until)
    fields = by
    if step == "day":
        rows = rows.annotate(bucket=TruncDay("hour"))
        fields = ("bucket", *by)
    elif step == "hour":
        rows = rows.annotate(bucket=F("hour"))
        fields = ("bucket", *by)
    out = list(rows.values(*fields).annotate(n=Sum("count")).order_by())
    if step == "day":
        for row in out:
            row["bucket"] = timezone.localtime(row["bucket"]).date()
    return out


@dataclass
class Scorecard:
    api_user_id: int
    username: str
    created: int = 0
    updated: int = 0
    rejected: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)

    @property
    def accepted(self) -> int:
        return self.created + self.updated

    @property
    def received(self) -> int:
        return self.accepted + self.rejected

    def as_dict(self) -> dict:
        return {
            "username": self.username,
            "received": self.received,
            "accepted": self.accepted,
            "created": self.created,
            "updated": self.updated,
            "rejected": self.rejected,
            "by_reason": dict(sorted(self.by_reason.items())),
        }


def usernames(ids: set[int]) -> dict[int, str]:
    users = get_user_model().objects.filter(pk__in=ids).values_list("pk", "username")
    names = dict(users)
    return {pk: names.get(pk, f"(deleted user #{pk})") for pk in ids}


def scorecards_from_rows(rows: list[IntakeRow]) -> list[Scorecard]:
    """One scorecard per API user, by username. Staff retries (no API user) are left out: they
    are not a vendor's calls."""
    cards: dict[int, Scorecard] = {}
    for row in rows:
        if not row.api_user_id:
            continue
        card = cards.setdefault(row.api_user_id, Scorecard(row.api_user_id, ""))
        if row.outcome == IntakeOutcome.CREATED:
            card.created += row.count
        elif row.outcome == IntakeOutcome.UPDATED:
            card.updated += row.count
        else:
            card.rejected += row.count
            card.by_reason[row.reason_code] = card.by_reason.get(row.reason_code, 0) + row.count
    names = usernames(set(cards))
    for pk, card in cards.items():
        card.username = names[pk]
    return sorted(cards.values(), key=lambda c: (c.username.lower(), c.api_user_id))


def vendor_scorecards(*, since: datetime, until: datetime) -> list[Scorecard]:
    rows = intake_grouped(since=since, until=until, by=("api_user_id", "outcome", "reason_code"))
    return scorecards_from_rows(
        [
            IntakeRow(
                hour=since,
                api_user_id=r["api_user_id"],
                family="",
                outcome=r["outcome"],
                reason_code=r["reason_code"],
                count=r["n"],
            )
            for r in rows
        ]
    )


def reason_label(code: str) -> str:
    try:
        return str(ReasonCode(code).label)
    except ValueError:
        return code


# -- the dashboard's series -------------------------------------------------------------------


@dataclass
class Series:
    """Counts per bucket (hour or day), split by a key (family, vendor, outcome...)."""

    buckets: list[datetime | date]
    values: dict[str, list[int]]

    @property
    def total(self) -> int:
        return sum(sum(v) for v in self.values.values())


def buckets_for(*, step: str, until: datetime, count: int) -> list[datetime | date]:
    """The last `count` hours (or days, in the current time zone) up to `until`, oldest first."""
    if step == "hour":
        last = hour_floor(until)
        return [last - timedelta(hours=n) for n in range(count - 1, -1, -1)]
    today = timezone.localtime(until).date()
    return [today - timedelta(days=n) for n in range(count - 1, -1, -1)]


def series_from_grouped(
    rows: list[dict], *, buckets: list[datetime | date], key, value=lambda row: row["n"]
) -> Series:
    index = {b: n for n, b in enumerate(buckets)}
    values: dict[str, list[int]] = defaultdict(lambda: [0] * len(buckets))
    for row in rows:
        n = index.get(row["bucket"])
        if n is not None:
            values[key(row)][n] += value(row)
    return Series(buckets=buckets, values=dict(values))


def top_keys(series: Series, limit: int, other: str = "other") -> Series:
    """Keep the `limit` biggest keys, fold the rest into one."""
    ranked = sorted(series.values, key=lambda k: -sum(series.values[k]))
    if len(ranked) <= limit:
        return series
    kept = {k: series.values[k] for k in ranked[:limit]}
    rest = [0] * len(series.buckets)
    for k in ranked[limit:]:
        rest = [a + b for a, b in zip(rest, series.values[k], strict=True)]
    kept[other] = rest
    return Series(buckets=series.buckets, values=kept)


# -- periods ----------------------------------------------------------------------------------

DEFAULT_PERIOD = timedelta(days=7)


def _parse_moment(text: str, *, end: bool) -> datetime:
    """An ISO date or date-time; a date is its day's start, or with end=True the next day's."""
    text = text.strip()
    moment = parse_datetime(text)
    if moment is None:
        day = parse_date(text)
        if day is None:
            raise ValueError(f"not an ISO date or date-time: {text!r}")
        if end:
            day += timedelta(days=1)
        moment = datetime.combine(day, time.min)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def period_parse(
    since: str | None, until: str | None, *, now: datetime | None = None
) -> tuple[datetime, datetime]:
    """The [since, until) of a request: ISO dates or date-times, by default the last 7 days.

    Raises ValueError with a message for the sender."""
    now = now or timezone.now()
    try:
        end = _parse_moment(until, end=True) if until else now
        start = _parse_moment(since, end=False) if since else end - DEFAULT_PERIOD
    except (ValueError, OverflowError) as error:
        raise ValueError(str(error)) from None
    if start >= end:
        raise ValueError("since must be before until")
    return start, end
