"""seed_leads: realistic leads stored as intake stores them, one capture activity each."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from injectionlogs.models import FailedInjection
from leads.models import Activity, ActivityType, CustomField, Lead
from leads.normalize import email_key, normalize_phone

pytestmark = pytest.mark.django_db(transaction=True)


def test_seed_leads_loads_leads_as_intake_would_store_them():
    call_command("seed_leads", count=300, seed=5)
    assert Lead.objects.count() == 300
    assert Activity.objects.filter(type=ActivityType.LEAD_CAPTURE).count() == 300
    assert not Lead.objects.filter(activities__isnull=True).exists()
    assert FailedInjection.objects.count() == 6
    formats = set()
    for lead in Lead.objects.all():
        assert lead.phone_normalized == normalize_phone(lead.phone, region="US")
        assert lead.email_normalized == email_key(lead.email)
        assert lead.contact_name == f"{lead.first_name} {lead.last_name}"
        assert lead.created_by is not None
        formats.add(sum(ch.isdigit() for ch in lead.phone) != len(lead.phone))
    assert formats == {True, False}  # digits only, and punctuated
    assert Lead.objects.values("source").distinct().count() > 3
    assert len({lead.created_at.date() for lead in Lead.objects.all()}) > 30
    assert CustomField.objects.filter(name="mx_City").exists()
