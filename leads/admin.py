import csv

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.http import StreamingHttpResponse

from leads.models import Account, Activity, CaptureRequest, Lead, Visitor
from lists_hopper.models import HopperEntry
from settings_global.services import API_USERS_GROUP


class CreatedByFilter(admin.SimpleListFilter):
    """Created by: any API user ("System API User"), or one user."""

    title = "created by"
    parameter_name = "created_by"

    def lookups(self, request, model_admin):
        users = get_user_model().objects.filter(created_leads__isnull=False).distinct()
        return [("api", "System API User"), *[(str(u.pk), u.get_username()) for u in users[:100]]]

    def queryset(self, request, queryset):
        if self.value() == "api":
            return queryset.filter(created_by__groups__name=API_USERS_GROUP)
        if self.value():
            return queryset.filter(created_by_id=self.value())
        return queryset


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


class HopperEntryInline(admin.TabularInline):
    model = HopperEntry
    fields = ["campaign", "priority", "state", "expires_at", "created_at", "taken_at"]
    readonly_fields = ["created_at", "taken_at"]
    extra = 0


class Echo:
    def write(self, value):
        return value


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    """Manage Leads."""

    list_display = [
        "contact_name",
        "email",
        "phone",
        "company",
        "source",
        "status",
        "list",
        "created_by",
        "created_at",
    ]
    list_filter = [
        CreatedByFilter,
        "list",
        ("list__campaign", admin.RelatedOnlyFieldListFilter),
        "source",
        "status",
        "created_at",
    ]
    search_fields = [
        "contact_name",
        "first_name",
        "last_name",
        "email_normalized",
        "phone",
        "phone_normalized",
    ]
    list_select_related = ["created_by", "list"]
    readonly_fields = ["id", "email_normalized", "phone_normalized", "created_at", "updated_at"]
    raw_id_fields = ["owner", "created_by", "account"]
    inlines = [ActivityInline, HopperEntryInline]
    date_hierarchy = "created_at"
    show_full_result_count = False
    actions = ["export_csv"]

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
    search_fields = ["note", "lead__email_normalized"]
    list_select_related = ["lead", "created_by"]
    raw_id_fields = ["lead", "created_by"]
    show_full_result_count = False


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
