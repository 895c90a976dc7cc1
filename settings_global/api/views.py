from __future__ import annotations

import phonenumbers
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from settings_global.models import SETTING_FIELDS, GlobalSettings
from settings_global.services import global_settings_get, global_settings_update


class GlobalSettingsSerializer(serializers.ModelSerializer):
    class Meta:
        model = GlobalSettings
        fields = list(SETTING_FIELDS)

    def validate_default_phone_region(self, value: str) -> str:
        region = value.strip().upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise serializers.ValidationError(f"{value!r} is not a phone region such as US or GB")
        return region


class GlobalSettingsView(APIView):
    """The Global Settings singleton: read by staff, changed by staff with the permission."""

    @extend_schema(responses=GlobalSettingsSerializer, tags=["Settings"])
    def get(self, request):
        return Response(GlobalSettingsSerializer(global_settings_get()).data)

    @extend_schema(
        request=GlobalSettingsSerializer, responses=GlobalSettingsSerializer, tags=["Settings"]
    )
    def patch(self, request):
        if not request.user.has_perm("settings_global.change_globalsettings"):
            return Response(
                {"detail": "You do not have permission to change Global Settings."}, status=403
            )
        unknown = (
            sorted(set(request.data) - set(SETTING_FIELDS)) if hasattr(request.data, "keys") else []
        )
        if unknown:
            return Response({"detail": f"Unknown setting(s): {', '.join(unknown)}"}, status=400)
        serializer = GlobalSettingsSerializer(
            global_settings_get(), data=request.data, partial=True
        )
        serializer.is_valid(raise_exception=True)
        obj = global_settings_update(
            changes=serializer.validated_data, user=request.user, via="api"
        )
        return Response(GlobalSettingsSerializer(obj).data)
