"""The staff API's intake figures: the vendor scorecards as JSON, for scripts."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from injectionlogs.selectors import period_parse, vendor_scorecards

VendorStats = inline_serializer(
    "VendorStats",
    {
        "username": serializers.CharField(),
        "received": serializers.IntegerField(),
        "accepted": serializers.IntegerField(),
        "created": serializers.IntegerField(),
        "updated": serializers.IntegerField(),
        "rejected": serializers.IntegerField(),
        "by_reason": serializers.DictField(child=serializers.IntegerField()),
    },
    many=True,
)


class VendorStatsView(APIView):
    """One row per API user over [since, until): received = accepted + rejected. Staff only."""

    @extend_schema(
        tags=["Stats"],
        parameters=[
            OpenApiParameter(
                "since",
                OpenApiTypes.STR,
                description="ISO date or date-time (default: 7 days before until)",
            ),
            OpenApiParameter(
                "until",
                OpenApiTypes.STR,
                description="ISO date-time, or a date counted to its end (default: now)",
            ),
        ],
        responses=VendorStats,
    )
    def get(self, request):
        try:
            since, until = period_parse(
                request.query_params.get("since"), request.query_params.get("until")
            )
        except ValueError as error:
            return Response({"detail": str(error)}, status=400)
        cards = vendor_scorecards(since=since, until=until)
        return Response([card.as_dict() for card in cards])
