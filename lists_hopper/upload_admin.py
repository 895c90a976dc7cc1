"""Staff screens for lead list uploads: the upload form, the column mapping, the progress page
(a bar fed by a small JSON endpoint) and the results file."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from lists_hopper.models import List, Upload, UploadStatus
from lists_hopper.tasks import upload_start, upload_submit
from lists_hopper.upload_csv import (
    MAX_UPLOAD_BYTES,
    SAMPLE_ROWS,
    TARGETS,
    FileError,
    custom_name,
    data_rows,
)
from lists_hopper.uploads import (
    OPTION_FIELDS,
    UNFINISHED,
    upload_cancel,
    upload_progress,
    upload_results_response,
)

CHECK_DUP = [
    (0, "0: no duplicate check"),
    (1, "1: the whole account"),
    (2, "2: this list"),
    (3, "3: this list's campaign"),
]


class UploadForm(forms.Form):
    file = forms.FileField(
        help_text="CSV: UTF-8 (with or without BOM) or Windows-1252; comma, semicolon or tab "
        f"separated; up to {MAX_UPLOAD_BYTES // 1_048_576} MB. The first row names the columns."
    )
    list = forms.ModelChoiceField(queryset=List.objects.select_related("campaign"))
    check_dup = forms.TypedChoiceField(choices=CHECK_DUP, coerce=int, initial=0)
    check_dup_archive = forms.BooleanField(required=False, label="Also check archived lists")
    check_dnc = forms.BooleanField(required=False, label="Reject numbers on the DNC list")
    update_if_found = forms.BooleanField(
        required=False, label="Update the lead found instead of rejecting the row"
    )
    hopper = forms.BooleanField(required=False, label="Add to the campaign's hopper")
    hopper_priority = forms.IntegerField(min_value=0, max_value=99, initial=99)
    hopper_expire_in = forms.IntegerField(
        min_value=1, required=False, label="Hopper expiry (minutes)"
    )
    keep_unmapped = forms.TypedChoiceField(
        choices=[(1, "Keep them as custom fields"), (0, "Drop them")],
        coerce=lambda v: str(v) == "1",
        initial=1,
        widget=forms.RadioSelect,
        label="Columns that name no lead field",
    )


def _target_choices(header: str, index: int, current: str) -> list[tuple[str, str]]:
    custom = custom_name(header, index)
    choices = [("", "(drop this column)")]
    choices += [(name, label) for name, label in TARGETS.items()]
    choices.append((custom, f"Custom field: {custom}"))
    if current and current not in TARGETS and current != custom:
        choices.append((current, f"Custom field: {current}"))
    return choices


class UploadAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "file_name",
        "list",
        "status",
        "progress",
        "created",
        "updated",
        "rejected",
        "created_by",
        "created_at",
    ]
    list_filter = ["status", "list"]
    search_fields = ["file_name", "=id"]
    list_select_related = ["list", "created_by"]

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).defer("content")

    @admin.display(description="Progress")
    def progress(self, obj: Upload) -> str:
        return f"{obj.processed} / {obj.total} ({obj.percent}%)"

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # an upload is read, confirmed or cancelled, never edited

    def get_urls(self) -> list[Any]:
        wrap = self.admin_site.admin_view
        return [
            path("<int:pk>/progress.json", wrap(self.progress_view), name="upload-progress"),
            path("<int:pk>/results.csv", wrap(self.results_view), name="upload-results-csv"),
            path("<int:pk>/cancel/", wrap(self.cancel_view), name="upload-cancel"),
            *super().get_urls(),
        ]

    def _get(self, request: HttpRequest, pk: Any) -> Upload:
        if not self.has_view_permission(request):
            raise PermissionDenied
        return get_object_or_404(Upload.objects.defer("content").select_related("list"), pk=pk)

    def progress_view(self, request: HttpRequest, pk: int) -> JsonResponse:
        upload = self._get(request, pk)
        return JsonResponse(
            {
                **upload_progress(upload),
                "created": upload.created,
                "updated": upload.updated,
                "percent": upload.percent,
                "status_label": upload.get_status_display(),
                "rejected_by_reason": upload.rejected_by_reason,
            }
        )

    def results_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        return upload_results_response(self._get(request, pk))

    def cancel_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        upload = self._get(request, pk)
        if request.method == "POST" and self.has_add_permission(request):
            upload_cancel(upload=upload)
            self.message_user(request, "The upload was cancelled; the rows done so far stay.")
        return HttpResponseRedirect(reverse("admin:lists_hopper_upload_change", args=[pk]))

    # -- step 1: the file, the list and the options -------------------------------------------

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: Any = None) -> Any:
        if not self.has_add_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            form = UploadForm(request.POST, request.FILES)
            if form.is_valid():
                try:
                    upload = self._submit(request, form.cleaned_data)
                except FileError as error:
                    form.add_error("file", str(error))
                else:
                    return HttpResponseRedirect(
                        reverse("admin:lists_hopper_upload_change", args=[upload.pk])
                    )
        else:
            form = UploadForm(initial={"list": request.GET.get("list")})
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Upload a lead list",
            "form": form,
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/lists_hopper/upload/upload_form.html", context)

    def _submit(self, request: HttpRequest, data: dict[str, Any]) -> Upload:
        file = data["file"]
        if file.size > MAX_UPLOAD_BYTES:
            raise FileError(
                f"The file is {file.size / 1_048_576:.1f} MB; the limit is "
                f"{MAX_UPLOAD_BYTES // 1_048_576} MB. Split it and upload the parts."
            )
        return upload_submit(
            list_id=data["list"].pk,
            data=file.read(),
            file_name=file.name,
            options={name: data[name] for name in OPTION_FIELDS},
            keep_unmapped=data["keep_unmapped"],
            draft=True,
            user=request.user,
            remote_addr=request.META.get("REMOTE_ADDR"),
        )

    # -- step 2: the mapping; then the progress and the results -------------------------------

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> Any:
        upload = self._get(request, object_id)
        if upload.status == UploadStatus.DRAFT:
            return self._mapping_view(request, upload)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Upload #{upload.pk}: {upload.file_name}",
            "upload": upload,
            "unfinished": upload.status in UNFINISHED,
            "reasons": sorted(upload.rejected_by_reason.items(), key=lambda kv: -kv[1]),
            "can_cancel": self.has_add_permission(request),
        }
        return TemplateResponse(request, "admin/lists_hopper/upload/progress.html", context)

    def _mapping_view(self, request: HttpRequest, upload: Upload) -> Any:
        headers = upload.headers
        mapping = list(upload.mapping)
        error = ""
        if request.method == "POST":
            if not self.has_add_permission(request):
                raise PermissionDenied
            mapping = [request.POST.get(f"column_{i}", "") for i in range(len(headers))]
            try:
                upload_start(upload=upload, mapping=mapping)
            except FileError as exc:
                error = str(exc)
            else:
                messages.success(request, f"Upload #{upload.pk} is running.")
                return HttpResponseRedirect(
                    reverse("admin:lists_hopper_upload_change", args=[upload.pk])
                )
        content = Upload.objects.filter(pk=upload.pk).values_list("content", flat=True).get()
        sample = []
        for _number, cells in data_rows(bytes(content).decode(upload.encoding), upload.delimiter):
            sample.append(cells)
            if len(sample) >= SAMPLE_ROWS:
                break
        columns = [
            {
                "index": i,
                "header": header,
                "current": mapping[i] if i < len(mapping) else "",
                "choices": _target_choices(header, i, mapping[i] if i < len(mapping) else ""),
                "examples": [row[i] for row in sample if i < len(row) and row[i].strip()][:3],
            }
            for i, header in enumerate(headers)
        ]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Map the columns of {upload.file_name}",
            "upload": upload,
            "columns": columns,
            "error": error,
        }
        return TemplateResponse(request, "admin/lists_hopper/upload/mapping.html", context)


def upload_link(list_obj: List) -> str:
    url = reverse("admin:lists_hopper_upload_add") + f"?list={list_obj.pk}"
    return format_html('<a class="upload-link" href="{}">Upload a lead list</a>', url)
