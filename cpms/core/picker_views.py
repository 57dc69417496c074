"""The picker endpoint: `GET /pick/<kind>/?q=…` answers an HTMX request with a list of options
(an HTML fragment). Thin: the registered search does the scoped query."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from cpms.core import pickers
from cpms.core.authz import require_staff

EXTRA_PREFIX = "f_"  # filters the form set on the widget travel as f_<name>


@login_required
@require_GET
def pick(request: HttpRequest, kind: str) -> HttpResponse:
    require_staff(request)
    query = request.GET.get("q")
    if query is None:  # the visible input is named <field>__search so it never clashes
        query = next((v for k, v in request.GET.items() if k.endswith("__search")), "")
    extra = {
        key[len(EXTRA_PREFIX) :]: value
        for key, value in request.GET.items()
        if key.startswith(EXTRA_PREFIX)
    }
    try:
        options = pickers.search(kind, user=request.user, q=query, extra=extra)
    except LookupError:
        raise Http404 from None
    return render(
        request,
        "core/widgets/picker_options.html",
        {"options": options, "query": query.strip(), "limit": pickers.LIMIT},
    )
