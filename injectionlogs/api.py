from __future__ import annotations

from datetime import date, datetime, time, timedelta

import django_filters
from django.utils import timezone
from rest_framework import permissions, serializers, viewsets

from config.filters import IsoDateTimeFilter
from injectionlogs.models import FailedInjection, failed_injection_search_q


class FailedInjectionSerializer(serializers.ModelSerializer):
    created = serializers.DateTimeField(source="created_at", read_only=True)
    api_user = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = FailedInjection
        fields = [
            "id",
            "reason",
            "reason_code",
            "data",
            "query",
            "created",
            "family",
            "endpoint",
            "api_user",
            "remote_addr",
            "resolved_at",
            "resolved_lead",
        ]
        read_only_fields = fields


class FailedInjectionFilter(django_filters.FilterSet):
    created_after = IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    date = django_filters.DateFilter(method="filter_date")
    search = django_filters.CharFilter(method="filter_search")

    class Meta:
        model = FailedInjection
        fields = ["reason_code", "family"]

    def filter_date(self, queryset, name, value):
        """That day in the current time zone, as a range: served by the created index."""
        start = timezone.make_aware(datetime.combine(value, time.min))
        if value == date.max:  # no next day to stop at
            return queryset.filter(created_at__gte=start)
        return queryset.filter(created_at__gte=start, created_at__lt=start + timedelta(days=1))

    def filter_search(self, queryset, name, value):
        """A row id, or part of the reason or of the data (as the admin's search box)."""
        return queryset.filter(failed_injection_search_q(value)) if value.strip() else queryset


class CanViewFailedInjections(permissions.IsAdminUser):
    """Staff with the log's view permission: its data can hold personal data."""

    message = "You do not have permission to view the failed injection log."

    def has_permission(self, request, view):
        return super().has_permission(request, view) and request.user.has_perm(
            "injectionlogs.view_failedinjection"
        )


class FailedInjectionViewSet(viewsets.ReadOnlyModelViewSet):
    """Failed leads API injection, newest first. Staff with the view permission only."""

    permission_classes = [CanViewFailedInjections]

    serializer_class = FailedInjectionSerializer
    filterset_class = FailedInjectionFilter
    queryset = FailedInjection.objects.select_related("api_user").order_by("-id")

    @property
    def pagination_class(self):
        # No COUNT(*) over a million log rows (imported late: leads imports this app).
        from leads.search import LargeTablePagination

        return LargeTablePagination
