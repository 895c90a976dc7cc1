"""The staff API: leads with their activities, filtered with django-filter."""

from __future__ import annotations

import django_filters
from rest_framework import serializers, viewsets

from config.filters import IsoDateTimeFilter
from leads.models import Activity, Lead
from leads.search import LargeTablePagination, api_user_ids, campaign_list_ids, lead_search_q
from settings_global.services import API_USER_DISPLAY_NAME


class ActivitySerializer(serializers.ModelSerializer):
    class Meta:
        model = Activity
        fields = ["id", "type", "note", "data", "created_at"]


class LeadSerializer(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    campaign = serializers.IntegerField(source="list.campaign_id", read_only=True, default=None)
    activities = ActivitySerializer(many=True, read_only=True)

    class Meta:
        model = Lead
        fields = [
            "id",
            "first_name",
            "last_name",
            "contact_name",
            "email",
            "phone",
            "phone_normalized",
            "phone_code",
            "mobile",
            "alt_phone",
            "company",
            "job_title",
            "address1",
            "address2",
            "city",
            "state",
            "postal_code",
            "country",
            "website",
            "notes",
            "source",
            "source_medium",
            "source_campaign",
            "source_content",
            "source_referrer",
            "status",
            "created_by",
            "list",
            "campaign",
            "account",
            "custom_fields",
            "custom_field_sets",
            "created_at",
            "updated_at",
            "activities",
        ]
        read_only_fields = fields


class LeadFilter(django_filters.FilterSet):
    created_by = django_filters.CharFilter(method="filter_created_by")
    # Bounded, so that a number past the database's integers is a 400, not a 500.
    list = django_filters.NumberFilter(field_name="list_id", min_value=0, max_value=2**62)
    campaign = django_filters.NumberFilter(method="filter_campaign", min_value=0, max_value=2**62)
    source = django_filters.CharFilter(field_name="source", lookup_expr="iexact")
    status = django_filters.CharFilter(field_name="status", lookup_expr="iexact")
    created_after = IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    search = django_filters.CharFilter(method="filter_search")

    class Meta:
        model = Lead
        fields = ["created_by", "list", "campaign", "source", "status"]

    def filter_created_by(self, queryset, name, value):
        """A username, or "System API User" for every API user."""
        from django.contrib.auth import get_user_model

        users = get_user_model().objects
        if value.strip().lower() in {API_USER_DISPLAY_NAME.lower(), "api"}:
            # A subquery over the small user table: no join and DISTINCT over the leads.
            return queryset.filter(created_by__in=api_user_ids())
        return queryset.filter(created_by__in=users.filter(username=value).values("pk"))

    def filter_campaign(self, queryset, name, value):
        return queryset.filter(list_id__in=campaign_list_ids(int(value)))

    def filter_search(self, queryset, name, value):
        """A phone in any format, an email in any case, a name by part of it (leads.search)."""
        return queryset.filter(lead_search_q(value))


class LeadViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = LeadSerializer
    filterset_class = LeadFilter
    queryset = (
        Lead.objects.select_related("created_by", "list")
        .prefetch_related("activities")
        # The pk breaks ties: pages neither repeat nor skip a lead.
        .order_by("-created_at", "-id")
    )
    pagination_class = LargeTablePagination
