from django.contrib import admin
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from config.schema import CachedSpectacularAPIView
from injectionlogs.api import FailedInjectionViewSet
from leads.api.aninja import ContactFormView
from leads.api.native import LeadViewSet
from settings_global.api.views import GlobalSettingsView
from settings_global.console import api_console

_contactform = ContactFormView.as_view()


@csrf_exempt
def contactform_without_slash(request):
    # The same view, kept out of the schema: a redirect would drop the POSTed lead.
    return _contactform(request)


router = DefaultRouter()
router.register("leads", LeadViewSet, basename="lead")
router.register("injection-logs", FailedInjectionViewSet, basename="injection-log")

admin.site.site_header = "Lead intake CRM"
admin.site.site_title = "Lead intake CRM"
admin.site.index_title = "Staff"

urlpatterns = [
    path("admin/api-console/", admin.site.admin_view(api_console), name="api-console"),
    path("admin/", admin.site.urls),
    path("api/v1/settings/global/", GlobalSettingsView.as_view(), name="global-settings"),
    path("api/v1/contactform/", ContactFormView.as_view(), name="aninja-contactform"),
    path("api/v1/contactform", contactform_without_slash),
    path("api/v1/", include(router.urls)),
    path("api/schema/", CachedSpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("", include("leads.api.urls")),
    path("", include("lists_hopper.api.urls")),
]
