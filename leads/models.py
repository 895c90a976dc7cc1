from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models import F
from django.db.models.functions import Upper

from leads.ids import new_id


class Account(models.Model):
    """A company that leads relate to (LeadSquared RelatedCompanyId)."""

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    name = models.CharField(max_length=255)
    website = models.CharField(max_length=255, blank=True)
    phone = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Visitor(models.Model):
    """An anonymous web visitor (MXCProspectId) not yet converted to a lead."""

    id = models.UUIDField("ProspectID", primary_key=True, default=new_id)
    source = models.CharField(max_length=255, blank=True)
    source_medium = models.CharField(max_length=255, blank=True)
    source_campaign = models.CharField(max_length=255, blank=True)
    source_content = models.CharField(max_length=255, blank=True)
    source_referrer = models.CharField(max_length=1024, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    converted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return str(self.id)


class Lead(models.Model):
    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    first_name = models.CharField(max_length=255, blank=True)
    last_name = models.CharField(max_length=255, blank=True)
    contact_name = models.CharField(max_length=512, blank=True)
    email = models.CharField(max_length=254, blank=True)
    email_normalized = models.CharField(max_length=254, blank=True, editable=False)
    phone = models.CharField(max_length=64, blank=True)
    phone_normalized = models.CharField(max_length=32, blank=True, editable=False)
    phone_code = models.CharField(max_length=8, blank=True)
    mobile = models.CharField(max_length=64, blank=True)
    alt_phone = models.CharField(max_length=64, blank=True)
    company = models.CharField(max_length=255, blank=True)
    job_title = models.CharField(max_length=255, blank=True)
    address1 = models.CharField(max_length=255, blank=True)
    address2 = models.CharField(max_length=255, blank=True)
    city = models.CharField(max_length=255, blank=True)
    state = models.CharField(max_length=255, blank=True)
    postal_code = models.CharField(max_length=32, blank=True)
    country = models.CharField(max_length=255, blank=True)
    website = models.CharField(max_length=255, blank=True)
    notes = models.TextField(blank=True)
    source = models.CharField(max_length=255, blank=True)
    source_medium = models.CharField(max_length=255, blank=True)
    source_campaign = models.CharField(max_length=255, blank=True)
    source_content = models.CharField(max_length=255, blank=True)
    source_referrer = models.CharField(max_length=1024, blank=True)
    status = models.CharField(max_length=64, blank=True, default="New")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_leads",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="created_leads",
    )
    list = models.ForeignKey(
        "lists_hopper.List", null=True, blank=True, on_delete=models.SET_NULL, related_name="leads"
    )
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="leads"
    )
    custom_fields = models.JSONField(default=dict, blank=True)
    custom_field_sets = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The matcher's lookups: by normalized email, by normalized phone.
            models.Index(fields=["email_normalized"], name="lead_email_norm"),
            models.Index(fields=["phone_normalized"], name="lead_phone_norm"),
            # Convoso check_dup=2 (this list) and the campaign scope through the list.
            models.Index(fields=["list", "phone_normalized"], name="lead_list_phone"),
            # Manage Leads and the native API: newest first, the pk breaking ties so that pages
            # neither repeat nor skip a lead; each filter has its own ordered index.
            models.Index(fields=["-created_at", "-id"], name="lead_created_id"),
            models.Index(fields=["created_by", "-created_at", "-id"], name="lead_creator_created"),
            # Source and status match in any case (iexact: UPPER(col) = UPPER(%s)).
            models.Index(
                Upper("source"), F("created_at").desc(), F("id").desc(), name="lead_source_created"
            ),
            models.Index(
                Upper("status"), F("created_at").desc(), F("id").desc(), name="lead_status_created"
            ),
            models.Index(fields=["list", "-created_at", "-id"], name="lead_list_created"),
            # SearchBy on the common standard fields.
            models.Index(fields=["first_name"], name="lead_first_name"),
            models.Index(fields=["last_name"], name="lead_last_name"),
            # Staff search (leads.search), PostgreSQL only (pg_trgm): a name, an email or a phone
            # by part of it (icontains is UPPER(col) LIKE UPPER(%q%)). The indexes are on UPPER()
            # so that intake's exact lookups (email_normalized = ANY(...)) can never pick them:
            # gin_trgm_ops also answers "=", and on a table without statistics the planner took
            # it over the btree, at seconds per 500-lead batch.
            GinIndex(OpClass(Upper("contact_name"), name="gin_trgm_ops"), name="lead_name_trgm"),
            GinIndex(
                OpClass(Upper("email_normalized"), name="gin_trgm_ops"), name="lead_email_up_trgm"
            ),
            GinIndex(
                OpClass(Upper("phone_normalized"), name="gin_trgm_ops"), name="lead_phone_up_trgm"
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.contact_name or self.email or self.phone or str(self.id)


class CustomFieldType(models.TextChoices):
    STRING = "String"
    NUMBER = "Number"
    BOOLEAN = "Boolean"
    DATE = "Date"
    FIELD_SET = "CustomObject", "Custom field set"


class CustomField(models.Model):
    """The registry of custom field names: kept on write by the intake pipeline, or defined by
    staff. LeadsMetaData.Get and the admin read it instead of scanning every lead."""

    name = models.CharField(max_length=255, unique=True)
    display_name = models.CharField(max_length=255, blank=True)
    data_type = models.CharField(
        max_length=16, choices=CustomFieldType.choices, default=CustomFieldType.STRING
    )
    is_set = models.BooleanField(
        "custom field set", default=False, help_text="An attribute with nested Fields."
    )
    defined_by_staff = models.BooleanField(default=False)
    first_seen_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def label(self) -> str:
        return self.display_name or self.name.removeprefix("mx_").replace("_", " ")


class ActivityType(models.TextChoices):
    LEAD_CAPTURE = "lead_capture", "Lead Capture"
    CREATED = "created", "Lead created"
    UPDATED = "updated", "Lead updated"
    CONVERTED = "converted", "Visitor converted"
    DUPLICATE_REJECTED = "duplicate_rejected", "Duplicate rejected"
    HOPPER_ADDED = "hopper_added", "Added to hopper"
    HOPPER_TAKEN = "hopper_taken", "Taken from hopper"
    HOPPER_EXPIRED = "hopper_expired", "Hopper expired"
    WEBHOOK = "webhook", "Webhook delivery"
    STATUS_CHANGED = "status_changed", "Status changed"


class Activity(models.Model):
    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="activities")
    type = models.CharField(max_length=32, choices=ActivityType.choices)
    note = models.CharField(max_length=512, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "activities"
        ordering = ["-created_at", "-id"]
        indexes = [
            # The lead page lists its activities, newest first.
            models.Index(fields=["lead", "-created_at"], name="activity_lead_created"),
        ]

    def __str__(self) -> str:
        return f"{self.get_type_display()} on {self.lead_id}"


class CaptureStatus(models.TextChoices):
    IN_QUEUE = "In-Queue"
    IN_PROCESS = "In-Process"
    SUCCESS = "Success"
    FAILURE = "FAILURE"
    ERROR = "ERROR"


class CaptureRequest(models.Model):
    """An async capture: the row, not the queue, is the truth about the request."""

    id = models.UUIDField("RequestId", primary_key=True, default=new_id, editable=False)
    credential = models.ForeignKey(
        "settings_global.ApiCredential", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    api_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.JSONField()
    query = models.JSONField(default=dict, blank=True)
    # The sender's address, for the log row of a lead the worker rejects.
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=CaptureStatus.choices, default=CaptureStatus.IN_QUEUE
    )
    status_reason = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(null=True, blank=True)
    lead = models.ForeignKey(
        Lead, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The worker's claim: In-Process until leased_until, then any worker may take it back.
    claimed_by = models.CharField(max_length=64, blank=True)
    leased_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The workers' claim: queued requests whose next attempt is due.
            models.Index(fields=["status", "next_attempt_at"], name="capture_status_next"),
            # The workers' claim: In-Process requests whose lease ran out (a dead worker's).
            models.Index(fields=["status", "leased_until"], name="capture_status_lease"),
            # The metrics API: one vendor's pending requests.
            models.Index(fields=["api_user", "status"], name="capture_user_status"),
            # The metrics' processing rate: requests finished in the last minutes. Partial, so
            # that accepting a request (finished_at null) does not pay for it.
            models.Index(
                fields=["finished_at"],
                name="capture_finished",
                condition=models.Q(finished_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.status}"


class IdempotencyKey(models.Model):
    """The first answer to a write sent with an Idempotency-Key header, replayed to a retry."""

    credential = models.ForeignKey(
        "settings_global.ApiCredential", on_delete=models.CASCADE, related_name="+"
    )
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            # One answer per key and sender, even when the retry races the first call.
            models.UniqueConstraint(fields=["credential", "key"], name="idempotency_key_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.status_code or 'in progress'})"
