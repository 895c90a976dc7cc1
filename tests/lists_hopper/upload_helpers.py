"""Helpers for the upload tests: a CSV from rows, and an upload run to its end in-process."""

from __future__ import annotations

import csv
import io

from lists_hopper.models import Upload
from lists_hopper.uploads import upload_create, upload_process_batch


def csv_bytes(header, rows, *, delimiter=",", encoding="utf-8"):
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def run(upload):
    """Every batch of the upload, as the chained tasks would run them; returns the upload."""
    checkpoint = upload.processed
    batches = 0
    while checkpoint is not None:
        checkpoint = upload_process_batch(upload_id=upload.pk, checkpoint=checkpoint)
        batches += 1
        assert batches < 10_000
    return Upload.objects.get(pk=upload.pk)


def upload_rows(lst, header, rows, *, user=None, batch_size=1000, **options):
    """Create an upload of these rows into lst with these insert options, and run it."""
    mapping = options.pop("mapping", None)
    upload = upload_create(
        list_id=lst.pk,
        data=csv_bytes(header, rows),
        file_name="leads.csv",
        options=options,
        mapping=mapping,
        user=user,
        batch_size=batch_size,
    )
    return run(upload)
