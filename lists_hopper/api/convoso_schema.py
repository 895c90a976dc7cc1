"""OpenAPI for the Convoso family: the auth parameter, the form bodies, the query parameters.

The serializers only describe the bodies; the views read parameters with lists_hopper.wire.convoso.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter
from rest_framework import serializers

from lists_hopper.wire.convoso import DATE_FILTERS, HOPPER_EXPIRE_MAX_MINUTES, LEAD_FILTERS

AUTH = OpenApiParameter(
    "auth_token",
    str,
    OpenApiParameter.QUERY,
    required=True,
    description="The API user's auth token (also accepted as a body parameter).",
)
ERRORS = {
    400: OpenApiTypes.OBJECT,
    401: OpenApiTypes.OBJECT,
    429: OpenApiTypes.OBJECT,
}
FLAG = serializers.ChoiceField(choices=["0", "1"], required=False)


class InsertInput(serializers.Serializer):
    list_id = serializers.IntegerField(min_value=1)
    phone_number = serializers.CharField()
    phone_code = serializers.CharField(required=False, help_text="Country code; default 1.")
    first_name = serializers.CharField(required=False)
    last_name = serializers.CharField(required=False)
    email = serializers.CharField(required=False)
    address1 = serializers.CharField(required=False)
    address2 = serializers.CharField(required=False)
    city = serializers.CharField(required=False)
    state = serializers.CharField(required=False)
    postal_code = serializers.CharField(required=False)
    country = serializers.CharField(required=False)
    status = serializers.CharField(required=False)
    check_dup = serializers.ChoiceField(
        choices=["0", "1", "2", "3"],
        required=False,
        help_text="0 none, 1 whole account, 2 this list, 3 this list's campaign.",
    )
    check_dup_archive = FLAG
    check_dnc = FLAG
    hopper = FLAG
    hopper_priority = serializers.IntegerField(min_value=0, max_value=99, required=False)
    hopper_expire_in = serializers.IntegerField(
        min_value=1, max_value=HOPPER_EXPIRE_MAX_MINUTES, required=False, help_text="Minutes."
    )
    update_if_found = FLAG


class UpdateInput(serializers.Serializer):
    lead_id = serializers.UUIDField()
    list_id = serializers.IntegerField(min_value=1, required=False, help_text="Move to list.")
    phone_number = serializers.CharField(required=False)
    first_name = serializers.CharField(required=False)
    last_name = serializers.CharField(required=False)
    email = serializers.CharField(required=False)
    status = serializers.CharField(required=False)


def form(serializer: Any) -> dict[str, Any]:
    return {
        "application/x-www-form-urlencoded": serializer,
        "multipart/form-data": serializer,
        "application/json": serializer,
    }


def query_params(*names: str, ints: tuple[str, ...] = ()) -> list[OpenApiParameter]:
    return [AUTH] + [
        OpenApiParameter(name, int if name in ints else str, OpenApiParameter.QUERY)
        for name in names
    ]


class CampaignInput(serializers.Serializer):
    name = serializers.CharField(max_length=255)


class ListInsertInput(serializers.Serializer):
    name = serializers.CharField(max_length=255)
    campaign_id = serializers.IntegerField(min_value=1)


class ListUpdateInput(serializers.Serializer):
    list_id = serializers.IntegerField(min_value=1)
    name = serializers.CharField(max_length=255, required=False)
    status = serializers.ChoiceField(
        choices=["active", "archived", "1", "0"], required=False, help_text="0: archived."
    )
    campaign_id = serializers.IntegerField(min_value=1, required=False)


class DncInput(serializers.Serializer):
    phone_number = serializers.CharField()
    phone_code = serializers.CharField(required=False, help_text="Country code; default 1.")
    campaign_id = serializers.IntegerField(
        min_value=0, required=False, help_text="Empty or 0: the account-wide list."
    )


class HopperNextInput(serializers.Serializer):
    campaign_id = serializers.IntegerField(min_value=1)


INSERT_EXAMPLE = OpenApiExample(
    "lead",
    value={
        "list_id": 1,
        "phone_number": "2015550123",
        "first_name": "Ann",
        "check_dup": "2",
        "hopper": "1",
        "hopper_priority": 50,
    },
    request_only=True,
)
LEAD_SEARCH_PARAMS = query_params(
    "lead_id",
    "list_id",
    "campaign_id",
    "phone_number",
    "phone_code",
    "email",
    *LEAD_FILTERS,
    *DATE_FILTERS,
    "offset",
    "limit",
    ints=("list_id", "campaign_id", "offset", "limit"),
)
