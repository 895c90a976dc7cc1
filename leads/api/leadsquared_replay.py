from leads.matching import Operation
from leads.replay import register
from leads.wire.leadsquared import build_request

# The endpoint's last path part, lower-cased -> the operation it ran.
OPERATIONS = {
    "lead.capture": Operation.CAPTURE,
    "lead.create": Operation.CREATE_UNIQUE,
    "lead.update": Operation.UPDATE,
    "lead.createorupdate": Operation.CREATE_OR_UPDATE,
    "lead.convert": Operation.CONVERT,
    "createorupdate": Operation.CREATE_OR_UPDATE,  # a bulk row
    "capture": Operation.CAPTURE,  # the async capture
}


@register("leadsquared")
def replay(failure):
    last = failure.endpoint.rstrip("/").rsplit("/", 1)[-1].lower()
    operation = OPERATIONS.get(last, Operation.CAPTURE)
    return build_request(
        operation=operation,
        endpoint=failure.endpoint,
        body=failure.data,
        query=failure.query or {},
        api_user=failure.api_user,
        remote_addr=failure.remote_addr,
    )
