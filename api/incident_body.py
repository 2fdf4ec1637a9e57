"""A request body that is JSON, or a multipart form with the same fields plus photo files.

Phones send a report with its photos in one multipart request (so the outbox retries it whole
under one Idempotency-Key); desks and scripts send JSON. Both are validated by the same
Pydantic model and fail the same way (422 naming the field).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile
from starlette.requests import ClientDisconnect

from gridgeo.errors import InvalidInput
from gridgeo.incidents.photos import Upload

M = TypeVar("M", bound=BaseModel)
PHOTO_FIELD = "photo"
MAX_FILES = 16  # more than gridgeo.incidents.photos.MAX_PER_REQUEST: that check names the limit
MAX_FIELDS = 32
GONE = "the client disconnected before the whole body arrived"


@dataclass
class Body(Generic[M]):
    """The validated fields and the raw uploaded files (checked later, off the event loop)."""

    data: M
    uploads: list[Upload] = field(default_factory=list)


def _validated(model: type[M], values: dict[str, Any]) -> M:
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
        raise RequestValidationError(errors) from None


def body_of(model: type[M]) -> Callable[[Request], Awaitable[Body[M]]]:
    """A dependency that reads the body as ``model`` (JSON or multipart with photos)."""

    async def dependency(request: Request) -> Body[M]:
        return await read_body(request, model)

    return dependency


async def read_body(request: Request, model: type[M]) -> Body[M]:
    """The body as ``model`` (JSON or multipart with photos).

    Raises:
        InvalidInput: a body of another type, not JSON, or cut off by the client.
        RequestValidationError: fields that ``model`` refuses (422 naming them).
    """
    # A client gone mid-body is a bad request, not a server error: left to escape, the
    # exception would reach uvicorn and be logged as "Exception in ASGI application".
    try:
        return await _read(request, model)
    except ClientDisconnect:
        raise InvalidInput(GONE, field="body") from None


async def _read(request: Request, model: type[M]) -> Body[M]:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        return await _from_form(request, model)
    if ctype not in ("application/json", ""):
        raise InvalidInput(
            f"the body is {ctype}; send application/json, or a form (multipart/form-data "
            f"with photos in the field '{PHOTO_FIELD}')",
            field="content-type",
        )
    raw = await request.body()
    try:
        values = json.loads(raw) if raw else None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"the body is not valid JSON: {exc}", field="body") from None
    if not isinstance(values, dict):
        raise InvalidInput("the body must be a JSON object", field="body")
    return Body(_validated(model, values))


async def _from_form(request: Request, model: type[M]) -> Body[M]:
    limit = request.app.state.settings.incidents.photo_max_bytes
    form = await request.form(max_files=MAX_FILES, max_fields=MAX_FIELDS)
    try:
        return await _read_form(model, form.multi_items(), limit)
    finally:
        await form.close()  # the spooled files; their bytes are read by now


async def _read_form(model: type[M], items: list[tuple[str, Any]], limit: int) -> Body[M]:
    values: dict[str, Any] = {}
    uploads: list[Upload] = []
    for key, value in items:
        if isinstance(value, UploadFile):
            if key not in (PHOTO_FIELD, PHOTO_FIELD + "s"):
                raise InvalidInput(
                    f"form field '{key}' is a file; only '{PHOTO_FIELD}' takes files", field=key
                )
            data = await value.read(limit + 1)  # one byte over is enough to refuse it
            uploads.append(Upload(value.filename or PHOTO_FIELD, value.content_type, data))
        elif key in values:
            raise InvalidInput(f"form field '{key}' is given twice", field=key)
        elif value != "" or key in ("description", "note"):
            values[key] = value  # an empty optional field is an absent one
    return Body(_validated(model, values), uploads)


def openapi_body(model: type[BaseModel]) -> dict[str, Any]:
    """The OpenAPI request body of a route that reads ``body_of(model)``."""
    schema = model.model_json_schema()
    form = {
        **schema,
        "properties": {
            **schema.get("properties", {}),
            PHOTO_FIELD: {"type": "array", "items": {"type": "string", "format": "binary"}},
        },
    }
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": schema},
                "multipart/form-data": {"schema": form},
            },
        }
    }
