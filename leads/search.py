"""Staff reads at a million leads: the search box, counts that do not scan, cheap filter choices.

The search is one rule for Manage Leads and the native API. On PostgreSQL each branch is served by
an index of leads.models.Lead (pg_trgm GIN on UPPER() for the parts, btree for the whole phone);
on SQLite the same lookups are plain LIKEs.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Q, QuerySet
from django.utils.functional import cached_property

from config.pagination import CappedLimitOffsetPagination
from leads.normalize import email_key, phone_query_keys

# Past this many rows a filtered list says "10,000" rather than counting them all.
COUNT_CAP = 10_000
# pg_trgm can use its index only for patterns of three characters or more.
MIN_PART = 3


def lead_search_q(value: str, *, region: str | None = None) -> Q:
    """A phone in any format, an email in any case, a name (or an email) by part of it, an id."""
    text = value.strip()
    if not text:
        return Q()
    try:
        return Q(pk=uuid.UUID(text))
    except ValueError:
        pass
    if "@" in text:
        return Q(email_normalized__icontains=email_key(text))
    e164, digits = phone_query_keys(text, region=region or settings.DEFAULT_PHONE_REGION)
    if digits:
        query = Q(phone_normalized__icontains=digits)
        if e164:
            # The whole number, also when typed in another form than its digits in E.164
            # (a national trunk prefix, or the region's international prefix: 011 in the US).
            query |= Q(phone_normalized=e164)
        return query
    if len(text) < MIN_PART:
        return Q(contact_name__istartswith=text)
    return Q(contact_name__icontains=text) | Q(email_normalized__icontains=email_key(text))


def estimated_count(queryset: QuerySet) -> int:
    """The row count of a list page: the planner's estimate for a whole big table on PostgreSQL,
    else an exact count up to COUNT_CAP (never a COUNT(*) over a million rows)."""
    connection = connections[queryset.db]
    if not queryset.query.where and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                [queryset.model._meta.db_table],
            )
            row = cursor.fetchone()
        if row and row[0] > COUNT_CAP:
            return int(row[0])
    return queryset.order_by()[: COUNT_CAP + 1].count()


class LargeTablePaginator(Paginator):
    """The admin's paginator for the lead and log lists: counts by estimated_count."""

    @cached_property
    def count(self) -> int:
        return estimated_count(self.object_list)


class LargeTablePagination(CappedLimitOffsetPagination):
    """The native API's pages: "count" is exact up to 10,000 rows, an estimate past that."""

    def get_count(self, queryset: Any) -> int:
        return estimated_count(queryset)


def recent_values(queryset: QuerySet, field: str, *, sample: int = 5000) -> list[str]:
    """The distinct values of a field among the newest rows: filter choices without a scan."""
    newest = queryset.order_by("-created_at", "-pk").values_list(field, flat=True)[:sample]
    return sorted({value for value in newest if value})


def campaign_list_ids(campaign_id: int) -> list[int]:
    """A campaign's lists (a small table): its leads are then `list_id IN (...)`."""
    from leads.models import Lead

    # The list model through the lead's foreign key: leads imports nothing from the dialer app.
    lists = Lead._meta.get_field("list").related_model
    return list(lists.objects.filter(campaign_id=campaign_id).values_list("pk", flat=True))


def api_user_ids() -> QuerySet:
    """The "System API User": every user holding an API credential or in the API users group
    (a subquery over the small user table, never a join and DISTINCT over the leads)."""
    from django.contrib.auth import get_user_model

    from settings_global.services import API_USERS_GROUP

    users = get_user_model().objects.filter(
        Q(api_credentials__isnull=False) | Q(groups__name=API_USERS_GROUP)
    )
    return users.values("pk")
