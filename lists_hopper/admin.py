from django.contrib import admin

from lists_hopper.models import Campaign, DncEntry, HopperEntry, List, Upload, WorkflowRule
from lists_hopper.upload_admin import UploadAdmin, upload_link

admin.site.register(Upload, UploadAdmin)


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
