from __future__ import annotations

import builtins

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class Campaign(models.Model):
    name = models.CharField(max_length=255)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.name} (#{self.id})"


class ListStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    ARCHIVED = "archived", "Archived"


class List(models.Model):
    """A dialer list (Convoso list_id); it belongs to one campaign and may be archived."""

    name = models.CharField(max_length=255)
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="lists")
    status = models.CharField(max_length=16, choices=ListStatus.choices, default=ListStatus.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.name} (#{self.id})"

    @property
    def is_archived(self) -> bool:
        return self.status == ListStatus.ARCHIVED


class HopperState(models.TextChoices):
    LIVE = "live", "Live"
    TAKEN = "taken", "Taken by the dialer"
    EXPIRED = "expired", "Expired"


class HopperEntry(models.Model):
    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="hopper_entries")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="hopper_entries")
    priority = models.PositiveSmallIntegerField(
        default=99, validators=[MinValueValidator(0), MaxValueValidator(99)]
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=16, choices=HopperState.choices, default=HopperState.LIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    taken_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "hopper entry"
        verbose_name_plural = "hopper"
        ordering = ["-priority", "created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(priority__gte=0, priority__lte=99), name="hopper_priority_0_99"
            ),
        ]
        indexes = [
            # /v1/hopper/next and /v1/hopper/search: live entries by priority, then age.
            models.Index(
                fields=["campaign", "state", "-priority", "created_at"], name="hopper_next"
            ),
            # The expiry job: live entries past their expiry.
            models.Index(fields=["state", "expires_at"], name="hopper_expiry"),
        ]

    def __str__(self) -> str:
        return f"{self.lead_id} in {self.campaign_id} (p{self.priority})"


class DncEntry(models.Model):
    """A Do Not Call number: account-wide when campaign is empty, else for that campaign."""

    phone = models.CharField(max_length=32, help_text="E.164")
    phone_as_given = models.CharField(max_length=64, blank=True)
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.CASCADE, related_name="dnc_entries"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "DNC entry"
        verbose_name_plural = "DNC"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["phone"],
                condition=models.Q(campaign__isnull=True),
                name="dnc_account_phone",
            ),
            models.UniqueConstraint(
                fields=["phone", "campaign"],
                condition=models.Q(campaign__isnull=False),
                name="dnc_campaign_phone",
            ),
        ]
        indexes = [
            # check_dnc: is this number on the account-wide or the campaign's list?
            models.Index(fields=["phone", "campaign"], name="dnc_phone_campaign"),
        ]

    def __str__(self) -> str:
        scope = f"campaign {self.campaign_id}" if self.campaign_id else "account"
        return f"{self.phone} ({scope})"


class WorkflowTrigger(models.TextChoices):
    HOPPER_EXPIRE = "hopper_expire", "Hopper Expire"


class WorkflowRule(models.Model):
    """What happens on a hopper event: a webhook POST with the lead, and/or a status change."""

    name = models.CharField(max_length=255)
    trigger = models.CharField(
        max_length=32, choices=WorkflowTrigger.choices, default=WorkflowTrigger.HOPPER_EXPIRE
    )
    campaign = models.ForeignKey(
        Campaign,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="workflow_rules",
        help_text="Empty: every campaign.",
    )
    webhook_url = models.URLField(blank=True)
    set_status = models.CharField(max_length=64, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class UploadStatus(models.TextChoices):
    DRAFT = "draft", "Waiting for its column mapping"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


class Upload(models.Model):
    """A lead list file (CSV) loaded into a List through the intake pipeline, batch by batch.

    The file lives in the row (several web hosts and workers share only the database). processed
    is the checkpoint: it moves in the same transaction as a batch's leads and results.
    """

    list = models.ForeignKey(List, on_delete=models.PROTECT, related_name="uploads")
    file_name = models.CharField(max_length=255)
    content = models.BinaryField()
    size = models.PositiveIntegerField(default=0)
    encoding = models.CharField(max_length=32)
    delimiter = models.CharField(max_length=1)
    headers = models.JSONField(default=builtins.list)  # (the field named list shadows it)
    mapping = models.JSONField(
        default=builtins.list,
        help_text="One target per column: a lead field, a custom field or empty.",
    )
    keep_unmapped = models.BooleanField(default=True)
    # The insert API's options (POST /v1/leads/insert).
    check_dup = models.PositiveSmallIntegerField(default=0)
    check_dup_archive = models.BooleanField(default=False)
    check_dnc = models.BooleanField(default=False)
    hopper = models.BooleanField(default=False)
    hopper_priority = models.PositiveSmallIntegerField(default=99)
    hopper_expire_in = models.PositiveIntegerField(null=True, blank=True)
    update_if_found = models.BooleanField(default=False)

    status = models.CharField(
        max_length=16, choices=UploadStatus.choices, default=UploadStatus.DRAFT
    )
    batch_size = models.PositiveIntegerField(default=1000)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    resume_at = models.PositiveBigIntegerField(
        default=0, help_text="Where the row after the checkpoint starts in the decoded text."
    )
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    rejected_by_reason = models.JSONField(default=dict, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "lead list upload"
        ordering = ["-id"]
        indexes = [
            # The sweep: unfinished uploads whose worker's lease ran out.
            models.Index(fields=["status", "lease_expires_at"], name="upload_sweep"),
        ]

    def __str__(self) -> str:
        return f"#{self.id} {self.file_name}"

    @property
    def accepted(self) -> int:
        return self.created + self.updated

    @property
    def percent(self) -> int:
        return int(100 * self.processed / self.total) if self.total else 100


class UploadOutcome(models.TextChoices):
    CREATED = "created", "Created"
    UPDATED = "updated", "Updated"
    REJECTED = "rejected", "Rejected"


class UploadRow(models.Model):
    """One row's outcome. Unique per (upload, row): a batch run twice cannot write a row twice."""

    upload = models.ForeignKey(Upload, on_delete=models.CASCADE, related_name="rows")
    row_number = models.PositiveIntegerField(help_text="1 is the first row under the header.")
    outcome = models.CharField(max_length=16, choices=UploadOutcome.choices)
    lead = models.ForeignKey(
        "leads.Lead", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason_code = models.CharField(max_length=32, blank=True)
    reason = models.TextField(blank=True)
    failure = models.ForeignKey(
        "injectionlogs.FailedInjection",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["upload", "row_number"]
        constraints = [
            models.UniqueConstraint(fields=["upload", "row_number"], name="uploadrow_once"),
        ]

    def __str__(self) -> str:
        return f"{self.upload_id}:{self.row_number} {self.outcome}"
