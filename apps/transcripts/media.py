"""Serve a stored recording with HTTP range requests, so a player can seek."""

from __future__ import annotations

import logging
import re

from django.http import FileResponse, HttpResponse, StreamingHttpResponse

from apps.projects.errors import NotFoundError

logger = logging.getLogger(__name__)

RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")
CHUNK = 256 * 1024


def _chunks(handle, start: int, length: int):
    handle.seek(start)
    remaining = length
    try:
        while remaining > 0:
            data = handle.read(min(CHUNK, remaining))
            if not data:
                break
            remaining -= len(data)
            yield data
    finally:
        handle.close()


def _open(field_file):
    """The stored file, opened; NotFoundError (404) when its row outlived the file."""
    try:
        return field_file.open("rb")
    except FileNotFoundError:
        # The row says there is a recording but storage lost it (restored database, deleted
        # volume): the caller gets a 404, the operator a warning naming the stored path.
        logger.warning("Stored file missing: %s", field_file.name)
        raise NotFoundError("The recording's file is missing from storage.") from None


def ranged_file_response(request, field_file, content_type: str, size: int):
    """A 200 with the whole file, or a 206 with the requested byte range (single range).

    Raises NotFoundError when the stored file is missing.
    """
    header = request.headers.get("Range", "")
    match = RANGE_RE.match(header.strip()) if header else None
    if not match:
        response = FileResponse(_open(field_file), content_type=content_type)
        response["Accept-Ranges"] = "bytes"
        response["Content-Length"] = str(size)
        return _private(response)
    first, last = match.groups()
    if first == "" and last == "":
        return _unsatisfiable(size)
    if first == "":
        start, end = max(size - int(last), 0), size - 1
    else:
        start = int(first)
        end = min(int(last), size - 1) if last else size - 1
    if start >= size or start > end:
        return _unsatisfiable(size)
    length = end - start + 1
    response = StreamingHttpResponse(
        _chunks(_open(field_file), start, length), status=206, content_type=content_type
    )
    response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Content-Length"] = str(length)
    response["Accept-Ranges"] = "bytes"
    return _private(response)


def _unsatisfiable(size: int) -> HttpResponse:
    response = HttpResponse(status=416)
    response["Content-Range"] = f"bytes */{size}"
    return _private(response)


def _private(response):
    # Clinical recordings must not sit in shared caches.
    response["Cache-Control"] = "private, no-store"
    return response
