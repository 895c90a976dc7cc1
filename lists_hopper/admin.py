from django.contrib import admin

from leads.admin import LeadAdmin
from leads.models import Lead
from leads.search import campaign_list_ids
from lists_hopper.models import Campaign, DncEntry, HopperEntry, List, Upload, WorkflowRule
from lists_hopper.upload_admin import UploadAdmin, upload_link

admin.site.register(Upload, UploadAdmin)


class CampaignFilter(admin.SimpleListFilter):
    """Campaign: choices from the campaign table; the filter is the campaign's list ids, so that
    the planner walks the newest-first index instead of sorting a campaign's every lead."""

    title = "campaign"
    parameter_name = "campaign"

    def lookups(self, request, model_admin):
        return [(str(c.pk), c.name) for c in Campaign.objects.order_by("name")[:200]]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        try:
            return queryset.filter(list_id__in=campaign_list_ids(int(self.value())))
        except ValueError:
            return queryset.none()


class HopperEntryInline(admin.TabularInline):
    """The lead's hopper entries, read-only: an entry is made by the intake pipeline (with its
    HOPPER_ADDED activity) and taken by the dialer, never written from the lead page."""

    model = HopperEntry
    fields = ["campaign", "priority", "state", "expires_at", "created_at", "taken_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def _after_list_filter(filters: list) -> list:
    at = filters.index("list") + 1 if "list" in filters else len(filters)
    return [*filters[:at], CampaignFilter, *filters[at:]]


# The lead page is leads' admin; the dialer's parts of it (the campaign filter, the hopper
# entries) are added here, so that leads imports nothing from lists_hopper.
admin.site.unregister(Lead)


@admin.register(Lead)
class DialerLeadAdmin(LeadAdmin):
    list_filter = _after_list_filter(list(LeadAdmin.list_filter))
    inlines = [*LeadAdmin.inlines, HopperEntryInline]


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "=id"]


@admin.register(List)
class ListAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "campaign", "status", "created_at", "upload"]
    list_filter = ["status", "campaign"]
    search_fields = ["name", "=id"]
    list_select_related = ["campaign"]
    readonly_fields = ["upload"]

    @admin.display(description="Leads")
    def upload(self, obj: List) -> str:
        return upload_link(obj) if obj.pk else "-"


@admin.register(HopperEntry)
class HopperEntryAdmin(admin.ModelAdmin):
    list_display = ["id", "lead", "campaign", "priority", "state", "expires_at", "created_at"]
    list_filter = ["state", "campaign", "priority"]
    search_fields = ["lead__phone_normalized", "lead__email_normalized"]
    list_select_related = ["lead", "campaign"]
    raw_id_fields = ["lead"]


@admin.register(DncEntry)
class DncEntryAdmin(admin.ModelAdmin):
    list_display = ["phone", "campaign", "created_at"]
    list_filter = [("campaign", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["phone", "phone_as_given"]
    list_select_related = ["campaign"]


@admin.register(WorkflowRule)
class WorkflowRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "trigger", "campaign", "webhook_url", "set_status", "is_active"]
    list_filter = ["trigger", "is_active", "campaign"]
    search_fields = ["name", "webhook_url"]
