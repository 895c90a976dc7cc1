from __future__ import annotations

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
