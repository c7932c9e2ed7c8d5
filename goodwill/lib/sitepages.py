"""Site-level pages: errors in the site's own look, the favicon, and a health check.

htmx requests get a short fragment instead of a whole page, so an error shows up
where the user acted rather than replacing the screen.
"""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.template import loader
from django.templatetags.static import static

_TITLES = {
    400: ("Bad request", "The request could not be understood. Go back and try again."),
    403: ("Not allowed", "Your account does not have access to this page."),
    404: ("Not found", "There is nothing here. It may have been moved or deleted."),
    500: ("Something went wrong", "The error was logged. Please try again in a moment."),
}


def _render(request: HttpRequest, status: int, detail: str | None = None) -> HttpResponse:
    title, text = _TITLES[status]
    if request.headers.get("HX-Request"):
        return HttpResponse(
            f'<div class="alert alert-error" role="alert">{title}: {text}</div>', status=status
        )
    try:
        template = loader.get_template("error.html")
        body = template.render(
            {"status": status, "title": title, "text": text, "detail": detail}, request
        )
    except Exception:  # the 500 page must render even when templates are broken
        body = f"<h1>{status} {title}</h1><p>{text}</p>"
    return HttpResponse(body, status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _render(request, 400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    message = str(exception) if exception and str(exception) else None
    return _render(request, 403, message)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _render(request, 404)


def server_error(request: HttpRequest) -> HttpResponse:
    return _render(request, 500)


def healthz(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def favicon(request: HttpRequest) -> HttpResponse:
    return HttpResponseRedirect(static("goodwill/favicon.svg"))
