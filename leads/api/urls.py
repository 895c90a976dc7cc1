import re

from django.urls import path, re_path
from django.views.decorators.csrf import csrf_exempt

from leads.api import leadsquared as ls
from leads.api import leadsquared_async as ls_async
from leads.api import leadsquared_bulk as ls_bulk

LS = "v2/LeadManagement.svc/"

LEADSQUARED = {
    "Lead.Capture": ls.LeadCaptureView,
    "Lead.Create": ls.LeadCreateView,
    "Lead.Update": ls.LeadUpdateView,
    "Lead.CreateOrUpdate": ls.LeadCreateOrUpdateView,
    "Lead.Convert": ls.LeadConvertView,
    "Visitor.Track": ls.VisitorTrackView,
    "Leads.GetById": ls.LeadsGetByIdView,
    "Leads.GetByEmailaddress": ls.LeadsGetByEmailView,
    "LeadsMetaData.Get": ls.LeadsMetaDataView,
    "Lead/Bulk/CreateOrUpdate": ls_bulk.LeadBulkCreateOrUpdateView,
}
_VIEWS = {name: view.as_view() for name, view in LEADSQUARED.items()}
_BY_LOWER = {name.lower(): view for name, view in _VIEWS.items()}


def _any_case(text: str) -> str:
    # Character classes, not (?i): Django must still be able to reverse the URLconf.
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in text)


_not_found = ls.LeadSquaredNotFoundView.as_view()

ASYNC = {
    "capture": ls_async.AsyncCaptureView,
    "status": ls_async.AsyncStatusView,
    "capture/metrics": ls_async.AsyncMetricsView,
}
_ASYNC_VIEWS = {name: view.as_view() for name, view in ASYNC.items()}
_ASYNC_BY_LOWER = {name.lower(): view for name, view in _ASYNC_VIEWS.items()}


# csrf_exempt: the middleware checks the view the URL resolves to, and these plain functions are
# not the DRF views' exempt wrappers; without it a POST got Django's CSRF 403 page.
@csrf_exempt
def leadsquared_other(request, rest: str):
    """Another spelling of a known call (LeadSquared's paths are case-insensitive), else its 404."""
    view = _BY_LOWER.get(rest.strip("/").lower())
    if view is not None:
        return view(request)
    return _not_found(request)


@csrf_exempt
def async_other(request, rest: str):
    """The async host's calls spelt in another case or with a trailing slash, else its 404."""
    view = _ASYNC_BY_LOWER.get(rest.strip("/").lower())
    if view is not None:
        return view(request)
    return _not_found(request)


urlpatterns = [
    *[path(LS + name, view, name=f"ls-{name}") for name, view in _VIEWS.items()],
    re_path(rf"^{_any_case(LS)}(?P<rest>.*)$", leadsquared_other),
    # LeadSquared's async host: the same keys plus x-api-key.
    path("lead/capture", _ASYNC_VIEWS["capture"], name="ls-async-capture"),
    path("lead/status", _ASYNC_VIEWS["status"], name="ls-async-status"),
    path("lead/capture/metrics", _ASYNC_VIEWS["capture/metrics"], name="ls-async-metrics"),
    re_path(rf"^{_any_case('lead/')}(?P<rest>.*)$", async_other),
]
