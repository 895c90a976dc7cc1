from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import transaction
from django.db.models.base import ModelState
from django.utils import timezone

from settings_global.models import (
    GLOBAL_SETTINGS_CACHE_KEY,
    GLOBAL_SETTINGS_GENERATION_KEY,
    SETTING_FIELDS,
    ApiCredential,
    GlobalSettings,
    GlobalSettingsChange,
    credentials_invalidate,
    hash_secret,
)

log = logging.getLogger(__name__)

API_USERS_GROUP = "API users"
API_USER_DISPLAY_NAME = "System API User"


def _cache_is_shared() -> bool:
    # A per-process memory cache would keep a stale copy in the other processes after a save.
    return "locmem" not in settings.CACHES["default"]["BACKEND"].lower()


# Inside one API call the rules are read once and held, so the rate limit, the parser and the
# pipeline see the same rules and the hot path pays one read. Outside a call: no copy at all.
_pinned: ContextVar[list[GlobalSettings] | None] = ContextVar("pinned_settings", default=None)


@contextmanager
def global_settings_pinned() -> Iterator[None]:
    """Hold the first read of the rules for the rest of this call (one request, one snapshot)."""
    token = _pinned.set([])
    try:
        yield
    finally:
        _pinned.reset(token)


def global_settings_get() -> GlobalSettings:
    """The live rules, never a stale per-process copy: the database itself, or the shared cache
    (one round trip) whose copy a save retires in every process (see global_settings_invalidate).
    """
    pinned = _pinned.get()
    if pinned:
        return pinned[0]
    obj = _global_settings_read()
    if pinned is not None:
        pinned.append(obj)
    return obj


# The cache keys of the rules: the credential check reads them in its own round trip.
GLOBAL_SETTINGS_KEYS = (GLOBAL_SETTINGS_GENERATION_KEY, GLOBAL_SETTINGS_CACHE_KEY)


def global_settings_offer(found: dict[str, Any]) -> None:
    """Pin the rules another read of the shared cache brought along (the credential check's
    get_many of GLOBAL_SETTINGS_KEYS): the call pays one Redis round trip for both. Only inside
    a pinned call that has not read its rules yet, and only a copy of the current generation."""
    pinned = _pinned.get()
    if pinned is None or pinned:
        return
    generation = found.get(GLOBAL_SETTINGS_GENERATION_KEY)
    cached = found.get(GLOBAL_SETTINGS_CACHE_KEY)
    if generation is not None and isinstance(cached, tuple) and len(cached) == 2:
        if cached[0] == generation and isinstance(cached[1], GlobalSettings):
            pinned.append(_own_copy(cached[1]))


def _own_copy(rules: GlobalSettings) -> GlobalSettings:
    """A copy of rules another call may hold too (settings_global.ratelimit keeps what it decoded):
    this call's own, whatever it sets on it. Every field is a plain value."""
    copy = GlobalSettings.__new__(GlobalSettings)
    copy.__dict__.update(rules.__dict__)
    copy._state = ModelState()
    copy._state.adding, copy._state.db = rules._state.adding, rules._state.db
    return copy


def _global_settings_read() -> GlobalSettings:
    shared = _cache_is_shared()
    generation = None
    if shared:
        try:
            found = cache.get_many([GLOBAL_SETTINGS_GENERATION_KEY, GLOBAL_SETTINGS_CACHE_KEY])
            generation = found.get(GLOBAL_SETTINGS_GENERATION_KEY)
            cached = found.get(GLOBAL_SETTINGS_CACHE_KEY)
            if generation is None:
                cache.add(GLOBAL_SETTINGS_GENERATION_KEY, uuid.uuid4().hex, timeout=None)
                generation = cache.get(GLOBAL_SETTINGS_GENERATION_KEY)
            elif isinstance(cached, tuple) and len(cached) == 2 and cached[0] == generation:
                return cached[1]
        except Exception:  # Redis away: the database itself, and nothing cached
            log.warning("the rules' cache is unreadable; reading Global Settings from the database")
            shared, generation = False, None
    # Read after the generation: a save committing in between retires what is cached here.
    obj = GlobalSettings.objects.filter(pk=1).first()
    if obj is None:
        obj, _ = GlobalSettings.objects.get_or_create(pk=1)
    if shared and generation is not None:
        cache.set(GLOBAL_SETTINGS_CACHE_KEY, (generation, obj), timeout=300)
    return obj


@transaction.atomic
def global_settings_update(*, changes: dict[str, Any], user: Any, via: str) -> GlobalSettings:
    """Apply changes to the singleton and record each changed switch: who, when, old, new."""
    obj = GlobalSettings.objects.select_for_update().filter(pk=1).first()
    if obj is None:
        obj, _ = GlobalSettings.objects.get_or_create(pk=1)
    audit = []
    for name, value in changes.items():
        if name not in SETTING_FIELDS:
            continue
        old = getattr(obj, name)
        if old == value:
            continue
        setattr(obj, name, value)
        audit.append(
            GlobalSettingsChange(
                global_settings=obj,
                field=name,
                old_value=str(old),
                new_value=str(value),
                changed_by=user if getattr(user, "pk", None) else None,
                via=via,
            )
        )
    if audit:
        obj.save()
        GlobalSettingsChange.objects.bulk_create(audit)
    return obj


@dataclass(frozen=True)
class IssuedCredential:
    """The secrets of a new credential, in clear: shown once, never stored."""

    credential: ApiCredential
    username: str
    access_key: str
    secret_key: str
    api_key: str
    auth_token: str
    aninja_apikey: str

    def as_dict(self) -> dict[str, str]:
        return {
            "username": self.username,
            "access_key": self.access_key,
            "secret_key": self.secret_key,
            "api_key": self.api_key,
            "auth_token": self.auth_token,
            "aninja_apikey": self.aninja_apikey,
        }


@transaction.atomic
def api_user_create(*, name: str) -> IssuedCredential:
    """Create the API user (the Django user that owns the leads it creates) and its keys."""
    User = get_user_model()
    user, _ = User.objects.get_or_create(
        username=name,
        defaults={"first_name": API_USER_DISPLAY_NAME, "last_name": f"({name})"},
    )
    if user.has_usable_password():
        user.set_unusable_password()
        user.save(update_fields=["password"])
    group, _ = Group.objects.get_or_create(name=API_USERS_GROUP)
    user.groups.add(group)
    return api_credential_create(user=user, name=name)


def api_credential_create(*, user: Any, name: str) -> IssuedCredential:
    access_key = "ak_" + secrets.token_hex(16)
    secret_key = secrets.token_hex(32)
    api_key = secrets.token_urlsafe(32)
    auth_token = secrets.token_hex(32)
    aninja_apikey = secrets.token_hex(32)
    credential = ApiCredential.objects.create(
        user=user,
        name=name,
        access_key=access_key,
        secret_key_hash=hash_secret(secret_key),
        api_key_hash=hash_secret(api_key),
        auth_token_hash=hash_secret(auth_token),
        aninja_apikey_hash=hash_secret(aninja_apikey),
    )
    return IssuedCredential(
        credential=credential,
        username=user.get_username(),
        access_key=access_key,
        secret_key=secret_key,
        api_key=api_key,
        auth_token=auth_token,
        aninja_apikey=aninja_apikey,
    )


@transaction.atomic
def api_user_revoke(*, name: str) -> int:
    """Revoke every active credential of the user, from the next request in every worker: the
    shared credentials version that their copies are checked against changes."""
    count = ApiCredential.objects.filter(user__username=name, is_active=True).update(
        is_active=False, revoked_at=timezone.now()
    )
    credentials_invalidate()
    return count


@transaction.atomic
def api_credential_revoke(*, credential: ApiCredential) -> None:
    ApiCredential.objects.filter(pk=credential.pk).update(
        is_active=False, revoked_at=timezone.now()
    )
    credentials_invalidate()
