import csv
import logging

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db.models import Q
from django.http import StreamingHttpResponse
from redis.exceptions import RedisError

from leads.models import Account, Activity, CaptureRequest, CustomField, Lead, Visitor
from leads.search import (
    LargeTablePaginator,
    api_user_ids,
    lead_search_q,
    recent_values,
)
from settings_global.services import API_USER_DISPLAY_NAME, API_USERS_GROUP

log = logging.getLogger(__name__)

CHOICES_TTL = 300  # seconds a filter's sampled choices are kept

# Filters list their choices from small tables (users, lists, campaigns) or from the newest
# leads, never from a SELECT DISTINCT over the lead table.


class CreatedByFilter(admin.SimpleListFilter):
    """Created by: any API user ("System API User"), or one user (API users and staff)."""

    title = "created by"
    parameter_name = "created_by"

    def lookups(self, request, model_admin):
        users = (
            get_user_model()
            .objects.filter(
                Q(groups__name=API_USERS_GROUP)
                | Q(api_credentials__isnull=False)
                | Q(is_staff=True)
            )
            .distinct()
            .order_by("username")[:100]
        )
        return [("api", API_USER_DISPLAY_NAME), *[(str(u.pk), u.get_username()) for u in users]]

    def queryset(self, request, queryset):
        if self.value() == "api":
            return queryset.filter(created_by__in=api_user_ids())
        if self.value():
            try:
                return queryset.filter(created_by_id=int(self.value()))
            except ValueError:
                return queryset.none()
        return queryset


class RecentValueFilter(admin.SimpleListFilter):
    """Choices from the newest leads' values (a cheap sample), matched exactly."""

    field = ""

    def lookups(self, request, model_admin):
        try:
            values = cache.get_or_set(
                f"lead-filter-choices:{self.field}",
                lambda: recent_values(Lead.objects.all(), self.field),
                CHOICES_TTL,
            )
        except RedisError:  # Redis away: the page still lists, its choices read afresh
            log.warning("the %s filter's choices are read afresh: the cache is away", self.field)
            values = recent_values(Lead.objects.all(), self.field)
        if self.value() and self.value() not in values:
            values = [*values[:49], self.value()]
        return [(v, v) for v in values[:50]]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(**{f"{self.field}__iexact": self.value()})
        return queryset


class SourceFilter(RecentValueFilter):
    title = "source"
    parameter_name = "source"
    field = "source"


class StatusFilter(RecentValueFilter):
    title = "status"
    parameter_name = "status"
    field = "status"


class ActivityInline(admin.TabularInline):
    model = Activity
    fields = ["created_at", "type", "note", "data", "created_by"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["-created_at"]
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False


class Echo:
    def write(self, value):
        return value


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    """Manage Leads."""

    # Few, short columns: a 1366 px laptop screen shows them without scrolling.
    list_display = ["contact_name", "email", "phone", "source", "status", "created_at"]
    list_display_links = ["contact_name", "email"]
    list_filter = [
        CreatedByFilter,
        "list",  # the dialer app's admin adds its campaign filter after this one
        SourceFilter,
        StatusFilter,
        "created_at",
    ]
    # The search box runs leads.search.lead_search_q (get_search_results); search_fields only
    # turns the box on.
    search_fields = ["contact_name"]
    search_help_text = "A name or part of it, an email, a phone in any format, or a lead id."
    ordering = ["-created_at", "-id"]
    list_select_related = False
    list_per_page = 50
    readonly_fields = ["id", "email_normalized", "phone_normalized", "created_at", "updated_at"]
    raw_id_fields = ["owner", "created_by", "account"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    ("first_name", "last_name"),
                    "contact_name",
                    ("email", "phone", "phone_code"),
                    ("mobile", "alt_phone"),
                    ("status", "list"),
                ]
            },
        ),
        (
            "Source",
            {"fields": [("source", "source_medium"), ("source_campaign", "source_content")]},
        ),
        (
            "Company and address",
            {
                "classes": ["collapse"],
                "fields": [
                    ("company", "job_title", "website"),
                    ("address1", "address2"),
                    ("city", "state", "postal_code", "country"),
                    "source_referrer",
                    "notes",
                ],
            },
        ),
        (
            "Custom fields",
            {"classes": ["collapse"], "fields": ["custom_fields", "custom_field_sets"]},
        ),
        (
            "Record",
            {
                "fields": [
                    ("id", "created_at", "updated_at"),
                    ("email_normalized", "phone_normalized"),
                    ("created_by", "owner", "account"),
                ]
            },
        ),
    ]
    inlines = [ActivityInline]  # the dialer app's admin adds the hopper entries
    paginator = LargeTablePaginator
    show_full_result_count = False
    actions = ["export_csv"]

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        return queryset.filter(lead_search_q(search_term)), False

    @admin.action(description="Export the selected leads as CSV", permissions=["view"])
    def export_csv(self, request, queryset):
        columns = [
            "id",
            "first_name",
            "last_name",
            "contact_name",
            "email",
            "phone",
            "company",
            "source",
            "status",
            "list_id",
            "created_at",
        ]
        writer = csv.writer(Echo())

        def rows():
            yield writer.writerow(columns)
            for lead in queryset.iterator():
                yield writer.writerow([getattr(lead, c) for c in columns])

        response = StreamingHttpResponse(rows(), content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="leads.csv"'
        return response


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["name", "id", "website", "phone", "created_at"]
    search_fields = ["name", "id"]


@admin.register(Visitor)
class VisitorAdmin(admin.ModelAdmin):
    list_display = ["id", "source", "source_campaign", "created_at", "converted_at"]
    list_filter = [("converted_at", admin.EmptyFieldListFilter), "created_at"]
    search_fields = ["id", "source"]


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = ["created_at", "type", "lead", "note", "created_by"]
    list_filter = ["type", "created_at"]
    search_fields = ["lead__email_normalized"]
    list_select_related = ["lead", "created_by"]
    raw_id_fields = ["lead", "created_by"]
    paginator = LargeTablePaginator
    show_full_result_count = False

    def get_search_results(self, request, queryset, search_term):
        # The lead's search: a name, email or phone in any format finds the lead's activities.
        if not search_term.strip():
            return queryset, False
        leads = Lead.objects.filter(lead_search_q(search_term)).values("pk")[:1000]
        return queryset.filter(lead__in=leads), False


@admin.register(CustomField)
class CustomFieldAdmin(admin.ModelAdmin):
    """Custom fields: seen by the intake pipeline on write, or defined here by staff. This is
    what LeadsMetaData.Get lists."""

    list_display = ["name", "label", "data_type", "is_set", "defined_by_staff", "first_seen_at"]
    list_filter = ["data_type", "is_set", "defined_by_staff"]
    search_fields = ["name", "display_name"]
    readonly_fields = ["first_seen_at"]

    def get_readonly_fields(self, request, obj=None):
        # A name leads already carry is not renamed here: it would no longer match them.
        return [*self.readonly_fields, "name"] if obj is not None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        if not change:
            obj.defined_by_staff = True
        super().save_model(request, obj, form, change)


@admin.register(CaptureRequest)
class CaptureRequestAdmin(admin.ModelAdmin):
    """Async capture requests with their status."""

    list_display = ["id", "status", "attempts", "api_user", "created_at", "next_attempt_at", "lead"]
    list_filter = ["status", "created_at"]
    search_fields = ["id"]
    list_select_related = ["api_user", "lead"]
    readonly_fields = [f.name for f in CaptureRequest._meta.fields]

    def has_add_permission(self, request):
        return False


def _hide_other_task_backends() -> None:
    """Show the admin screens of the configured tasks backend only (TASKS_BACKEND)."""
    from django.contrib.admin.exceptions import NotRegistered

    backend = getattr(settings, "TASKS_BACKEND", "db").lower()
    hidden = []
    if backend != "db":
        from django_tasks_db.models import DBTaskResult

        hidden.append(DBTaskResult)
    if backend != "redis":
        from django_rq.models import Dashboard

        hidden.append(Dashboard)
    for model in hidden:
        try:
            admin.site.unregister(model)
        except NotRegistered:
            pass


_hide_other_task_backends()
