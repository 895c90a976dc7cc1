"""Retry injection for uploaded rows: the logged row goes through the pipeline again."""

from __future__ import annotations

from injectionlogs.models import FailedInjection
from leads.replay import register
from leads.services import IntakeRequest
from lists_hopper.upload_csv import OPTION_NAMES
from lists_hopper.uploads import row_request


@register("upload")
def replay(failure: FailedInjection) -> IntakeRequest:
    """failure.data holds the row's mapped fields; failure.query the upload, the row number and
    the upload's insert options."""
    data = failure.data if isinstance(failure.data, dict) else {}
    query = failure.query if isinstance(failure.query, dict) else {}
    fields = {str(k): "" if v is None else str(v) for k, v in data.items() if k not in OPTION_NAMES}
    options = {str(k): str(v) for k, v in query.items() if k in OPTION_NAMES}
    return row_request(
        fields=fields,
        options=options,
        upload_id=int(query.get("upload_id") or 0),
        row_number=int(query.get("row_number") or 0),
        api_user=failure.api_user,
        remote_addr=failure.remote_addr,
    )
