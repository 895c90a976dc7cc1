from django.urls import Resolver404, URLResolver, get_resolver, get_urlconf, path, re_path
from django.views.decorators.csrf import csrf_exempt

from leads.api.urls import _any_case
from lists_hopper.api import convoso

CONVOSO = {
    "leads/insert": convoso.LeadInsertView,
    "leads/update": convoso.LeadUpdateView,
    "leads/search": convoso.LeadSearchView,
    "campaigns/insert": convoso.CampaignInsertView,
    "lists/insert": convoso.ListInsertView,
    "lists/update": convoso.ListUpdateView,
    "lists/search": convoso.ListSearchView,
    "dnc/insert": convoso.DncInsertView,
    "dnc/delete": convoso.DncDeleteView,
    "dnc/search": convoso.DncSearchView,
    "hopper/search": convoso.HopperSearchView,
    "hopper/next": convoso.HopperNextView,
}
_VIEWS = {name: view.as_view() for name, view in CONVOSO.items()}
_BY_LOWER = {name.lower(): view for name, view in _VIEWS.items()}
_not_found = convoso.ConvosoNotFoundView.as_view()


def _later_match(path: str):
    """A route listed after this module in the root URLconf that also serves this path.

    The catch-all below must not shadow another app's /v1/... route included after ours."""
    passed = False
    for pattern in get_resolver(get_urlconf()).url_patterns:
        if not passed:
            if isinstance(pattern, URLResolver):
                # include() holds the imported module; a plain list or dotted path otherwise.
                name = getattr(pattern.urlconf_name, "__name__", pattern.urlconf_name)
                passed = name == __name__
            continue
        try:
            match = pattern.resolve(path)
        except Resolver404:
            continue
        if match:
            return match
    return None


# csrf_exempt: the middleware checks this function, not the DRF view it calls (else a POST to
# /v1/leads/insert/ got Django's CSRF 403 page).
@csrf_exempt
def convoso_other(request, rest: str):
    """Any other /v1/ path: a call with a trailing slash (some HTTP clients add one) or in
    another case, a later route's view if one serves it, else Convoso's 404 body."""
    view = _BY_LOWER.get(rest.rstrip("/").lower())
    if view is not None:
        return view(request)
    match = _later_match(request.path_info.lstrip("/"))
    if match is not None:
        request.resolver_match = match
        return match.func(request, *match.args, **match.kwargs)
    return _not_found(request)


urlpatterns = [
    *[
        path(f"v1/{name}", view, name=f"convoso-{name.replace('/', '-')}")
        for name, view in _VIEWS.items()
    ],
    re_path(rf"^{_any_case('v1/')}(?P<rest>.*)$", convoso_other),
]
