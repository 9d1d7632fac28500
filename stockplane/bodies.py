"""Read request bodies within limits: size, decompressed size and time.

Every door that takes a body reads it through :func:`read_body`, so no request makes the
server hold more than the limit it declares or wait for it for ever:

- a ``Content-Length`` over the limit is refused at once, before a byte is read;
- the body is streamed with a running count and reading stops at the limit (413), which
  also covers chunked uploads that declare no length;
- the whole body must arrive within a time limit (408), so a client sending one byte a
  second holds nothing for long.

:func:`gunzip` inflates a compressed body step by step and stops at its limit, so a small
"gzip bomb" never expands in memory.
"""

from __future__ import annotations

import asyncio
import zlib
from typing import TYPE_CHECKING

from .errors import AppError, InputError

if TYPE_CHECKING:
    from starlette.requests import Request

__all__ = ["BodyTimeout", "BodyTooLarge", "gunzip", "read_body"]

_GZIP = 16 + zlib.MAX_WBITS  # a gzip header and trailer around the deflate stream


class BodyTooLarge(AppError):
    """The body (or what it decompresses to) is larger than the door accepts."""

    status = 413
    problem = "body-too-large"


class BodyTimeout(AppError):
    """The body did not arrive in time; the connection is not worth holding."""

    status = 408
    problem = "body-timeout"


def _declared_length(request: Request) -> int | None:
    value = request.headers.get("content-length")
    if value is None:
        return None
    if not value.strip().isdigit():
        raise InputError(f"Content-Length {value!r} is not a number of bytes")
    return int(value)


async def read_body(request: Request, *, limit: int, what: str, seconds: float) -> bytes:
    """The request's body, at most ``limit`` bytes, received within ``seconds``.

    ``what`` names the body in the problem's detail ("batch", "export", "document").
    """
    declared = _declared_length(request)
    if declared is not None and declared > limit:
        raise BodyTooLarge(f"the {what} is {declared:,} bytes; the limit is {limit:,}", limit=limit)
    received = bytearray()
    try:
        async with asyncio.timeout(seconds):
            async for chunk in request.stream():
                if len(received) + len(chunk) > limit:
                    raise BodyTooLarge(
                        f"the {what} is larger than the limit of {limit:,} bytes; reading stopped there",
                        limit=limit,
                    )
                received += chunk
    except TimeoutError:
        raise BodyTimeout(
            f"the {what} did not arrive within {seconds:g} s ({len(received):,} bytes received); "
            "send it at once",
        ) from None
    return bytes(received)


def gunzip(data: bytes, *, limit: int, what: str) -> bytes:
    """Inflate gzip ``data`` (one member or several), refusing output past ``limit`` bytes.

    Output is produced in steps no larger than what is left of the limit, so memory stays
    within the limit whatever the compression ratio.
    """
    output = bytearray()
    pending = data
    try:
        while pending:
            inflater = zlib.decompressobj(_GZIP)
            while pending:
                output += inflater.decompress(pending, limit + 1 - len(output))
                if len(output) > limit:
                    raise BodyTooLarge(
                        f"the {what} decompresses to more than the limit of {limit:,} bytes",
                        limit=limit,
                    )
                pending = inflater.unconsumed_tail
                if inflater.eof:
                    break
            if not inflater.eof:
                raise InputError(f"the {what} is not valid gzip: it ends before the stream does")
            pending = inflater.unused_data  # a further gzip member, if any
    except zlib.error as exc:
        raise InputError(f"the {what} is not valid gzip ({exc})") from None
    return bytes(output)
