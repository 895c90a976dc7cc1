import json

from django.contrib import admin, messages
from django.utils.html import format_html

from injectionlogs.models import FailedInjection, failed_injection_search_q


def _some(items: list[str], limit: int = 10) -> str:
    shown = "; ".join(items[:limit])
    return shown + (f"; and {len(items) - limit} more" if len(items) > limit else "")


def _paginator():
    # The lead app's paginator: no COUNT(*) over a million log rows. Imported late: leads
    # imports this app.
    from leads.search import LargeTablePaginator

    return LargeTablePaginator


@admin.register(FailedInjection)
class FailedInjectionAdmin(admin.ModelAdmin):
    """Settings > Logs > Failed leads API injection: read-only, with "Retry injection"."""

    list_display = ["id", "reason", "short_data", "created_at", "family", "api_user", "resolved"]
    list_filter = [
        "reason_code",
        "family",
        "created_at",
        ("resolved_at", admin.EmptyFieldListFilter),
    ]
    # The box runs failed_injection_search_q (an id, or a part of the reason or the data).
    search_fields = ["reason"]
    search_help_text = "A row ID, or part of the reason or of the data (a name, email, phone)."
    list_select_related = ["api_user"]
    list_per_page = 50
    paginator = _paginator()
    show_full_result_count = False
    fields = [
        "id",
        "reason_code",
        "reason",
        "pretty_data",
        "pretty_query",
        "created_at",
        "family",
        "endpoint",
        "api_user",
        "remote_addr",
        "retry_count",
        "resolved_at",
        "resolved_lead",
        "resolved_by",
    ]
    readonly_fields = fields
    actions = ["retry_injection"]

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        return queryset.filter(failed_injection_search_q(search_term)), False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        # The data can hold personal data: the view permission itself, not the change one that
        # Django's default would also accept.
        return request.user.has_perm("injectionlogs.view_failedinjection")

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def has_retry_permission(self, request):
        return request.user.has_perm("injectionlogs.retry_failedinjection")

    @admin.display(description="Data")
    def short_data(self, obj):
        text = json.dumps(obj.data, ensure_ascii=False)
        return text if len(text) <= 120 else text[:117] + "..."

    @admin.display(description="Data")
    def pretty_data(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.data, indent=2, ensure_ascii=False))

    @admin.display(description="Query")
    def pretty_query(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.query, indent=2, ensure_ascii=False))

    @admin.display(boolean=True, description="Resolved")
    def resolved(self, obj):
        return obj.resolved_at is not None

    @admin.action(description="Retry injection", permissions=["retry"])
    def retry_injection(self, request, queryset):
        from leads.replay import failure_retry

        done, failed = [], []
        for failure in queryset.filter(resolved_at__isnull=True).order_by("id"):
            lead, error = failure_retry(failure=failure, user=request.user)
            if lead is not None:
                done.append(f"#{failure.pk} -> lead {lead.pk}")
            else:
                failed.append(f"#{failure.pk}: {error.message}")
        if done:
            self.message_user(
                request, f"{len(done)} lead(s) injected: {_some(done)}.", messages.SUCCESS
            )
        if failed:
            self.message_user(
                request,
                f"{len(failed)} row(s) failed again and keep the new reason: {_some(failed)}",
                messages.WARNING,
            )
        if not done and not failed:
            self.message_user(request, "The selected rows are already resolved.", messages.INFO)
