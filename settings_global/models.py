from __future__ import annotations

import hashlib
import hmac
import uuid

from django.conf import settings
from django.core.cache import cache
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction

# The shared cache holds (generation, settings); a save gives the generation a new value once it
# has committed, so a copy read from the database before the commit is never served after it.
GLOBAL_SETTINGS_CACHE_KEY = "global-settings:v2"
GLOBAL_SETTINGS_GENERATION_KEY = "global-settings:generation"


def global_settings_invalidate() -> None:
    """Drop the cached copy now, and retire every copy read before the commit once it commits."""
    cache.delete(GLOBAL_SETTINGS_CACHE_KEY)
    transaction.on_commit(
        lambda: cache.set(GLOBAL_SETTINGS_GENERATION_KEY, uuid.uuid4().hex, timeout=None)
    )


# Every process keeps the credentials it verified while this value is unchanged
# (settings_global.selectors); any change to a credential gives it a new value.
CREDENTIALS_VERSION_KEY = "credentials:version"


def credentials_invalidate() -> None:
    """Retire every process's verified credentials: now, so that a cache that cannot be written
    fails the change instead of leaving copies trusted, and again once the change commits, so
    that a copy read from the database in between is not trusted either."""

    def bump() -> None:
        cache.set(CREDENTIALS_VERSION_KEY, uuid.uuid4().hex, timeout=None)

    bump()
    transaction.on_commit(bump, robust=True)


# The names, in the order staff see them; the native API uses the same names.
SETTING_FIELDS = (
    "reject_duplicate_email_via_api",
    "require_contact_name",
    "default_phone_region",
    "rate_limit_calls",
    "rate_limit_window_seconds",
    "bulk_row_limit",
    "insert_reject_duplicates",
)


def _default_region() -> str:
    return settings.DEFAULT_PHONE_REGION


class GlobalSettings(models.Model):
    """The one row of rules every API applies; edited in Settings > Global Settings."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    reject_duplicate_email_via_api = models.BooleanField(
        "Do not add new leads via API if a lead with similar email already exists",
        default=False,
        help_text="Avoids duplicates: a new lead whose trimmed, case-folded email is already held "
        "is rejected and logged. Updates of the matched lead are not affected.",
    )
    require_contact_name = models.BooleanField(
        "Contact name required",
        default=False,
        help_text="A new lead must carry a contact name, given or composed from first and last "
        "name. The aNinja contact form always requires it.",
    )
    default_phone_region = models.CharField(
        max_length=2,
        default=_default_region,
        help_text="Region used to read phone numbers given without a country code (e.g. US).",
    )
    rate_limit_calls = models.PositiveIntegerField(
        default=25, validators=[MinValueValidator(1), MaxValueValidator(1_000_000)]
    )
    rate_limit_window_seconds = models.PositiveIntegerField(
        default=5, validators=[MinValueValidator(1), MaxValueValidator(86_400)]
    )
    bulk_row_limit = models.PositiveIntegerField(
        default=25, validators=[MinValueValidator(1), MaxValueValidator(1000)]
    )
    insert_reject_duplicates = models.BooleanField(
        "Insert API rejects duplicates regardless of check_dup",
        default=False,
        help_text="When on, /v1/leads/insert checks the whole account for the phone number even "
        "when check_dup=0.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "Global Settings"
        verbose_name_plural = "Global Settings"
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="globalsettings_singleton")
        ]

    def __str__(self) -> str:
        return "Global Settings"

    def save(self, *args, **kwargs) -> None:
        self.id = 1
        super().save(*args, **kwargs)
        # Every process reads the change from its very next call.
        global_settings_invalidate()

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in SETTING_FIELDS}


class GlobalSettingsChange(models.Model):
    """One changed switch: who, when, old and new value."""

    global_settings = models.ForeignKey(
        GlobalSettings, on_delete=models.CASCADE, related_name="changes"
    )
    field = models.CharField(max_length=64)
    old_value = models.CharField(max_length=255, blank=True)
    new_value = models.CharField(max_length=255, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    changed_at = models.DateTimeField(auto_now_add=True, db_index=True)
    via = models.CharField(max_length=16, default="admin")

    class Meta:
        ordering = ["-changed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.field}: {self.old_value} -> {self.new_value}"


def hash_secret(secret: str) -> str:
    # The secrets carry 256 bits of randomness, so one SHA-256 round is enough and keeps the
    # per-request check cheap; there is nothing to brute-force as with a password.
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiCredential(models.Model):
    """The keys of one API user. Only hashes are kept; the secrets are shown once, at creation."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_credentials"
    )
    name = models.CharField(max_length=150)
    access_key = models.CharField(max_length=64, unique=True)
    secret_key_hash = models.CharField(max_length=64)
    api_key_hash = models.CharField(max_length=64, unique=True)
    auth_token_hash = models.CharField(max_length=64, unique=True)
    aninja_apikey_hash = models.CharField(max_length=64, unique=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API credential"
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.access_key})"

    def save(self, *args, **kwargs) -> None:
        super().save(*args, **kwargs)
        credentials_invalidate()

    def delete(self, *args, **kwargs):
        result = super().delete(*args, **kwargs)
        credentials_invalidate()
        return result

    def check_secret_key(self, secret: str) -> bool:
        return hmac.compare_digest(self.secret_key_hash, hash_secret(secret))
