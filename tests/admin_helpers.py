"""Drive Django admin forms from tests as a browser would: the page's own fields, then a POST."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from settings_global.models import SETTING_FIELDS
from tests.factories import UserFactory


def settings_url() -> str:
    return reverse("admin:settings_global_globalsettings_change", args=[1])


def staff_with(*perms: str, username: str = "clerk") -> Any:
    """A staff user (not a superuser) holding exactly these "app.codename" permissions."""
    user = UserFactory(username=username, is_staff=True)
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return user


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def settings_form_post(client: Client, **changes: Any) -> Any:
    """Open Settings > Global Settings, change some fields, press Save. Returns the response."""
    # As staff do: Settings > Global Settings in the index opens the list, which opens the row.
    page = client.get(reverse("admin:settings_global_globalsettings_changelist"), follow=True)
    assert page.status_code == 200, page.status_code
    assert page.redirect_chain[-1][0] == settings_url(), page.redirect_chain
    form = page.context["adminform"].form
    values = {name: form.initial.get(name) for name in SETTING_FIELDS}
    values.update(changes)
    data: dict[str, Any] = {}
    for name, value in values.items():
        if value is True:
            data[name] = "on"
        elif value is not False and value is not None:
            data[name] = value
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        for name in management.fields:
            data[f"{formset.prefix}-{name}"] = management.initial.get(name, "")
        for sub in formset.forms:
            data[f"{sub.prefix}-id"] = sub.instance.pk
    data["_save"] = "Save"
    return client.post(settings_url(), data)
