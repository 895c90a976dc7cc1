from leads.errors import IntakeError
from leads.replay import register
from leads.vocabulary import ReasonCode
from leads.wire.aninja import ENDPOINT, build_request


@register("aninja")
def replay(failure):
    # The logged data is the form as received (query-string fields merged in, apikey removed).
    error = None
    if failure.reason_code == ReasonCode.INVALID_BODY and set(failure.data or {}) <= {"raw"}:
        # The body was never read as fields (malformed JSON, a wrong content type): it still is not.
        error = IntakeError(ReasonCode.INVALID_BODY, failure.reason)
    return build_request(
        form=failure.data,
        query=failure.query or {},
        endpoint=failure.endpoint or ENDPOINT,
        api_user=failure.api_user,
        remote_addr=failure.remote_addr,
        error=error,
    )
