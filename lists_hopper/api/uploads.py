"""Lead list uploads for scripts (staff only: a session, or HTTP Basic).

POST /api/v1/uploads/ (multipart: file, list_id, the insert API's options, optional mapping JSON)
answers {"id","status"}; GET /api/v1/uploads/<id>/ the progress; GET .../results.csv the results.
A file, list, mapping or option the upload cannot take is a 400 {"error": "..."} and stores
nothing.
"""

from __future__ import annotations

import json
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from leads.wire import client_addr
from lists_hopper.models import Upload
from lists_hopper.selectors import upload_by_id
from lists_hopper.tasks import upload_submit
from lists_hopper.upload_csv import MAX_UPLOAD_BYTES, FileError
from lists_hopper.uploads import OPTION_FIELDS, upload_progress, upload_results_response


class UploadInput(serializers.Serializer):
    file = serializers.FileField()
    list_id = serializers.IntegerField()
    check_dup = serializers.IntegerField(required=False, min_value=0, max_value=3)
    check_dup_archive = serializers.BooleanField(required=False)
    check_dnc = serializers.BooleanField(required=False)
    hopper = serializers.BooleanField(required=False)
    hopper_priority = serializers.IntegerField(required=False, min_value=0, max_value=99)
    hopper_expire_in = serializers.IntegerField(required=False, min_value=1)
    update_if_found = serializers.BooleanField(required=False)
    keep_unmapped = serializers.BooleanField(
        required=False, help_text="Unmapped columns become custom fields (default) or are dropped."
    )
    mapping = serializers.CharField(
        required=False, help_text='JSON: {"column header": "lead field" | "custom name" | null}'
    )


PROGRESS = inline_serializer(
    "UploadProgress",
    {
        "id": serializers.IntegerField(),
        "status": serializers.CharField(),
        "total": serializers.IntegerField(),
        "processed": serializers.IntegerField(),
        "accepted": serializers.IntegerField(),
        "rejected": serializers.IntegerField(),
    },
)
ERROR = inline_serializer("UploadError", {"error": serializers.CharField()})


def _error(message: str, status: int = 400) -> Response:
    return Response({"error": message}, status=status)


class UploadListView(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": UploadInput},
        responses={
            202: inline_serializer(
                "UploadCreated",
                {"id": serializers.IntegerField(), "status": serializers.CharField()},
            ),
            400: ERROR,
        },
        summary="Upload a lead list (CSV) into a list",
    )
    def post(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        try:
            upload = self._submit(request)
        except FileError as error:
            return _error(str(error))
        return Response({"id": upload.pk, "status": upload.status}, status=202)

    def _submit(self, request: Any) -> Upload:
        try:
            data = request.data
        except Exception as error:  # a broken multipart body
            raise FileError(f"The request body could not be read: {error}") from None
        file = data.get("file")
        if file is None or isinstance(file, str):
            raise FileError("file: attach the CSV file as the multipart field 'file'.")
        if not data.get("list_id"):
            raise FileError("list_id: the list to upload into is required.")
        mapping = None
        if data.get("mapping"):
            try:
                mapping = json.loads(data["mapping"])
            except (TypeError, ValueError):
                raise FileError("mapping is not valid JSON.") from None
        keep = str(data.get("keep_unmapped", "1")).strip().lower() not in ("0", "false", "no")
        if file.size > MAX_UPLOAD_BYTES:
            raise FileError(
                f"The file is {file.size / 1_048_576:.1f} MB; the limit is "
                f"{MAX_UPLOAD_BYTES / 1_048_576:.0f} MB. Split it and upload the parts."
            )
        return upload_submit(
            list_id=data.get("list_id"),
            data=file.read(),
            file_name=file.name,
            options={name: data.get(name, "") for name in OPTION_FIELDS},
            mapping=mapping,
            keep_unmapped=keep,
            user=request.user,
            remote_addr=client_addr(request),
        )


class UploadDetailView(APIView):
    @extend_schema(responses={200: PROGRESS}, summary="An upload's progress")
    def get(self, request: Any, pk: int, *args: Any, **kwargs: Any) -> Response:
        upload = upload_by_id(pk)
        if upload is None:
            return Response({"detail": "No such upload."}, status=404)
        return Response(upload_progress(upload))


class UploadResultsView(APIView):
    @extend_schema(
        responses={(200, "text/csv"): OpenApiTypes.STR},
        summary="An upload's results: row_number, outcome, lead_id, reason per row",
    )
    def get(self, request: Any, pk: int, *args: Any, **kwargs: Any) -> Any:
        upload = upload_by_id(pk)
        if upload is None:
            return Response({"detail": "No such upload."}, status=404)
        return upload_results_response(upload)
