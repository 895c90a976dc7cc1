"""Each staff read is served by an index on PostgreSQL: EXPLAIN shows no sequential scan of the
lead (or log) table, on a table seeded big enough (seed_leads) for the planner to care."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection

from injectionlogs.models import FailedInjection, failed_injection_search_q
from leads.api.native import LeadFilter
from leads.models import Lead
from leads.search import api_user_ids, campaign_list_ids, lead_search_q, recent_values
from lists_hopper.models import Campaign, List
from tests.helpers import postgres_only

pytestmark = [pytest.mark.postgres, postgres_only, pytest.mark.django_db(transaction=True)]

SEEDED = 20_000


@pytest.fixture
def seeded():
    call_command("seed_leads", count=SEEDED, seed=3, failed_share=0.5)
    with connection.cursor() as cursor:
        for table in ("leads_lead", "injectionlogs_failedinjection"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    return Lead.objects.order_by("created_at")[SEEDED // 2]


def plans(seeded: Lead) -> dict[str, str]:
    page = Lead.objects.order_by("-created_at", "-id")
    digits = seeded.phone_normalized[-10:]
    campaign = Campaign.objects.order_by("pk").first()
    user = get_user_model().objects.get(pk=seeded.created_by_id)
    reads = {
        "first page": page,
        "name part": page.filter(lead_search_q(seeded.last_name[:5].lower())),
        "whole name": page.filter(lead_search_q(seeded.contact_name.upper())),
        "email any case": page.filter(lead_search_q(seeded.email.upper())),
        "phone typed": page.filter(lead_search_q(f"({digits[:3]}) {digits[3:6]}-{digits[6:]}")),
        "phone part": page.filter(lead_search_q(digits[3:])),
        "created by user": page.filter(created_by=user),
        "created by API users": page.filter(created_by__in=api_user_ids()),
        "source": page.filter(source__iexact="website"),
        "status": page.filter(status__iexact="qualified"),
        "list": page.filter(list=List.objects.order_by("pk").first()),
        "campaign": page.filter(list_id__in=campaign_list_ids(campaign.pk)),
        "native API filters": LeadFilter(
            {"source": "website", "created_by": "System API User", "search": seeded.last_name}
        ).qs.order_by("-created_at", "-id"),
    }
    out = {name: qs[:50].explain() for name, qs in reads.items()}
    out["capped count"] = (
        page.filter(source__iexact="website").order_by()[:10001].values("pk").explain()
    )
    out["filter choices"] = (
        Lead.objects.order_by("-created_at", "-pk").values_list("source")[:5000].explain()
    )
    log = FailedInjection.objects.order_by("-id")
    out["log page"] = log[:50].explain()
    out["log by reason"] = log.filter(reason_code="dnc")[:50].explain()
    out["log by family"] = log.filter(family="convoso")[:50].explain()
    out["log search"] = log.filter(failed_injection_search_q(seeded.email[:10]))[:50].explain()
    return out


def test_every_staff_read_uses_an_index(seeded):
    assert Lead.objects.count() == SEEDED
    found = plans(seeded)
    scans = {
        name: plan
        for name, plan in found.items()
        if "Seq Scan on leads_lead" in plan or "Seq Scan on injectionlogs_failedinjection" in plan
    }
    assert not scans, "\n\n".join(f"{name}:\n{plan}" for name, plan in scans.items())
    # The searches go through the search indexes made for them (a common name part may rather
    # walk the newest-first index: it fills a page at once).
    assert "lead_email_up_trgm" in found["email any case"]
    assert "lead_phone" in found["phone typed"]
    assert "lead_source_created" in found["source"]


def test_the_seeded_leads_are_found_as_staff_type_them(seeded):
    digits = seeded.phone_normalized[-10:]
    for typed in (f"({digits[:3]}) {digits[3:6]}-{digits[6:]}", seeded.email.swapcase()):
        assert seeded in Lead.objects.filter(lead_search_q(typed))
    assert seeded.source in recent_values(Lead.objects.all(), "source")
    assert seeded.activities.count() == 1


def test_intake_exact_lookups_cannot_pick_a_trigram_index():
    """gin_trgm_ops also answers "=": an index on a bare column that intake matches exactly was
    chosen for email_normalized = ANY(...) on a table without statistics (seconds per batch).
    Every trigram index is on UPPER(column), which only the staff search's icontains uses."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'leads_lead' "
            "AND indexdef LIKE '%%gin_trgm_ops%%'"
        )
        trigram = dict(cursor.fetchall())
    assert set(trigram) == {"lead_name_trgm", "lead_email_up_trgm", "lead_phone_up_trgm"}
    assert all("upper(" in definition for definition in trigram.values()), trigram
    emails = [f"lead{n}@example.com" for n in range(500)]
    phones = [f"+1202555{n:04d}" for n in range(500)]
    plan = (
        Lead.objects.filter(email_normalized__in=emails)
        .union(Lead.objects.filter(phone_normalized__in=phones))
        .explain()
    )
    assert "trgm" not in plan, plan
