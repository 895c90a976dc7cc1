from __future__ import annotations

import django_filters
from rest_framework import permissions, serializers, viewsets

from config.filters import IsoDateTimeFilter
from injectionlogs.models import FailedInjection


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
    date = django_filters.DateFilter(field_name="created_at", lookup_expr="date")

    class Meta:
        model = FailedInjection
        fields = ["reason_code", "family"]


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
