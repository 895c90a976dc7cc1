from django.contrib import admin
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from config.schema import CachedSpectacularAPIView
from injectionlogs.api import FailedInjectionViewSet
from injectionlogs.dashboard import dashboard_view, scorecards_view
from leads.api.aninja import ContactFormNotFoundView, ContactFormView
from leads.api.native import LeadViewSet
from leads.api.stats import VendorStatsView
from leads.api.urls import _any_case
from lists_hopper.api import uploads
from settings_global.api.views import GlobalSettingsView
from settings_global.console import api_console

_contactform = ContactFormView.as_view()
_contactform_not_found = ContactFormNotFoundView.as_view()


@csrf_exempt
def contactform_other(request, rest: str):
    """The form without its slash or in another case (a redirect would drop the POSTed lead),
    else aNinja's 404 body: never Django's HTML pages."""
    if rest in ("", "/"):
        return _contactform(request)
    return _contactform_not_found(request)


router = DefaultRouter()
router.register("leads", LeadViewSet, basename="lead")
router.register("injection-logs", FailedInjectionViewSet, basename="injection-log")

admin.site.site_header = "Lead intake CRM"
admin.site.site_title = "Lead intake CRM"
admin.site.index_title = "Staff"

urlpatterns = [
    # The vendor paths first: Django tries the patterns in order, and these take nearly every
    # call. None of them overlaps a staff path (admin/, api/).
    path("", include("leads.api.urls")),
    path("", include("lists_hopper.api.urls")),
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
    re_path(rf"^api/v1/{_any_case('contactform')}(?P<rest>.*)$", contactform_other),
    path("api/v1/uploads/", uploads.UploadListView.as_view(), name="upload-list"),
    path("api/v1/uploads/<int:pk>/", uploads.UploadDetailView.as_view(), name="upload-detail"),
    path(
        "api/v1/uploads/<int:pk>/results.csv",
        uploads.UploadResultsView.as_view(),
        name="upload-results",
    ),
    path("api/v1/stats/vendors/", VendorStatsView.as_view(), name="stats-vendors"),
    path("api/v1/", include(router.urls)),
    path("api/schema/", CachedSpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
]
