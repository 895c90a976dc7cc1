"""The project's URLconf with another app's /v1/ route listed after the Convoso family's."""

from django.http import JsonResponse
from django.urls import path

from config.urls import urlpatterns as project_urlpatterns


def ping(request, name):
    return JsonResponse({"app": "later", "name": name})


urlpatterns = [*project_urlpatterns, path("v1/other-app/<str:name>", ping)]
