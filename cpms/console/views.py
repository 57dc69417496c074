"""Console pages. Thin: authorise, call a selector, render."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from cpms.access.console import require_staff
from cpms.console.selectors import home_page
from cpms.users import selectors as user_selectors


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """The home page: the figures of the user's work, one section per role they hold."""
    require_staff(request)
    return render(
        request,
        "console/dashboard.html",
        {"home": home_page(user=request.user), "section": "dashboard"},
    )


@login_required
def dashboard_counts(request: HttpRequest) -> HttpResponse:
    """HTMX partial polled by the home page so the figures stay live."""
    require_staff(request)
    return render(request, "console/partials/_counts.html", {"home": home_page(user=request.user)})


@login_required
def staff(request: HttpRequest) -> HttpResponse:
    require_staff(request)
    return render(
        request,
        "console/staff.html",
        {
            "staff": user_selectors.staff_list(user=request.user),
            "branches": user_selectors.branch_list(user=request.user),
            "section": "staff",
        },
    )
