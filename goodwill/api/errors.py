from __future__ import annotations

from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from goodwill.lib.pagination import BadCursor


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus Django's ValidationError (from services) as a 400.

    Errors come back as ``{"detail": "...", "errors": {"field": ["message"]}}``;
    errors that belong to no field are under ``non_field_errors``, as in DRF.
    A page link whose cursor cannot be read is a 400 reported on ``cursor``.
    """
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            errors = {
                (api_settings.NON_FIELD_ERRORS_KEY if field == NON_FIELD_ERRORS else field): msgs
                for field, msgs in exc.message_dict.items()
            }
            detail = "Some fields are not valid."
        else:
            errors = {api_settings.NON_FIELD_ERRORS_KEY: exc.messages}
            detail = exc.messages[0]
        return Response({"detail": detail, "errors": errors}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, BadCursor):
        return Response(
            {"detail": str(exc), "errors": {"cursor": [str(exc)]}},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.ValidationError):
        response.data = {"detail": "Some fields are not valid.", "errors": response.data}
    return response
