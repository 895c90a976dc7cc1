"""Settings > Global Settings in the admin: the singleton, who may change it, every change kept."""

from __future__ import annotations

import pytest
from django.urls import reverse

from settings_global.models import GlobalSettings, GlobalSettingsChange
from settings_global.services import global_settings_get
from tests.admin_helpers import logged_in, settings_form_post, settings_url, staff_with

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:settings_global_globalsettings_changelist"


def test_the_list_opens_the_one_row_even_on_a_fresh_database(staff):
    assert not GlobalSettings.objects.exists()
    response = logged_in(staff).get(reverse(CHANGELIST))
    assert response.status_code == 302
    assert response["Location"] == settings_url()
    assert GlobalSettings.objects.count() == 1


def test_the_row_link_works_on_a_fresh_database(staff):
    response = logged_in(staff).get(settings_url())
    assert response.status_code == 200
    assert b"Do not add new leads via API if a lead with similar email already exists" in (
        response.content
    )


def test_staff_with_the_permission_change_it_and_each_change_is_recorded(db):
    editor = staff_with(
        "settings_global.view_globalsettings",
        "settings_global.change_globalsettings",
        "settings_global.view_globalsettingschange",
        username="editor",
    )
    client = logged_in(editor)
    response = settings_form_post(
        client,
        reject_duplicate_email_via_api=True,
        require_contact_name=True,
        default_phone_region="gb",
        rate_limit_calls=40,
        rate_limit_window_seconds=10,
        bulk_row_limit=50,
        insert_reject_duplicates=True,
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert global_settings_get().as_dict() == {
        "reject_duplicate_email_via_api": True,
        "require_contact_name": True,
        "default_phone_region": "GB",
        "rate_limit_calls": 40,
        "rate_limit_window_seconds": 10,
        "bulk_row_limit": 50,
        "insert_reject_duplicates": True,
    }
    changes = {c.field: c for c in GlobalSettingsChange.objects.all()}
    assert set(changes) == {
        "reject_duplicate_email_via_api",
        "require_contact_name",
        "default_phone_region",
        "rate_limit_calls",
        "rate_limit_window_seconds",
        "bulk_row_limit",
        "insert_reject_duplicates",
    }
    region = changes["default_phone_region"]
    assert (region.old_value, region.new_value) == ("US", "GB")
    assert (changes["rate_limit_calls"].old_value, changes["rate_limit_calls"].new_value) == (
        "25",
        "40",
    )
    assert all(c.changed_by == editor and c.via == "admin" for c in changes.values())
    assert all(c.changed_at is not None for c in changes.values())
    # The history is on the page, newest first.
    page = client.get(settings_url())
    assert b"rate_limit_calls" in page.content and b"editor" in page.content


def test_saving_without_a_change_records_nothing(staff):
    response = settings_form_post(logged_in(staff))
    assert response.status_code == 302
    assert not GlobalSettingsChange.objects.exists()


def test_only_the_changed_field_is_recorded(staff):
    settings_form_post(logged_in(staff), bulk_row_limit=10)
    change = GlobalSettingsChange.objects.get()
    assert (change.field, change.old_value, change.new_value, change.changed_by) == (
        "bulk_row_limit",
        "25",
        "10",
        staff,
    )


@pytest.mark.parametrize(
    "bad",
    [
        {"default_phone_region": "XX"},
        {"rate_limit_calls": 0},
        {"rate_limit_window_seconds": 0},
        {"bulk_row_limit": 100_000},
        {"bulk_row_limit": "many"},
    ],
)
def test_bad_values_are_refused_by_the_form(staff, bad):
    response = settings_form_post(logged_in(staff), **bad)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert global_settings_get().as_dict()["bulk_row_limit"] == 25
    assert global_settings_get().default_phone_region == "US"
    assert not GlobalSettingsChange.objects.exists()


def test_staff_who_may_only_view_see_it_but_cannot_save(db):
    viewer = staff_with("settings_global.view_globalsettings", username="viewer")
    client = logged_in(viewer)
    global_settings_get()
    page = client.get(settings_url())
    assert page.status_code == 200
    assert b'name="bulk_row_limit"' not in page.content  # read-only: no input
    response = client.post(settings_url(), {"bulk_row_limit": 5, "_save": "Save"})
    assert response.status_code == 403
    assert global_settings_get().bulk_row_limit == 25
    assert not GlobalSettingsChange.objects.exists()


def test_staff_without_the_permission_cannot_see_it(db):
    client = logged_in(staff_with(username="nobody"))
    assert client.get(reverse(CHANGELIST)).status_code == 403
    global_settings_get()
    assert client.get(settings_url()).status_code == 403
    assert client.post(settings_url(), {"bulk_row_limit": 5}).status_code == 403
    assert global_settings_get().bulk_row_limit == 25


def test_it_cannot_be_added_or_deleted(staff):
    client = logged_in(staff)
    global_settings_get()
    assert client.get(reverse("admin:settings_global_globalsettings_add")).status_code == 403
    delete = reverse("admin:settings_global_globalsettings_delete", args=[1])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert GlobalSettings.objects.count() == 1


def test_patch_needs_the_change_permission_not_just_staff(client):
    viewer = staff_with("settings_global.view_globalsettings", username="viewer")
    client.force_authenticate(viewer)
    response = client.patch("/api/v1/settings/global/", {"bulk_row_limit": 5}, format="json")
    assert response.status_code == 403
    editor = staff_with("settings_global.change_globalsettings", username="editor")
    client.force_authenticate(editor)
    response = client.patch("/api/v1/settings/global/", {"bulk_row_limit": 5}, format="json")
    assert response.status_code == 200
    assert global_settings_get().bulk_row_limit == 5
    change = GlobalSettingsChange.objects.get()
    assert (change.changed_by, change.via) == (editor, "api")
