"""The API console ("Test Request"): staff build a lead, see the request, and run it."""

from __future__ import annotations

from django.contrib import admin
from django.template.response import TemplateResponse

from lists_hopper.models import List
from settings_global.models import ApiCredential


def api_console(request):
    context = {
        **admin.site.each_context(request),
        "title": "API console",
        "credentials": ApiCredential.objects.filter(is_active=True).select_related("user"),
        "lists": List.objects.select_related("campaign").filter(status="active")[:200],
    }
    return TemplateResponse(request, "admin/api_console.html", context)
