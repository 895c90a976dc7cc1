"""The Convoso family's views: /v1/leads/insert and the dialer's lists, campaigns, DNC and hopper.

The wire format (parameters, codes, records, bodies) is lists_hopper.wire.convoso; the OpenAPI
parts are lists_hopper.api.convoso_schema; the reads are lists_hopper.selectors. Every rejected
/v1/leads/insert and /v1/leads/update is a FailedInjection row (through the pipeline); 401 and
429 write none.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from leads.api.base import FamilyAPIView, admit
from leads.errors import ApiError, AuthError, IntakeError, UnknownApi
from leads.matching import Operation
from leads.services import lead_ingest
from leads.vocabulary import Family, ReasonCode
from leads.wire import client_addr, query_dict
from lists_hopper import selectors
from lists_hopper.api.convoso_schema import (
    AUTH,
    ERRORS,
    INSERT_EXAMPLE,
    LEAD_SEARCH_PARAMS,
    CampaignInput,
    DncInput,
    HopperNextInput,
    InsertInput,
    ListInsertInput,
    ListUpdateInput,
    UpdateInput,
    form,
    query_params,
)
from lists_hopper.models import Campaign, List
from lists_hopper.services import (
    campaign_create,
    dnc_add,
    dnc_remove,
    hopper_next,
    list_create,
    list_update,
)
from lists_hopper.wire import convoso as wire
from settings_global.selectors import credential_by_auth_token


class ConvosoView(FamilyAPIView):
    """A Convoso-style call: auth_token, flat form or query parameters, Convoso error bodies."""

    family = Family.CONVOSO
    # For the schema only: the views read request.GET / request.POST / the body themselves.
    parser_classes = [FormParser, MultiPartParser, JSONParser]

    def render_error(self, error: ApiError) -> Response:
        return Response(wire.error_body(error), status=error.status)

    def authenticate_token(self, request: Any) -> tuple[Any, dict[str, str], IntakeError | None]:
        """(credential, parameters, parse error). A bad token is a 401 before anything else."""
        params, error = wire.read_params(request)
        token = params.get("auth_token") or request.GET.get("auth_token")
        credential = credential_by_auth_token(token)
        if credential is None:
            raise AuthError("Invalid auth token")
        admit(request, credential)
        return credential, params, error

    def params_or_raise(self, request: Any) -> tuple[Any, dict[str, str]]:
        """For the calls that write no lead: a parse problem is simply the answer."""
        credential, params, error = self.authenticate_token(request)
        if error is not None:
            raise error
        return credential, params


class LeadWriteView(ConvosoView):
    """A lead write through the intake pipeline; every rejection is logged with its data."""

    idempotent = True

    operation = Operation.INSERT

    def post(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        credential, params, error = self.authenticate_token(request)
        intake = wire.build_request(
            operation=self.operation,
            endpoint=request.path,
            params=params,
            query=query_dict(request),
            api_user=credential.user,
            remote_addr=client_addr(request),
            error=error,
        )
        result = lead_ingest(request=intake)
        lead_id = str(result.lead.id)
        return Response(wire.ok({"lead_id": lead_id}, id=lead_id))


# -- leads --------------------------------------------------------------------------------------


@extend_schema(
    tags=["Convoso"],
    summary="Insert a lead into a list (check_dup, check_dnc, hopper, update_if_found)",
    parameters=[AUTH],
    request=form(InsertInput),
    responses={200: OpenApiTypes.OBJECT, **ERRORS},
    examples=[INSERT_EXAMPLE],
)
class LeadInsertView(LeadWriteView):
    """Insert a lead into a list; check_dup scopes 0-3, check_dnc, hopper, update_if_found."""

    operation = Operation.INSERT


@extend_schema(
    tags=["Convoso"],
    summary="Update a lead by lead_id (list_id moves it to that list)",
    parameters=[AUTH],
    request=form(UpdateInput),
    responses={200: OpenApiTypes.OBJECT, **ERRORS},
)
class LeadUpdateView(LeadWriteView):
    """Update the lead lead_id names; list_id moves it to that list."""

    operation = Operation.UPDATE

    def post(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        response = super().post(request, *args, **kwargs)
        response.data.pop("id", None)
        return response


@extend_schema(
    tags=["Convoso"],
    summary="Search leads (limit default 10, max 2000)",
    parameters=LEAD_SEARCH_PARAMS,
    request=None,
    responses={200: OpenApiTypes.OBJECT, **ERRORS},
)
class LeadSearchView(ConvosoView):
    """Leads matching every filter given, oldest first; limit default 10, max 2000."""

    def get(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        _, params = self.params_or_raise(request)
        offset, limit = wire.page_params(params, default=10, high=2000)
        filters = wire.lead_search_filters(params)
        total, leads = selectors.leads_search(filters=filters, offset=offset, limit=limit)
        records = [wire.lead_record(lead) for lead in leads]
        return _ok(wire.page(offset, limit, total, records))

    post = get


# -- campaigns and lists ----------------------------------------------------------------------


def campaign_by_id(params: dict[str, str], *, required: bool = True) -> Campaign | None:
    campaign_id = wire.id_param(params, "campaign_id", required=required)
    if campaign_id is None:
        return None
    campaign = selectors.campaign_by_id(campaign_id)
    if campaign is None:
        raise IntakeError(
            ReasonCode.NOT_FOUND, f"Unknown campaign id: {campaign_id}", field="campaign_id"
        )
    return campaign


def list_by_id(params: dict[str, str]) -> List:
    list_id = wire.id_param(params, "list_id")
    obj = selectors.list_by_id(list_id)
    if obj is None:
        raise IntakeError(ReasonCode.UNKNOWN_LIST, f"No such list: {list_id}", field="list_id")
    return obj


def _ok(data: Any, **extra: Any) -> Response:
    return Response(wire.ok(data, **extra))


@extend_schema(
    tags=["Convoso"],
    summary="Create a campaign",
    parameters=[AUTH],
    request=form(CampaignInput),
    responses={200: OpenApiTypes.OBJECT, **ERRORS},
)
class CampaignInsertView(ConvosoView):
    """Create a campaign."""

    def post(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        _, params = self.params_or_raise(request)
        campaign = campaign_create(name=wire.name_param(params, required=True))
        return _ok({"campaign_id": campaign.id, "name": campaign.name}, id=campaign.id)


@extend_schema(
    tags=["Convoso"],
    summary="Create a list in a campaign",
    parameters=[AUTH],
    request=form(ListInsertInput),
    responses={200: OpenApiTypes.OBJECT, **ERRORS},
)
class ListInsertView(ConvosoView):
    """Create a list in a campaign."""

    def post(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        _, params = self.params_or_raise(request)
        name = wire.name_param(params, required=True)
        obj = list_create(name=name, campaign=campaign_by_id(params))
        return _ok(wire.list_record(obj), id=obj.id)


@extend_schema(
    tags=["Convoso"],
    summary="Rename a list, archive it (status=archived) or re-activate it, or move it",
    parameters=[AUTH],
    request=form(ListUpdateInput),
    responses={200: OpenApiTypes.OBJECT, **ERRORS},
)
class ListUpdateView(ConvosoView):
    """Rename a list, archive (status=archived) or re-activate it, or move it."""

    def post(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        _, params = self.params_or_raise(request)
        obj = list_by_id(params)
        obj = list_update(
            list_obj=obj,
            name=wire.name_param(params, required=False),
            status=wire.list_status_param(params),
            campaign=campaign_by_id(params, required=False),
        )
        return _ok(wire.list_record(obj))


@extend_schema(
    tags=["Convoso"],
    summary="Search lists (by list_id, campaign_id, status, name)",
    parameters=query_params("list_id", "campaign_id", "status", "name", ints=("list_id",)),
    request=None,
    responses={200: OpenApiTypes.OBJECT, **ERRORS},
)
class ListSearchView(ConvosoView):
    """Lists by id, campaign, status or name."""

    def get(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        _, params = self.params_or_raise(request)
        list_id = wire.id_param(params, "list_id", required=False)
        if list_id is None:
            list_id = wire.id_param(params, "id", required=False)
        lists = selectors.lists_search(
            list_id=list_id,
            campaign_id=wire.id_param(params, "campaign_id", required=False),
            status=wire.list_status_param(params),
            name=wire.text_param(params, "name"),
        )
        return _ok([wire.list_record(obj) for obj in lists])

    post = get


# -- DNC --------------------------------------------------------------------------------------


def _dnc_campaign(params: dict[str, str]) -> Campaign | None:
    """campaign_id empty or 0: the account-wide list."""
    if wire.text_param(params, "campaign_id") in ("", "0"):
        return None
    return campaign_by_id(params)


@extend_schema(
    tags=["Convoso"],
    summary="Put a number on the account-wide DNC, or a campaign's (campaign_id)",
    parameters=[AUTH],
    request=form(DncInput),
    responses={200: OpenApiTypes.OBJECT, **ERRORS},
)
class DncInsertView(ConvosoView):
    """Put a number on the account-wide DNC list (no campaign_id, or 0) or a campaign's."""

    def post(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        _, params = self.params_or_raise(request)
        phone = wire.dnc_phone(params)
        entry = dnc_add(
            phone=phone,
            phone_as_given=wire.text_param(params, "phone_number")[:64],
            campaign=_dnc_campaign(params),
        )
        return _ok(wire.dnc_record(entry), id=entry.id)


@extend_schema(
    tags=["Convoso"],
    summary="Take a number off the account-wide DNC, or a campaign's (campaign_id)",
    parameters=[AUTH],
    request=form(DncInput),
    responses={200: OpenApiTypes.OBJECT, **ERRORS},
)
class DncDeleteView(ConvosoView):
    """Take a number off the account-wide DNC list (no campaign_id, or 0) or a campaign's."""

    def post(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        _, params = self.params_or_raise(request)
        phone = wire.dnc_phone(params)
        if not dnc_remove(phone=phone, campaign=_dnc_campaign(params)):
            raise IntakeError(
                ReasonCode.NOT_FOUND,
                f"The phone number is not on this Do Not Call list: {phone}",
                field="phone_number",
            )
        return Response({"success": True})


@extend_schema(
    tags=["Convoso"],
    summary="Search the DNC (phone_number, campaign_id: 0 for account-wide; limit max 1000)",
    parameters=query_params(
        "phone_number",
        "phone_code",
        "campaign_id",
        "offset",
        "limit",
        ints=("campaign_id", "offset", "limit"),
    ),
    request=None,
    responses={200: OpenApiTypes.OBJECT, **ERRORS},
)
class DncSearchView(ConvosoView):
    """DNC entries by number and scope (campaign_id 0: account-wide only)."""

    def get(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        _, params = self.params_or_raise(request)
        phone = wire.dnc_phone(params, required=False)
        scope = wire.text_param(params, "campaign_id")
        campaign_id = 0 if scope == "0" else wire.id_param(params, "campaign_id") if scope else None
        offset, limit = wire.page_params(params, default=100, high=1000)
        total, entries = selectors.dnc_search(
            phone=phone, campaign_id=campaign_id, offset=offset, limit=limit
        )
        return _ok(wire.page(offset, limit, total, [wire.dnc_record(e) for e in entries]))

    post = get


# -- hopper -----------------------------------------------------------------------------------


@extend_schema(
    tags=["Convoso"],
    summary="A campaign's live hopper entries, by priority then age (limit max 2000)",
    parameters=query_params(
        "campaign_id", "offset", "limit", ints=("campaign_id", "offset", "limit")
    ),
    request=None,
    responses={200: OpenApiTypes.OBJECT, **ERRORS},
)
class HopperSearchView(ConvosoView):
    """A campaign's live hopper entries, highest priority first, then oldest."""

    def get(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        _, params = self.params_or_raise(request)
        campaign = campaign_by_id(params)
        offset, limit = wire.page_params(params, default=100, high=2000)
        total, entries = selectors.hopper_search(campaign=campaign, offset=offset, limit=limit)
        records = [wire.hopper_record(e) for e in entries]
        return _ok(wire.page(offset, limit, total, records, campaign_id=campaign.id))

    post = get


@extend_schema(
    tags=["Convoso"],
    summary="Take the campaign's highest-priority live hopper entry, for the dialer",
    description="Each entry is handed out once, however many dialers ask at the same time. "
    'An empty hopper answers {"success":true,"data":null}.',
    parameters=[AUTH],
    request=form(HopperNextInput),
    responses={200: OpenApiTypes.OBJECT, **ERRORS},
)
class HopperNextView(ConvosoView):
    """Take the campaign's next hopper entry for the dialer."""

    def post(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        credential, params = self.params_or_raise(request)
        campaign = campaign_by_id(params)
        entry = hopper_next(campaign=campaign, user=credential.user)
        if entry is None:
            return Response(
                {"success": True, "data": None, "text": "The hopper of this campaign is empty"}
            )
        return _ok(wire.hopper_record(entry), id=entry.id)


@extend_schema(exclude=True)
class ConvosoNotFoundView(ConvosoView):
    """Any other path under /v1/: Convoso's error body with a 404."""

    def dispatch_any(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        return self.error_answer(UnknownApi())

    get = post = put = patch = delete = options = dispatch_any
