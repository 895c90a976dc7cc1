"""The dialer's parts of the lead page: the campaign filter and the read-only hopper entries."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.test import Client

from leads.models import Activity
from lists_hopper.models import HopperEntry
from tests.factories import CampaignFactory, HopperEntryFactory, LeadFactory, ListFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(staff):
    c = Client()
    c.force_login(staff)
    return c


class _FormFields(HTMLParser):
    """The values a browser would post from the page's change form."""

    def __init__(self):
        super().__init__()
        self.data: dict[str, str] = {}
        self._select = self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("submit", "checkbox", "file"):
            self.data[name] = a.get("value") or ""
        elif tag == "input" and name and a.get("type") == "checkbox" and "checked" in a:
            self.data[name] = a.get("value") or "on"
        elif tag == "select" and name:
            self._select = name
            self.data.setdefault(name, "")
        elif tag == "option" and self._select and "selected" in a:
            self.data[self._select] = a.get("value") or ""
        elif tag == "textarea" and name:
            self._textarea = name
            self.data[name] = ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea] += data


def test_the_lead_page_shows_hopper_entries_read_only(admin_client):
    entry = HopperEntryFactory(priority=7)
    url = f"/admin/leads/lead/{entry.lead.pk}/change/"
    page = admin_client.get(url).content.decode()
    assert 'id="hopper_entries-group"' in page  # the inline is on the page
    assert entry.campaign.name in page
    # Shown, not editable: no input for the entry's fields.
    assert not re.search(r'name="hopper_entries-\d+-(priority|state|campaign)"', page)


def test_saving_the_lead_page_writes_no_hopper_row(admin_client):
    entry = HopperEntryFactory(priority=7)
    other = CampaignFactory()
    url = f"/admin/leads/lead/{entry.lead.pk}/change/"
    form = _FormFields()
    form.feed(admin_client.get(url).content.decode())
    data = dict(form.data)
    # A forged post: change the entry and add one, as the old editable inline allowed.
    data.update(
        {
            "hopper_entries-TOTAL_FORMS": "2",
            "hopper_entries-INITIAL_FORMS": "1",
            "hopper_entries-0-id": str(entry.pk),
            "hopper_entries-0-lead": str(entry.lead.pk),
            "hopper_entries-0-campaign": str(entry.campaign.pk),
            "hopper_entries-0-priority": "1",
            "hopper_entries-0-state": "live",
            "hopper_entries-1-lead": str(entry.lead.pk),
            "hopper_entries-1-campaign": str(other.pk),
            "hopper_entries-1-priority": "2",
            "hopper_entries-1-state": "live",
        }
    )
    data["company"] = "Acme"
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    entry.lead.refresh_from_db()
    assert entry.lead.company == "Acme"  # the lead itself saved
    assert list(HopperEntry.objects.values_list("campaign_id", "priority")) == [
        (entry.campaign_id, 7)
    ]
    assert not Activity.objects.filter(lead=entry.lead).exists()


def test_the_lead_list_filters_by_campaign(admin_client):
    lst = ListFactory()
    inside = LeadFactory(list=lst, email="in@example.com")
    LeadFactory(list=ListFactory(), email="out@example.com")
    page = admin_client.get(f"/admin/leads/lead/?campaign={lst.campaign.pk}").content.decode()
    assert lst.campaign.name in page  # the filter lists the campaign
    assert inside.email in page
    assert "out@example.com" not in page
