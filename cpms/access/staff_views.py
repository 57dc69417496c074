"""Console administration of staff accounts: list (search, filters, totals, pages), add, edit,
deactivate / reactivate, reset a password, reset two-factor. Thin: authorise, call one
service, render. Every change needs a fresh re-authentication and leaves an audit entry (the
services write it); role grants stay on the access pages (maker-checker)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from cpms.access import selectors
from cpms.access import staff as access_staff
from cpms.access.checks import user_has_permission
from cpms.access.console import require_staff
from cpms.access.staff_forms import (
    StaffActionForm,
    StaffCreateForm,
    StaffEditForm,
    StaffFilterForm,
)
from cpms.core.console import form_errors
from cpms.core.errors import CpmsError, NotFound
from cpms.core.errors import PermissionDenied as CpmsPermissionDenied
from cpms.users import services
from cpms.users.models import User
from cpms.users.reauth import require_recent_authentication
from cpms.users.services import security

PAGE_SIZE = 25
MANAGE = "users.manage"


def _can_manage(request: HttpRequest) -> bool:
    return user_has_permission(request.user, MANAGE)


def _require_manage(request: HttpRequest) -> None:
    require_staff(request, MANAGE)


def _member(request: HttpRequest, pk: int) -> User:
    member = selectors.staff_member(user=request.user, pk=pk)
    if member is None:
        raise Http404
    return member


def _no_store(response: HttpResponse) -> HttpResponse:
    """A page showing a one-time password is kept by no cache and no back button."""
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_http_methods(["GET"])
def staff_list(request: HttpRequest) -> HttpResponse:
    require_staff(request, MANAGE, "users.view")
    form = StaffFilterForm(request.GET or None)
    filters: dict[str, Any] = {}
    if form.is_valid():
        data = form.cleaned_data
        active = {"1": True, "0": False}.get(data["active"])
        filters = {
            "q": data["q"].strip(),
            "branch": data["branch"],
            "role": data["role"],
            "active": active,
        }
    staff = selectors.staff_directory(user=request.user, **filters)
    page = Paginator(staff, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "users/staff_list.html",
        {
            "form": form,
            "page": page,
            "total": page.paginator.count,
            "query": query.urlencode(),
            "can_manage": _can_manage(request),
            "section": "staff",
        },
    )


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def staff_create(request: HttpRequest) -> HttpResponse:
    _require_manage(request)  # before re-authentication: no detour for those who may not
    return _staff_create(request)


@require_recent_authentication
def _staff_create(request: HttpRequest) -> HttpResponse:
    form = StaffCreateForm(request.POST or None)
    if not user_has_permission(request.user, "roles.manage"):
        del form.fields["roles"]  # roles are granted by those who compose them (access pages)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            created = access_staff.staff_create(
                actor=request.user,
                username=data["username"],
                display_name=data["display_name"],
                email=data["email"],
                branch=data["branch"],
                roles=list(data.get("roles") or []),
                reason=data["reason"],
            )
        except CpmsPermissionDenied as exc:
            form.add_error(None, exc.message)
        except CpmsError as exc:
            form_errors(form, exc)
        else:
            return _no_store(
                render(
                    request,
                    "users/staff_password.html",
                    {
                        "member": created.user,
                        "password": created.password,
                        "created": created,
                        "section": "staff",
                    },
                )
            )
    return render(request, "users/staff_form.html", {"form": form, "section": "staff"})


@login_required
@require_http_methods(["GET", "POST"])
def staff_detail(request: HttpRequest, pk: int) -> HttpResponse:
    require_staff(request, MANAGE, "users.view")
    member = _member(request, pk)
    can_manage = _can_manage(request)
    form = None
    if can_manage:
        initial = {
            "display_name": member.display_name,
            "email": member.email,
            "branch": member.branch_id,
        }
        form = StaffEditForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if form is None:
            raise DjangoPermissionDenied
        return _staff_edit(request, member, form)
    return _detail_page(request, member, form)


@require_recent_authentication
def _staff_edit(request: HttpRequest, member: User, form: StaffEditForm) -> HttpResponse:
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.staff_update(
                actor=request.user,
                user=member,
                display_name=data["display_name"],
                email=data["email"],
                branch=data["branch"],
            )
        except NotFound as exc:
            raise Http404 from exc
        except CpmsError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("staff:detail", pk=member.pk)
    return _detail_page(request, member, form)


def _detail_page(request: HttpRequest, member: User, form: StaffEditForm | None) -> HttpResponse:
    is_self = member.pk == request.user.pk
    return render(
        request,
        "users/staff_detail.html",
        {
            "member": member,
            "form": form,
            "can_manage": form is not None,
            "is_self": is_self,
            "can_grant": user_has_permission(request.user, "roles.manage")
            or user_has_permission(request.user, "users.view"),
            "section": "staff",
        },
    )


# ---------------------------------------------------------------- sensitive actions

ACTIONS: dict[str, dict[str, Any]] = {
    "deactivate": {
        "title": lambda m: _("Deactivate %(name)s") % {"name": m},
        "explain": lambda: _(
            "They can no longer sign in; their sessions and API tokens stop working at once. "
            "Their roles stay and come back with a reactivation."
        ),
        "button": lambda: _("Deactivate"),
        "allowed": lambda m, me: m.is_active and m.pk != me.pk,
    },
    "reactivate": {
        "title": lambda m: _("Reactivate %(name)s") % {"name": m},
        "explain": lambda: _("They can sign in again with their roles as before."),
        "button": lambda: _("Reactivate"),
        "allowed": lambda m, me: not m.is_active and m.pk != me.pk,
    },
    "password-reset": {
        "title": lambda m: _("Reset the password of %(name)s") % {"name": m},
        "explain": lambda: _(
            "A one-time password is shown to you once. Give it to them in person; they must "
            "choose their own password when they next sign in. Their sessions end now."
        ),
        "button": lambda: _("Reset the password"),
        "allowed": lambda m, me: m.is_active and m.pk != me.pk,
    },
    "mfa-reset": {
        "title": lambda m: _("Reset two-factor sign-in of %(name)s") % {"name": m},
        "explain": lambda: _(
            "Their authenticator and recovery codes stop working. A privileged role must set "
            "up two-factor sign-in again at the next sign-in."
        ),
        "button": lambda: _("Reset two-factor"),
        "allowed": lambda m, me: m.mfa_enrolled and m.pk != me.pk,
    },
}


def _perform(request: HttpRequest, action: str, member: User, reason: str) -> HttpResponse:
    actor = request.user
    if action == "deactivate":
        services.staff_deactivate(actor=actor, user=member, reason=reason)
        messages.success(request, _("%(name)s is deactivated.") % {"name": member})
    elif action == "reactivate":
        services.staff_reactivate(actor=actor, user=member, reason=reason)
        messages.success(request, _("%(name)s is active again.") % {"name": member})
    elif action == "mfa-reset":
        security.mfa_reset(actor=actor, user=member, reason=reason)
        messages.success(
            request,
            _("Two-factor sign-in of %(user)s is removed.") % {"user": member.username},
        )
    else:
        password = security.password_reset(actor=actor, user=member, reason=reason)
        return _no_store(
            render(
                request,
                "users/staff_password.html",
                {"member": member, "password": password, "reset": True, "section": "staff"},
            )
        )
    return redirect("staff:detail", pk=member.pk)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def staff_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    _require_manage(request)  # before re-authentication: no detour for those who may not
    if action not in ACTIONS:
        raise Http404
    member = _member(request, pk)
    return _staff_action(request, member, action)


@require_recent_authentication
def _staff_action(request: HttpRequest, member: User, action: str) -> HttpResponse:
    spec = ACTIONS[action]
    form = StaffActionForm(request.POST if request.method == "POST" else None)
    if not spec["allowed"](member, request.user):
        if member.pk == request.user.pk:
            raise DjangoPermissionDenied
        messages.info(request, _("Nothing to do: the account is already in that state."))
        return redirect("staff:detail", pk=member.pk)
    if request.method == "POST" and form.is_valid():
        try:
            return _perform(request, action, member, form.cleaned_data["reason"])
        except NotFound as exc:
            raise Http404 from exc
        except CpmsPermissionDenied as exc:
            raise DjangoPermissionDenied from exc
        except CpmsError as exc:
            form_errors(form, exc)
    return render(
        request,
        "users/staff_action.html",
        {
            "member": member,
            "form": form,
            "action": action,
            "title": spec["title"](member),
            "explain": spec["explain"](),
            "button": spec["button"](),
            "danger": action in ("deactivate", "password-reset", "mfa-reset"),
            "section": "staff",
        },
    )
