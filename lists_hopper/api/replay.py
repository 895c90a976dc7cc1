"""Retry injection for the Convoso family: the logged parameters go through the pipeline again."""

from __future__ import annotations

from injectionlogs.models import FailedInjection
from leads.errors import invalid_body
from leads.matching import Operation
from leads.replay import register
from leads.services import IntakeRequest
from leads.vocabulary import ReasonCode
from lists_hopper.wire.convoso import build_request


@register("convoso")
def replay(failure: FailedInjection) -> IntakeRequest:
    """failure.data holds the query string and body parameters as one flat dict (credentials
    removed); the endpoint says whether it was an insert or an update."""
    operation = Operation.UPDATE if "leads/update" in failure.endpoint else Operation.INSERT
    data = failure.data if isinstance(failure.data, dict) else {}
    params = {str(key): "" if value is None else str(value) for key, value in data.items()}
    error = None
    if failure.reason_code == ReasonCode.INVALID_BODY:
        # The body could not be read the first time: there is nothing better to replay.
        error = invalid_body("the logged request body was not readable; ask the sender again")
    return build_request(
        operation=operation,
        endpoint=failure.endpoint,
        params=params,
        query=failure.query or {},
        api_user=failure.api_user,
        remote_addr=failure.remote_addr,
        error=error,
    )
