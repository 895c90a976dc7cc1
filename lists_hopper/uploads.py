"""Lead list uploads: a CSV file into a List, batch by batch, through the intake pipeline.

upload_create reads the whole file once (anything unreadable is refused before a row exists);
upload_process_batch runs the next rows under the Upload row's lock and moves the checkpoint
(processed) in the same transaction as their leads, log rows and results, so that a worker killed
mid-batch leaves nothing behind and the batch runs again whole. The tasks (lists_hopper.tasks)
chain the batches; uploads_expired finds the ones a dead worker dropped.
"""

from __future__ import annotations

import csv
import io
import logging
from collections import OrderedDict
from collections.abc import Iterator
from datetime import timedelta
from itertools import islice
from typing import Any

from django.db import InterfaceError, OperationalError, connection, transaction
from django.http import StreamingHttpResponse
from django.utils import timezone

from injectionlogs.services import failure_record
from leads.errors import IntakeError, invalid_body
from leads.matching import Operation
from leads.services import IntakeRequest, IntakeResult, leads_ingest
from leads.vocabulary import Family
from lists_hopper.models import List, Upload, UploadOutcome, UploadRow, UploadStatus
from lists_hopper.upload_csv import (
    MAX_UPLOAD_BYTES,
    FileError,
    apply_mapping,
    check_mapping,
    inspect,
    row_params,
    rows_from,
    suggest_mapping,
)
from lists_hopper.wire.convoso import (
    HOPPER_EXPIRE_MAX_MINUTES,
    INSERT_OPTIONS,
    bool_param,
    build_request,
    int_param,
)

log = logging.getLogger(__name__)

# A worker holds an upload this long past its last committed batch; then the sweep hands it on.
LEASE = timedelta(seconds=30)
BATCH_SIZE = 1000
OPTION_FIELDS = INSERT_OPTIONS
UNFINISHED = (UploadStatus.QUEUED, UploadStatus.RUNNING)


def upload_options(params: dict[str, Any]) -> dict[str, Any]:
    """The insert API's options from form fields, with its own ranges and defaults."""
    flat = {key: "" if value is None else str(value) for key, value in params.items()}
    if not flat.get("hopper_expire_in") and flat.get("hopper_expires_in"):
        flat["hopper_expire_in"] = flat["hopper_expires_in"]
    try:
        return {
            "check_dup": int_param(flat, "check_dup", default=0, low=0, high=3),
            "check_dup_archive": bool_param(flat, "check_dup_archive"),
            "check_dnc": bool_param(flat, "check_dnc"),
            "hopper": bool_param(flat, "hopper"),
            "hopper_priority": int_param(flat, "hopper_priority", default=99, low=0, high=99),
            "hopper_expire_in": int_param(
                flat, "hopper_expire_in", default=None, low=1, high=HOPPER_EXPIRE_MAX_MINUTES
            ),
            "update_if_found": bool_param(flat, "update_if_found"),
        }
    except IntakeError as error:
        raise FileError(error.message) from None


def upload_create(
    *,
    list_id: Any,
    data: bytes,
    file_name: str,
    options: dict[str, Any],
    mapping: dict[str, str | None] | None = None,
    keep_unmapped: bool = True,
    draft: bool = False,
    user: Any = None,
    remote_addr: str | None = None,
    batch_size: int = BATCH_SIZE,
    max_bytes: int = MAX_UPLOAD_BYTES,
) -> Upload:
    """Check everything, then store the upload: queued, or a draft waiting for staff to confirm
    its mapping. Raises FileError (nothing stored) when the file, list, mapping or an option is
    not usable. The caller queues the first batch (lists_hopper.tasks.upload_submit)."""
    try:
        list_pk = int(str(list_id).strip())
    except (TypeError, ValueError):
        raise FileError("list_id: choose a list (a list id is a number).") from None
    list_obj = List.objects.filter(pk=list_pk).first()
    if list_obj is None:
        raise FileError(f"No such list: {list_pk}")
    parsed = upload_options(options)
    info = inspect(data, max_bytes=max_bytes)
    if draft:
        columns = suggest_mapping(info.headers, keep_unmapped=keep_unmapped)
    else:
        columns = apply_mapping(info.headers, mapping, keep_unmapped=keep_unmapped)
    now = timezone.now()
    return Upload.objects.create(
        list=list_obj,
        file_name=(file_name or "upload.csv")[:255],
        content=data,
        size=len(data),
        encoding=info.encoding,
        delimiter=info.delimiter,
        headers=info.headers,
        mapping=columns,
        keep_unmapped=keep_unmapped,
        status=UploadStatus.DRAFT if draft else UploadStatus.QUEUED,
        batch_size=batch_size,
        total=info.total,
        lease_expires_at=None if draft else now + LEASE,
        created_by=user if getattr(user, "pk", None) else None,
        remote_addr=remote_addr or None,
        **parsed,
    )


def upload_confirm(*, upload: Upload, mapping: list[str]) -> Upload:
    """A draft's mapping, chosen by staff: checked, then the upload is queued."""
    if upload.status != UploadStatus.DRAFT:
        raise FileError("This upload has already started.")
    upload.mapping = check_mapping(upload.headers, [m.strip() for m in mapping])
    upload.status = UploadStatus.QUEUED
    upload.lease_expires_at = timezone.now() + LEASE
    upload.save(update_fields=["mapping", "status", "lease_expires_at"])
    return upload


# -- running ------------------------------------------------------------------------------------

# A worker runs an upload's batches one after another: it keeps its place in the parsed file.
# Another worker (or this one after a rollback) starts from the stored checkpoint and the text
# position saved with it, so no batch reads the file from the top.
_READERS: OrderedDict[tuple[int, str], tuple[int, Iterator[tuple[int, list[str], int]]]] = (
    OrderedDict()
)
_READERS_KEPT = 2


def _batch_rows(upload: Upload, start: int) -> tuple[list[tuple[int, list[str], int]], Any]:
    key = (upload.pk, upload.created_at.isoformat())
    cached = _READERS.pop(key, None)
    if cached is not None and cached[0] == start:
        rows_iter = cached[1]
    else:
        content = Upload.objects.filter(pk=upload.pk).values_list("content", flat=True).get()
        text = bytes(content).decode(upload.encoding)
        rows_iter = rows_from(text, upload.delimiter, start=start, position=upload.resume_at)
    rows = list(islice(rows_iter, upload.batch_size))

    def keep() -> None:
        _READERS[key] = (start + len(rows), rows_iter)
        while len(_READERS) > _READERS_KEPT:
            _READERS.popitem(last=False)

    return rows, keep


def _option_params(upload: Upload) -> dict[str, str]:
    params = {
        "list_id": str(upload.list_id),
        "check_dup": str(upload.check_dup),
        "check_dup_archive": "1" if upload.check_dup_archive else "0",
        "check_dnc": "1" if upload.check_dnc else "0",
        "hopper": "1" if upload.hopper else "0",
        "hopper_priority": str(upload.hopper_priority),
        "update_if_found": "1" if upload.update_if_found else "0",
    }
    if upload.hopper_expire_in:
        params["hopper_expire_in"] = str(upload.hopper_expire_in)
    return params


def upload_endpoint(upload_id: int) -> str:
    return f"/api/v1/uploads/{upload_id}/"


def row_request(
    *,
    fields: dict[str, str],
    options: dict[str, str],
    upload_id: int,
    row_number: int,
    api_user: Any = None,
    remote_addr: str | None = None,
) -> IntakeRequest:
    """One row as an insert (POST /v1/leads/insert) of family "upload". The log row keeps the
    row's fields as data and the upload, row and options as its query (replay reads both)."""
    query = {"upload_id": upload_id, "row_number": row_number, **options}
    request = build_request(
        operation=Operation.INSERT,
        endpoint=upload_endpoint(upload_id),
        params={**fields, **options},
        query=query,
        api_user=api_user,
        remote_addr=remote_addr,
    )
    request.family = Family.UPLOAD
    request.data = fields
    return request


def upload_process_batch(*, upload_id: int, checkpoint: int) -> int | None:
    """Run the rows after checkpoint; returns the new checkpoint while rows remain, else None.

    Does nothing (None) unless the upload is unfinished and still at checkpoint: a task queued
    twice for one batch (the sweep, a redelivery) runs it once.
    """
    with transaction.atomic():
        upload = (
            Upload.objects.select_for_update(of=("self",))
            .select_related("created_by")
            .defer("content")
            .filter(pk=upload_id)
            .first()
        )
        if upload is None or upload.status not in UNFINISHED or upload.processed != checkpoint:
            return None
        now = timezone.now()
        rows, keep_place = _batch_rows(upload, checkpoint)
        options = _option_params(upload)
        requests = [
            row_request(
                fields=row_params(upload.mapping, cells),
                options=options,
                upload_id=upload.pk,
                row_number=number,
                api_user=upload.created_by,
                remote_addr=upload.remote_addr,
            )
            for number, cells, _position in rows
        ]
        results = _ingest(requests)
        outcomes: list[tuple[int, str, Any, str, str, Any]] = []
        by_reason = dict(upload.rejected_by_reason or {})
        for (number, _cells, _position), result in zip(rows, results, strict=True):
            if result.error is None:
                if result.created:
                    outcomes.append((number, UploadOutcome.CREATED, result.lead.pk, "", "", None))
                    upload.created += 1
                else:
                    outcomes.append((number, UploadOutcome.UPDATED, result.lead.pk, "", "", None))
                    upload.updated += 1
            else:
                code, reason = result.error.code, result.error.message
                failure_id = result.failure.pk if result.failure is not None else None
                outcomes.append((number, UploadOutcome.REJECTED, None, code, reason, failure_id))
                upload.rejected += 1
                by_reason[code] = by_reason.get(code, 0) + 1
        _results_insert(upload.pk, outcomes)
        upload.processed += len(rows)
        if rows:
            upload.resume_at = rows[-1][2]
        upload.rejected_by_reason = by_reason
        if upload.started_at is None:
            upload.started_at = now
        finished = not rows or upload.processed >= upload.total
        if finished:
            upload.status = UploadStatus.DONE
            upload.finished_at = timezone.now()
            upload.lease_expires_at = None
        else:
            upload.status = UploadStatus.RUNNING
            upload.lease_expires_at = timezone.now() + LEASE
        upload.save(
            update_fields=[
                "processed",
                "resume_at",
                "created",
                "updated",
                "rejected",
                "rejected_by_reason",
                "status",
                "started_at",
                "finished_at",
                "lease_expires_at",
            ]
        )
    keep_place()
    return None if finished else upload.processed


def _ingest(requests: list[IntakeRequest]) -> list[IntakeResult]:
    """The batch through the pipeline. Should a row make the pipeline fail (a bug, a value the
    database refuses), the batch runs again row by row and that row alone is logged, rejected:
    one bad row must not stop the upload for good. A lost connection fails the batch, which runs
    again later."""
    if not requests:
        return []
    try:
        with transaction.atomic():
            return leads_ingest(requests=requests)
    except (OperationalError, InterfaceError):
        raise
    except Exception:
        log.exception("upload batch failed in the pipeline; running its rows one by one")
    results = []
    for request in requests:
        try:
            with transaction.atomic():
                results.append(leads_ingest(requests=[request])[0])
        except (OperationalError, InterfaceError):
            raise
        except Exception as exc:
            log.exception("upload row failed in the pipeline")
            error = invalid_body(f"the row could not be processed ({type(exc).__name__})")
            failure = failure_record(
                error=error,
                data=request.data,
                family=request.family,
                endpoint=request.endpoint,
                query=request.query,
                api_user=request.api_user,
                remote_addr=request.remote_addr,
            )
            results.append(IntakeResult(error=error, failure=failure))
    return results


def _results_insert(upload_id: int, outcomes: list[tuple[int, str, Any, str, str, Any]]) -> None:
    """One insert for a batch's results. On PostgreSQL the columns go as arrays: a thousand
    model instances per batch cost more than the insert itself."""
    if not outcomes:
        return
    if connection.vendor != "postgresql":
        UploadRow.objects.bulk_create(
            UploadRow(
                upload_id=upload_id,
                row_number=number,
                outcome=outcome,
                lead_id=lead_id,
                reason_code=code,
                reason=reason,
                failure_id=failure_id,
            )
            for number, outcome, lead_id, code, reason, failure_id in outcomes
        )
        return
    columns = list(zip(*outcomes, strict=True))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {UploadRow._meta.db_table} "
            "(upload_id, row_number, outcome, lead_id, reason_code, reason, failure_id) "
            "SELECT %s, * FROM unnest(%s::integer[], %s::text[], %s::uuid[], %s::text[], "
            "%s::text[], %s::bigint[])",
            [upload_id, *(list(column) for column in columns)],
        )


def uploads_expired(*, now: Any = None) -> list[tuple[int, int]]:
    """(upload id, checkpoint) of every unfinished upload whose lease ran out (its worker died or
    its task was lost), each given a new lease: call inside the transaction that queues them."""
    now = now or timezone.now()
    due = list(
        Upload.objects.select_for_update(skip_locked=True)
        .defer("content")
        .filter(status__in=UNFINISHED, lease_expires_at__lt=now)
    )
    for upload in due:
        upload.lease_expires_at = now + LEASE
        upload.save(update_fields=["lease_expires_at"])
    return [(upload.pk, upload.processed) for upload in due]


def upload_cancel(*, upload: Upload) -> Upload:
    """Stop an unfinished upload after its current batch; the rows done so far stay."""
    with transaction.atomic():
        locked = Upload.objects.select_for_update().defer("content").get(pk=upload.pk)
        if locked.status in (*UNFINISHED, UploadStatus.DRAFT):
            locked.status = UploadStatus.CANCELLED
            locked.finished_at = timezone.now()
            locked.lease_expires_at = None
            locked.save(update_fields=["status", "finished_at", "lease_expires_at"])
    return locked


# -- reading ------------------------------------------------------------------------------------


def upload_progress(upload: Upload) -> dict[str, Any]:
    return {
        "id": upload.pk,
        "status": upload.status,
        "total": upload.total,
        "processed": upload.processed,
        "accepted": upload.accepted,
        "rejected": upload.rejected,
    }


RESULT_COLUMNS = ["row_number", "outcome", "lead_id", "reason", "reason_code", "failed_injection"]


def upload_results_csv(upload: Upload) -> Iterator[str]:
    """The results file, one line per processed row, streamed."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(RESULT_COLUMNS)
    yield flush()
    rows = (
        UploadRow.objects.filter(upload=upload)
        .order_by("row_number")
        .values_list("row_number", "outcome", "lead_id", "reason", "reason_code", "failure_id")
    )
    for number, outcome, lead_id, reason, code, failure_id in rows.iterator(chunk_size=5000):
        writer.writerow([number, outcome, lead_id or "", reason, code, failure_id or ""])
        if buffer.tell() > 65536:
            yield flush()
    yield flush()


def upload_results_response(upload: Upload) -> StreamingHttpResponse:
    """The results file as a download (the API and the admin)."""
    response = StreamingHttpResponse(upload_results_csv(upload), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="upload-{upload.pk}-results.csv"'
    return response
