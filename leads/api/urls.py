import re

from django.urls import path, re_path

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


def leadsquared_other(request, rest: str):
    """Another spelling of a known call (LeadSquared's paths are case-insensitive), else its 404."""
    view = _BY_LOWER.get(rest.strip("/").lower())
    if view is not None:
        return view(request)
    return ls.LeadSquaredNotFoundView.as_view()(request)


urlpatterns = [
    *[path(LS + name, view, name=f"ls-{name}") for name, view in _VIEWS.items()],
    re_path(rf"^{_any_case(LS)}(?P<rest>.*)$", leadsquared_other),
    # LeadSquared's async host: the same keys plus x-api-key.
    path("lead/capture", ls_async.AsyncCaptureView.as_view(), name="ls-async-capture"),
    path("lead/status", ls_async.AsyncStatusView.as_view(), name="ls-async-status"),
    path("lead/capture/metrics", ls_async.AsyncMetricsView.as_view(), name="ls-async-metrics"),
    re_path(r"^lead/", ls.LeadSquaredNotFoundView.as_view()),
]
