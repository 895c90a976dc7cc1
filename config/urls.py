from django.contrib import admin
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from injectionlogs.api import FailedInjectionViewSet
from injectionlogs.dashboard import dashboard_view, scorecards_view
from leads.api.aninja import ContactFormView
from leads.api.native import LeadViewSet
from leads.api.stats import VendorStatsView
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
    path("admin/dashboard/", admin.site.admin_view(dashboard_view), name="intake-dashboard"),
    path(
        "admin/dashboard/scorecards/",
        admin.site.admin_view(scorecards_view),
        name="intake-scorecards",
    ),
    path("admin/", admin.site.urls),
    path("api/v1/settings/global/", GlobalSettingsView.as_view(), name="global-settings"),
    path("api/v1/contactform/", ContactFormView.as_view(), name="aninja-contactform"),
    path("api/v1/contactform", contactform_without_slash),
    path("api/v1/stats/vendors/", VendorStatsView.as_view(), name="stats-vendors"),
    path("api/v1/", include(router.urls)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("", include("leads.api.urls")),
    path("", include("lists_hopper.api.urls")),
]
