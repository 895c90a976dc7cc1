"""Hopper expiry: the scheduled job, the "Hopper Expire" workflow rules and webhook delivery."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.conf import settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from leads.models import Activity, ActivityType
from lists_hopper.models import HopperState
from lists_hopper.tasks import (
    WEBHOOK_BACKOFF_SECONDS,
    WEBHOOK_MAX_ATTEMPTS,
    deliver_hopper_webhook,
    expire_hopper_entries,
)
from tests.factories import (
    CampaignFactory,
    HopperEntryFactory,
    LeadFactory,
    ListFactory,
    WorkflowRuleFactory,
)

pytestmark = pytest.mark.django_db

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
DATABASE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


class Receiver:
    """A real HTTP server on 127.0.0.1 that records each POST and answers with the statuses in
    turn (the last one from then on)."""

    def __init__(self, *statuses: int):
        self.statuses = statuses or (200,)
        self.requests: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                receiver.requests.append(
                    {
                        "path": self.path,
                        "content_type": self.headers.get("Content-Type"),
                        "body": json.loads(self.rfile.read(length)),
                    }
                )
                turn = min(len(receiver.requests), len(receiver.statuses)) - 1
                self.send_response(receiver.statuses[turn])
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/expire"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    with Receiver() as server:
        yield server


@pytest.fixture
def immediate_tasks(settings):
    settings.TASKS = IMMEDIATE


def expired_entry(campaign=None, minutes_ago=1, **kwargs):
    campaign = campaign or CampaignFactory()
    lead = kwargs.pop("lead", None) or LeadFactory(
        phone="2015550123", phone_normalized="+12015550123", list=ListFactory(campaign=campaign)
    )
    return HopperEntryFactory(
        campaign=campaign,
        lead=lead,
        expires_at=timezone.now() - timedelta(minutes=minutes_ago),
        **kwargs,
    )


def test_the_scheduler_runs_expiry_every_30_seconds():
    assert ("lists_hopper.tasks.expire_hopper_entries", 30) in settings.SCHEDULED_TASKS


def test_expiry_removes_only_live_entries_past_their_expiry(immediate_tasks):
    due = expired_entry()
    future = HopperEntryFactory(expires_at=timezone.now() + timedelta(minutes=5))
    never = HopperEntryFactory(expires_at=None)
    taken = expired_entry(state=HopperState.TAKEN)
    assert expire_hopper_entries.call() == 1
    states = {e: e.__class__.objects.get(pk=e.pk).state for e in (due, future, never, taken)}
    assert states == {
        due: HopperState.EXPIRED,
        future: HopperState.LIVE,
        never: HopperState.LIVE,
        taken: HopperState.TAKEN,
    }
    expired = Activity.objects.get(type=ActivityType.HOPPER_EXPIRED)
    assert expired.lead_id == due.lead_id
    assert expired.data["hopper_id"] == due.id
    assert expire_hopper_entries.call() == 0  # once only


def test_expiry_fires_the_webhook_with_the_lead_as_json(immediate_tasks, receiver):
    campaign = CampaignFactory()
    rule = WorkflowRuleFactory(name="Expire hook", campaign=campaign, webhook_url=receiver.url)
    hopper = expired_entry(campaign=campaign, priority=42)
    lead = hopper.lead
    lead.custom_fields = {"loan_amount": "25000"}
    lead.first_name = "Ann"
    lead.save()
    assert expire_hopper_entries.call() == 1
    assert len(receiver.requests) == 1
    received = receiver.requests[0]
    assert received["path"] == "/hooks/expire"
    assert received["content_type"] == "application/json"
    body = received["body"]
    assert body["event"] == "Hopper Expire"
    assert body["rule"] == {"id": rule.id, "name": "Expire hook"}
    assert body["hopper"]["hopper_id"] == hopper.id
    assert body["hopper"]["campaign_id"] == campaign.id
    assert body["hopper"]["priority"] == 42
    assert body["lead"]["lead_id"] == str(lead.id)
    assert body["lead"]["phone_number"] == "2015550123"
    assert body["lead"]["first_name"] == "Ann"
    assert body["lead"]["loan_amount"] == "25000"
    delivery = Activity.objects.get(lead=lead, type=ActivityType.WEBHOOK)
    assert delivery.data["ok"] is True
    assert delivery.data["status"] == 200
    assert delivery.data["attempt"] == 1
    assert receiver.url in delivery.note


def test_a_rule_for_every_campaign_fires_and_another_campaigns_rule_does_not(
    immediate_tasks, receiver
):
    WorkflowRuleFactory(campaign=None, webhook_url=receiver.url)
    WorkflowRuleFactory(campaign=CampaignFactory(), webhook_url=receiver.url + "/other")
    WorkflowRuleFactory(campaign=None, webhook_url=receiver.url + "/off", is_active=False)
    expired_entry()
    expire_hopper_entries.call()
    assert [r["path"] for r in receiver.requests] == ["/hooks/expire"]


def test_a_status_rule_changes_the_lead_status(immediate_tasks):
    campaign = CampaignFactory()
    rule = WorkflowRuleFactory(campaign=campaign, set_status="Hopper Expired")
    hopper = expired_entry(campaign=campaign)
    other = expired_entry()  # another campaign: the rule does not apply
    expire_hopper_entries.call()
    hopper.lead.refresh_from_db()
    other.lead.refresh_from_db()
    assert hopper.lead.status == "Hopper Expired"
    assert other.lead.status == "New"
    change = Activity.objects.get(type=ActivityType.STATUS_CHANGED)
    assert change.lead_id == hopper.lead_id
    assert change.data == {
        "from": "New",
        "to": "Hopper Expired",
        "rule_id": rule.id,
        "hopper_id": hopper.id,
    }


def test_status_and_webhook_together_post_the_changed_lead(immediate_tasks, receiver):
    WorkflowRuleFactory(set_status="Expired", webhook_url=receiver.url)
    expired_entry()
    expire_hopper_entries.call()
    assert receiver.requests[0]["body"]["lead"]["status"] == "Expired"


def test_a_failing_webhook_is_retried_then_given_up_each_attempt_on_the_activity(
    immediate_tasks,
):
    with Receiver(500) as failing:
        WorkflowRuleFactory(webhook_url=failing.url)
        hopper = expired_entry()
        expire_hopper_entries.call()
    assert len(failing.requests) == WEBHOOK_MAX_ATTEMPTS
    attempts = Activity.objects.filter(lead=hopper.lead, type=ActivityType.WEBHOOK)
    assert sorted(a.data["attempt"] for a in attempts) == list(range(1, WEBHOOK_MAX_ATTEMPTS + 1))
    assert all(a.data["ok"] is False and a.data["status"] == 500 for a in attempts)
    last = attempts.get(data__attempt=WEBHOOK_MAX_ATTEMPTS)
    assert last.note.endswith("giving up")
    assert last.data["retry_at"] is None


def test_an_unreachable_webhook_is_recorded(immediate_tasks):
    with Receiver() as gone:
        url = gone.url
    WorkflowRuleFactory(webhook_url=url)
    hopper = expired_entry()
    expire_hopper_entries.call()
    attempts = Activity.objects.filter(lead=hopper.lead, type=ActivityType.WEBHOOK)
    assert attempts.count() == WEBHOOK_MAX_ATTEMPTS
    assert all(a.data["status"] is None and a.data["error"] for a in attempts)


def test_a_webhook_recovers_on_a_later_attempt(immediate_tasks):
    with Receiver(503, 502, 200) as flaky:
        WorkflowRuleFactory(webhook_url=flaky.url)
        hopper = expired_entry()
        expire_hopper_entries.call()
    assert len(flaky.requests) == 3
    outcomes = Activity.objects.filter(lead=hopper.lead, type=ActivityType.WEBHOOK).values_list(
        "data__attempt", "data__ok"
    )
    assert sorted(outcomes) == [(1, False), (2, False), (3, True)]


def test_with_the_database_backend_a_failed_delivery_is_retried_later(settings):
    settings.TASKS = DATABASE
    with Receiver(500) as failing:
        rule = WorkflowRuleFactory(webhook_url=failing.url)
        hopper = expired_entry()
        expire_hopper_entries.call()
        # The expiry enqueued attempt 1; no worker has run it yet.
        first = DBTaskResult.objects.get(task_path=deliver_hopper_webhook.module_path)
        assert first.args_kwargs["kwargs"] == {
            "rule_id": rule.id,
            "entry_id": hopper.id,
            "attempt": 1,
        }
        before = timezone.now()
        assert deliver_hopper_webhook.call(rule_id=rule.id, entry_id=hopper.id, attempt=1) is False
    retry = DBTaskResult.objects.exclude(pk=first.pk).get()
    assert retry.args_kwargs["kwargs"]["attempt"] == 2
    delay = timedelta(seconds=WEBHOOK_BACKOFF_SECONDS[0])
    assert before + delay <= retry.run_after <= timezone.now() + delay
    assert Activity.objects.get(type=ActivityType.WEBHOOK).note.endswith("will retry")


def test_a_rule_switched_off_before_delivery_sends_nothing(immediate_tasks, receiver):
    rule = WorkflowRuleFactory(webhook_url=receiver.url, is_active=False)
    hopper = expired_entry()
    assert deliver_hopper_webhook.call(rule_id=rule.id, entry_id=hopper.id) is False
    assert receiver.requests == []
