"""Staff screens: the intake dashboard and the vendor scorecards (admin views; reads only)."""

from __future__ import annotations

import csv
from datetime import datetime, time, timedelta
from urllib.parse import urlencode

from django.contrib import admin
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from injectionlogs import charts
from injectionlogs import selectors as intake
from injectionlogs.models import IntakeOutcome
from leads.selectors import async_queue_stats
from lists_hopper.stats import hopper_depth_by_campaign

TOP_VENDORS = 6


def _matched_share(totals: dict[str, int]) -> float | None:
    accepted = totals[IntakeOutcome.CREATED] + totals[IntakeOutcome.UPDATED]
    return round(100 * totals[IntakeOutcome.UPDATED] / accepted, 1) if accepted else None


def _window(*, step: str, now, count: int, title: str, label_format: str) -> dict:
    """The charts of one window (24 hours or 30 days): by family, by vendor, accepted/rejected,
    rejections by reason; four grouped reads of the rollup."""
    buckets = intake.buckets_for(step=step, until=now, count=count)
    since = (
        buckets[0]
        if step == "hour"
        else timezone.make_aware(datetime.combine(buckets[0], time.min))
    )
    until = now + timedelta(hours=1)

    def grouped(*by, bucketed=True):
        return intake.intake_grouped(
            since=since, until=until, by=by, step=step if bucketed else None
        )

    labels = [b.strftime(label_format) for b in buckets]
    every = max(1, count // 12)
    by_family = intake.series_from_grouped(
        grouped("family"), buckets=buckets, key=lambda r: r["family"]
    )
    vendor_rows = grouped("api_user_id")
    names = intake.usernames({r["api_user_id"] for r in vendor_rows if r["api_user_id"]})
    by_vendor = intake.top_keys(
        intake.series_from_grouped(
            vendor_rows,
            buckets=buckets,
            key=lambda r: names.get(r["api_user_id"], "(staff retry)"),
        ),
        TOP_VENDORS,
    )
    outcome = intake.series_from_grouped(
        grouped("outcome"),
        buckets=buckets,
        key=lambda r: "rejected" if r["outcome"] == IntakeOutcome.REJECTED else "accepted",
    )
    outcome.values = {k: outcome.values.get(k, [0] * count) for k in ("accepted", "rejected")}
    totals = {str(o): 0 for o in IntakeOutcome}
    reasons = []
    for row in sorted(grouped("outcome", "reason_code", bucketed=False), key=lambda r: -r["n"]):
        totals[row["outcome"]] += row["n"]
        if row["outcome"] == IntakeOutcome.REJECTED:
            reasons.append((intake.reason_label(row["reason_code"]), row["n"]))

    def chart(series, what):
        return charts.stacked_bars(
            labels, series.values, title=f"{title}: {what}", label_every=every
        )

    return {
        "title": title,
        "by_family": chart(by_family, "by API family"),
        "by_vendor": chart(by_vendor, "by vendor"),
        "by_outcome": chart(outcome, "accepted and rejected"),
        "reasons": charts.horizontal_bars(
            reasons, title=f"{title}: rejections by reason", empty="No rejections"
        ),
        "received": sum(totals.values()),
        "accepted": totals[IntakeOutcome.CREATED] + totals[IntakeOutcome.UPDATED],
        "created": totals[IntakeOutcome.CREATED],
        "updated": totals[IntakeOutcome.UPDATED],
        "rejected": totals[IntakeOutcome.REJECTED],
        "matched_share": _matched_share(totals),
    }


def dashboard_view(request):
    now = timezone.now()
    hopper = hopper_depth_by_campaign(now=now)
    queue = async_queue_stats(now=now)
    context = {
        **admin.site.each_context(request),
        "title": "Intake dashboard",
        "now": now,
        "hours": _window(step="hour", now=now, count=24, title="Last 24 hours", label_format="%H"),
        "days": _window(step="day", now=now, count=30, title="Last 30 days", label_format="%d %b"),
        "hopper": hopper,
        "hopper_chart": charts.horizontal_bars(
            [(d.campaign, d.live) for d in hopper],
            title="Live hopper entries per campaign",
            empty="The hopper is empty",
            colour="#417690",
        ),
        "queue": queue,
    }
    return TemplateResponse(request, "admin/dashboard.html", context)


# -- vendor scorecards ------------------------------------------------------------------------

PRESETS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}


def _drill_down(card: intake.Scorecard, since, until) -> dict[str, str]:
    period = {"created_at__gte": since.isoformat(), "created_at__lt": until.isoformat()}
    leads = (
        reverse("admin:leads_lead_changelist")
        + "?"
        + urlencode({"created_by": card.api_user_id, **period})
    )
    log = (
        reverse("admin:injectionlogs_failedinjection_changelist")
        + "?"
        + urlencode({"api_user__id__exact": card.api_user_id, **period})
    )
    return {"leads": leads, "log": log}


def scorecards_view(request):
    now = timezone.now()
    preset = request.GET.get("period", "")
    error = ""
    if preset in PRESETS:
        since, until = now - PRESETS[preset], now
    else:
        try:
            since, until = intake.period_parse(
                request.GET.get("since"), request.GET.get("until"), now=now
            )
        except ValueError as exc:
            error = str(exc)
            since, until = now - intake.DEFAULT_PERIOD, now
    cards = intake.vendor_scorecards(since=since, until=until)
    reasons = sorted({code for card in cards for code in card.by_reason})
    if request.GET.get("format") == "csv":
        return _scorecards_csv(cards, reasons, since, until)
    rows = [
        {
            "card": card,
            "reasons": [card.by_reason.get(code, 0) for code in reasons],
            "links": _drill_down(card, since, until),
        }
        for card in cards
    ]
    query = request.GET.copy()
    query["format"] = "csv"
    context = {
        **admin.site.each_context(request),
        "title": "Vendor scorecards",
        "since": since,
        "until": until,
        "preset": preset,
        "error": error,
        "reasons": [(code, intake.reason_label(code)) for code in reasons],
        "rows": rows,
        "csv_query": query.urlencode(),
        "chart": charts.stacked_bars(
            [card.username for card in cards],
            {
                "created": [c.created for c in cards],
                "updated": [c.updated for c in cards],
                "rejected": [c.rejected for c in cards],
            },
            title="Leads received per vendor",
        ),
    }
    return TemplateResponse(request, "admin/dashboard_scorecards.html", context)


def _scorecards_csv(cards, reasons, since, until) -> HttpResponse:
    name = f"scorecards-{since:%Y%m%d%H%M}-{until:%Y%m%d%H%M}.csv"
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    writer = csv.writer(response)
    head = ["username", "received", "accepted", "created", "updated", "rejected"]
    writer.writerow([*head, *reasons])
    for card in cards:
        row = card.as_dict()
        writer.writerow([row[h] for h in head] + [card.by_reason.get(c, 0) for c in reasons])
    return response
