from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models import Q, TextField
from django.db.models.functions import Cast, Upper

from leads.vocabulary import Family, ReasonCode


class FailedInjection(models.Model):
    """A lead that was not injected: why, and the data as received (credentials removed)."""

    id = models.BigAutoField("ID", primary_key=True)
    reason_code = models.CharField(max_length=32, choices=ReasonCode.choices())
    reason = models.TextField()
    data = models.JSONField("Data", default=dict)
    query = models.JSONField(
        default=dict, blank=True, help_text="Query string options, credentials removed."
    )
    created_at = models.DateTimeField("Created", auto_now_add=True)
    family = models.CharField(max_length=16, choices=Family.choices())
    endpoint = models.CharField(max_length=128)
    api_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    retry_count = models.PositiveIntegerField(default=0)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_lead = models.ForeignKey(
        "leads.Lead", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "Failed leads API injection"
        verbose_name_plural = "Failed leads API injection"
        ordering = ["-id"]
        permissions = [("retry_failedinjection", "Can retry a failed injection")]
        indexes = [
            # Settings > Logs filters: by reason, by family, newest first.
            models.Index(fields=["reason_code", "-created_at"], name="failedinj_reason_created"),
            models.Index(fields=["family", "-created_at"], name="failedinj_family_created"),
            models.Index(fields=["-created_at"], name="failedinj_created"),
            # The log pages are newest first by id; filtered by reason or family.
            models.Index(fields=["reason_code", "-id"], name="failedinj_reason_id"),
            models.Index(fields=["family", "-id"], name="failedinj_family_id"),
            # The log's search box, PostgreSQL only (pg_trgm): icontains on the reason and on
            # the data as text (UPPER(col::text) LIKE UPPER(%q%)).
            GinIndex(OpClass(Upper("reason"), name="gin_trgm_ops"), name="failedinj_reason_trgm"),
            GinIndex(
                OpClass(Upper(Cast("data", TextField())), name="gin_trgm_ops"),
                name="failedinj_data_trgm",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.id} {self.reason}"


def failed_injection_search_q(value: str) -> Q:
    """The log's search: a row id, or a part (three characters or more) of the reason or data."""
    text = value.strip().lstrip("#")
    if text.isdigit() and len(text) < 19:
        return Q(pk=int(text))
    if len(text) < 3:
        return Q(reason__istartswith=text)
    return Q(reason__icontains=text) | Q(data__icontains=text)


class IntakeOutcome(models.TextChoices):
    CREATED = "created", "Created"
    UPDATED = "updated", "Updated (matched an existing lead)"
    REJECTED = "rejected", "Rejected"


class IntakeCount(models.Model):
    """How many leads intake took, per hour, API user, family, operation, outcome and reason.

    The dashboard and the vendor scorecards read this, not the leads: its size grows with hours
    and vendors, not with leads. The pipeline adds to it in the intake transaction, so it is
    exact: one count per lead accepted, one per FailedInjection row written."""

    hour = models.DateTimeField()
    # The API user's pk; 0 for none (a staff retry). Not a foreign key: ON CONFLICT needs a
    # non-null column, and a deleted user's history stays counted.
    api_user_id = models.IntegerField(default=0)
    family = models.CharField(max_length=16)
    operation = models.CharField(max_length=24, blank=True)
    outcome = models.CharField(max_length=8, choices=IntakeOutcome.choices)
    reason_code = models.CharField(max_length=32, blank=True)
    # Each thread adds to a row of its own (injectionlogs.services), so that concurrent calls
    # do not queue on one row lock until commit; readers sum over the slots.
    slot = models.PositiveSmallIntegerField(default=0)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            # The upsert's conflict target; it leads with the hour, so every dashboard and
            # scorecard read (an hour range) is an index range scan.
            models.UniqueConstraint(
                fields=[
                    "hour",
                    "api_user_id",
                    "family",
                    "operation",
                    "outcome",
                    "reason_code",
                    "slot",
                ],
                name="intakecount_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H}h {self.family} {self.outcome} {self.count}"
