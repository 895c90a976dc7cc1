import logging

import phonenumbers
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html

from config.outages import REDIS_AWAY, REDIS_AWAY_CHANGE
from settings_global.models import (
    SETTING_FIELDS,
    ApiCredential,
    GlobalSettings,
    GlobalSettingsChange,
)
from settings_global.services import (
    api_credential_create,
    api_credential_revoke,
    global_settings_get,
    global_settings_update,
)

log = logging.getLogger(__name__)


class RedisAwayAdmin(admin.ModelAdmin):
    """A change every worker must hear of (through Redis) fails whole while Redis is away: the
    form comes back with a message saying so, instead of a server error page."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except REDIS_AWAY as exc:  # raised inside the view's transaction: rolled back
            redis_away_message(self, request, exc)
            return HttpResponseRedirect(request.get_full_path())


def redis_away_message(model_admin: admin.ModelAdmin, request, exc: Exception) -> None:
    log.warning("a change in the admin failed: Redis unavailable: %s", exc)
    model_admin.message_user(request, REDIS_AWAY_CHANGE, messages.ERROR)


class GlobalSettingsChangeInline(admin.TabularInline):
    model = GlobalSettingsChange
    fields = ["changed_at", "changed_by", "via", "field", "old_value", "new_value"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    max_num = 0
    ordering = ["-changed_at"]

    def has_add_permission(self, request, obj=None):
        return False


class GlobalSettingsForm(forms.ModelForm):
    class Meta:
        model = GlobalSettings
        fields = list(SETTING_FIELDS)

    def clean_default_phone_region(self) -> str:
        region = self.cleaned_data["default_phone_region"].strip().upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise forms.ValidationError("Not a phone region such as US or GB.")
        return region


@admin.register(GlobalSettings)
class GlobalSettingsAdmin(RedisAwayAdmin):
    """Settings > Global Settings: one row; every change is recorded (who, when, old, new).

    Staff with the view permission see it; only the change permission edits it."""

    form = GlobalSettingsForm
    fields = list(SETTING_FIELDS)
    list_display = ["__str__", *SETTING_FIELDS, "updated_at"]
    inlines = [GlobalSettingsChangeInline]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_object(self, request, object_id, from_field=None):
        global_settings_get()  # the singleton exists from the first look on, even on a fresh DB
        return super().get_object(request, object_id, from_field)

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        obj = global_settings_get()
        return HttpResponseRedirect(
            reverse("admin:settings_global_globalsettings_change", args=[obj.pk])
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        from leads.selectors import rule_preview

        # What each duplicate rule would have rejected lately, so it is switched on knowing it.
        extra_context = {**(extra_context or {}), "rule_preview": rule_preview(days=7)}
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        changes = {
            name: form.cleaned_data[name] for name in form.changed_data if name in SETTING_FIELDS
        }
        global_settings_update(changes=changes, user=request.user, via="admin")


@admin.register(GlobalSettingsChange)
class GlobalSettingsChangeAdmin(admin.ModelAdmin):
    list_display = ["changed_at", "changed_by", "via", "field", "old_value", "new_value"]
    list_filter = ["field", "via", "changed_at"]
    search_fields = ["field", "changed_by__username"]
    list_select_related = ["changed_by"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ApiCredential)
class ApiCredentialAdmin(RedisAwayAdmin):
    """Create shows the secrets once; revoke takes effect at the next request in every worker."""

    list_display = ["name", "user", "access_key", "is_active", "created_at", "revoked_at"]
    list_filter = ["is_active", "created_at"]
    search_fields = ["name", "access_key", "user__username"]
    list_select_related = ["user"]
    fields = ["user", "name"]
    readonly_fields = ["access_key", "is_active", "created_at", "revoked_at"]
    actions = ["revoke"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["user", "name"]
        return ["user", "name", "access_key", "is_active", "created_at", "revoked_at"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return ["user", "name", "access_key", "is_active", "created_at", "revoked_at"]

    def save_model(self, request, obj, form, change):
        if change:
            return
        issued = api_credential_create(
            user=form.cleaned_data["user"], name=form.cleaned_data["name"]
        )
        obj.pk = issued.credential.pk
        keys = "".join(
            format_html("<br><b>{}</b>: <code>{}</code>", key, value)
            for key, value in issued.as_dict().items()
        )
        self.message_user(
            request,
            format_html(
                "Keys created. Copy them now: they are stored only as hashes and are not shown "
                "again.{}",
                format_html(keys),
            ),
            messages.WARNING,
        )

    @admin.action(description="Revoke the selected credentials", permissions=["change"])
    def revoke(self, request, queryset):
        count = 0
        for credential in queryset.filter(is_active=True):
            try:
                api_credential_revoke(credential=credential)
            except REDIS_AWAY as exc:  # this one and the rest stay active
                redis_away_message(self, request, exc)
                if not count:
                    return
                break
            count += 1
        self.message_user(request, f"Revoked {count} credential(s).")
