"""Console pages for roles, grants and conflicts. Thin: authorise, call, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cpms.access import selectors, services
from cpms.access.checks import user_has_permission
from cpms.access.console import require_staff
from cpms.access.forms import ConflictForm, GrantForm, RevokeForm, RoleForm
from cpms.access.models import Grant
from cpms.core.console import form_errors
from cpms.core.errors import CpmsError, NotFound
from cpms.core.errors import PermissionDenied as CpmsPermissionDenied
from cpms.core.permissions import AREAS, PERMISSIONS
from cpms.users.reauth import is_recently_authenticated, reauth_url


def _reauth_needed(request: HttpRequest) -> HttpResponse | None:
    """Changing access is sensitive: a POST needs a sign-in or re-authentication from the last
    few minutes; otherwise the user is sent to prove it and comes back to the form."""
    if request.method == "POST" and not is_recently_authenticated(request):
        return redirect(reauth_url(request.path))
    return None


@login_required
def role_list(request: HttpRequest) -> HttpResponse:
    require_staff(request, "roles.manage", "users.view")
    return render(
        request,
        "access/role_list.html",
        {
            "roles": selectors.role_list(user=request.user).order_by("code"),
            "can_manage": user_has_permission(request.user, "roles.manage"),
            "section": "access",
        },
    )


@login_required
def role_edit(request: HttpRequest, code: str | None = None) -> HttpResponse:
    require_staff(request, "roles.manage")
    if reauth := _reauth_needed(request):
        return reauth
    role = None
    if code is not None:
        try:
            role = selectors.role_get(user=request.user, code=code)
        except NotFound as exc:
            raise Http404 from exc
    initial = {}
    if role is not None:
        initial = {
            "code": role.code,
            "name": role.name,
            "description": role.description,
            "permissions": list(role.permissions.values_list("code", flat=True)),
            "is_active": role.is_active,
        }
    form = RoleForm(request.POST or None, initial=initial)
    if role is not None:
        form.fields["code"].disabled = True
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if role is None:
                role = services.role_create(
                    actor=request.user,
                    code=data["code"],
                    name=data["name"],
                    description=data["description"],
                    permissions=data["permissions"],
                )
            else:
                services.role_update(
                    actor=request.user,
                    role=role,
                    name=data["name"],
                    description=data["description"],
                    permissions=data["permissions"],
                    is_active=data["is_active"],
                )
        except CpmsError as error:
            form_errors(form, error)
        else:
            messages.success(request, _("Role saved."))
            return redirect("access:role-list")
    grouped = [(area, [p for p in PERMISSIONS if p.area == area]) for area in AREAS]
    return render(
        request,
        "access/role_form.html",
        {"form": form, "role": role, "grouped": grouped, "section": "access"},
    )


@login_required
def staff_grants(request: HttpRequest, user_id: int) -> HttpResponse:
    require_staff(request, "roles.manage", "users.view")
    try:
        subject = selectors.staff_get_for_user(user=request.user, pk=user_id)
    except NotFound as exc:
        raise Http404 from exc
    can_manage = user_has_permission(request.user, "roles.manage")
    form = GrantForm(request.POST or None, initial={"branch": subject.branch_id})
    if request.method == "POST":
        if not can_manage:
            raise DjangoPermissionDenied
        if reauth := _reauth_needed(request):
            return reauth
        if form.is_valid():
            data = form.cleaned_data
            try:
                outcome = services.grant_request(
                    actor=request.user,
                    user=subject,
                    role=data["role"],
                    scope=data["scope"],
                    branch=data["branch"],
                    reason=data["reason"],
                )
            except CpmsPermissionDenied as exc:
                raise DjangoPermissionDenied from exc
            except CpmsError as error:
                form_errors(form, error)
            else:
                if isinstance(outcome, Grant):
                    messages.success(request, _("Role granted."))
                else:
                    messages.success(
                        request,
                        _("Submitted for approval as request #%(id)s.") % {"id": outcome.pk},
                    )
                return redirect("access:staff-grants", user_id=subject.pk)
    return render(
        request,
        "access/staff_grants.html",
        {
            "subject": subject,
            "grants": selectors.grant_list(user=request.user, subject=subject),
            "history": selectors.grant_list(user=request.user, subject=subject, active=False)
            .exclude(revoked_at__isnull=True)
            .order_by("-revoked_at"),
            "form": form,
            "revoke_form": RevokeForm(),
            "permissions": sorted(
                {
                    permission.code
                    for grant in selectors.grant_list(user=request.user, subject=subject)
                    if grant.role.is_active
                    for permission in grant.role.permissions.all()
                }
            ),
            "can_manage": can_manage,
            "section": "access",
        },
    )


@login_required
@require_POST
def grant_revoke(request: HttpRequest, grant_id: int) -> HttpResponse:
    require_staff(request, "roles.manage")
    if reauth := _reauth_needed(request):
        return reauth
    grant = selectors.grant_list(user=request.user).filter(pk=grant_id).first()
    if grant is None:
        raise Http404
    form = RevokeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("A reason is required to revoke a role."))
    else:
        try:
            services.grant_revoke(
                actor=request.user, grant=grant, reason=form.cleaned_data["reason"]
            )
        except CpmsError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Role revoked."))
    return redirect("access:staff-grants", user_id=grant.user_id)


@login_required
def staff_list(request: HttpRequest) -> HttpResponse:
    require_staff(request, "roles.manage", "users.view")
    staff = selectors.staff_list(user=request.user).order_by("username", "pk")
    page = Paginator(staff, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "access/staff_list.html",
        {
            "staff": page.object_list,
            "page": page,
            "can_admin_staff": user_has_permission(request.user, "users.manage")
            or user_has_permission(request.user, "users.view"),
            "section": "access",
        },
    )


@login_required
def conflicts(request: HttpRequest) -> HttpResponse:
    require_staff(request, "roles.manage", "users.view")
    can_manage = user_has_permission(request.user, "roles.manage")
    form = ConflictForm(request.POST or None)
    if request.method == "POST":
        if not can_manage:
            raise DjangoPermissionDenied
        if reauth := _reauth_needed(request):
            return reauth
        if form.is_valid():
            try:
                services.conflict_declare(
                    actor=request.user,
                    first=form.cleaned_data["first"],
                    second=form.cleaned_data["second"],
                )
            except CpmsError as error:
                form_errors(form, error)
            else:
                messages.success(request, _("Conflict declared."))
                return redirect("access:conflicts")
    return render(
        request,
        "access/conflicts.html",
        {
            "conflicts": selectors.conflict_list(user=request.user),
            "violations": selectors.conflict_violations(user=request.user),
            "form": form,
            "can_manage": can_manage,
            "section": "access",
        },
    )


@login_required
@require_POST
def conflict_remove(request: HttpRequest, conflict_id: int) -> HttpResponse:
    require_staff(request, "roles.manage")
    if reauth := _reauth_needed(request):
        return reauth
    try:
        services.conflict_remove(actor=request.user, conflict_id=conflict_id)
    except NotFound as exc:
        raise Http404 from exc
    messages.success(request, _("Conflict removed."))
    return redirect("access:conflicts")
