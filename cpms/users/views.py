"""Console pages for signing in and out, two-factor, re-authentication, passwords, API tokens
and account security. Thin: parse, authorise, call one service or selector, render."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from cpms.core.authz import require_staff, user_has_permission
from cpms.core.console import form_errors
from cpms.core.errors import CpmsError
from cpms.core.middleware import client_ip
from cpms.users import selectors, services, sessions
from cpms.users.forms import (
    CodeForm,
    LoginForm,
    PasswordChangeForm,
    ReauthForm,
    TokenCreateForm,
)
from cpms.users.models import User
from cpms.users.reauth import require_recent_authentication, safe_next
from cpms.users.services import security
from cpms.users.services.security import LoginOutcome


def _generic_refusal() -> str:
    """Django's own wording, so wrong password, unknown user and locked account read alike."""
    label = User._meta.get_field("username").verbose_name
    return str(AuthenticationForm.error_messages["invalid_login"] % {"username": label})


def _throttled_message() -> str:
    return _("Too many failed sign-ins from your network. Try again in a few minutes.")


def _dashboard() -> str:
    return reverse("console:dashboard")


# ---------------------------------------------------------------- sign-in and sign-out


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    next_url = safe_next(request, request.POST.get("next") or request.GET.get("next"), "")
    if request.user.is_authenticated:
        return HttpResponseRedirect(next_url or _dashboard())
    form = LoginForm(request.POST or None)
    error = ""
    if request.method == "POST":
        if not form.is_valid():
            error = _generic_refusal()
        else:
            result = security.login_attempt(
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password"],
                ip=client_ip(request),
            )
            if result.outcome == LoginOutcome.SIGNED_IN:
                sessions.sign_in(request, result.user)
                return HttpResponseRedirect(next_url or _dashboard())
            if result.outcome in (LoginOutcome.MFA_REQUIRED, LoginOutcome.ENROLMENT_REQUIRED):
                stage = (
                    sessions.STAGE_VERIFY
                    if result.outcome == LoginOutcome.MFA_REQUIRED
                    else sessions.STAGE_ENROL
                )
                sessions.pending_set(
                    request, user_id=result.user.pk, stage=stage, next_url=next_url
                )
                target = "users:mfa-verify" if stage == sessions.STAGE_VERIFY else "users:mfa-enrol"
                return redirect(target)
            error = (
                _throttled_message()
                if result.outcome == LoginOutcome.THROTTLED
                else _generic_refusal()
            )
    return render(
        request,
        "console/login.html",
        {"form": form, "error": error, "next": next_url},
        status=429 if error == _throttled_message() else 200,
    )


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        security.logout_record(actor=request.user)
    logout(request)
    return redirect("console:login")


@sensitive_post_parameters("code")
@never_cache
@require_http_methods(["GET", "POST"])
def mfa_verify(request: HttpRequest) -> HttpResponse:
    """Second sign-in step: TOTP code or a recovery code."""
    pending = sessions.pending_get(request, sessions.STAGE_VERIFY)
    if pending is None:
        sessions.pending_clear(request)
        return redirect("console:login")
    form = CodeForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        result = security.login_second_factor(
            user_id=pending["user_id"], code=form.cleaned_data["code"], ip=client_ip(request)
        )
        if result.outcome == LoginOutcome.SIGNED_IN:
            sessions.sign_in(request, result.user)
            if result.second_factor == "recovery_code":
                messages.warning(
                    request,
                    _("You signed in with a recovery code. It cannot be used again."),
                )
            return HttpResponseRedirect(pending.get("next") or _dashboard())
        if result.outcome == LoginOutcome.THROTTLED:
            error = _throttled_message()
        else:
            error = _("The code is not correct.")
    elif request.method == "POST":
        error = _("The code is not correct.")
    return render(request, "users/mfa_verify.html", {"form": form, "error": error})


@never_cache
@require_http_methods(["GET", "POST"])
def mfa_enrol(request: HttpRequest) -> HttpResponse:
    """Enrol a TOTP authenticator: forced after the password step for privileged users, or
    voluntary for a signed-in user. Activation needs a code from the new authenticator."""
    pending = sessions.pending_get(request, sessions.STAGE_ENROL)
    if pending is not None:
        user = User.objects.filter(pk=pending["user_id"], is_active=True).first()
        if user is None:
            sessions.pending_clear(request)
            return redirect("console:login")
        actor = user
    elif request.user.is_authenticated:
        user = actor = request.user
    else:
        return redirect("console:login")
    if selectors.mfa_status(user=user)["enrolled"]:
        messages.info(request, _("Two-factor sign-in is already active."))
        return redirect("users:account" if pending is None else "console:login")
    form = CodeForm(request.POST or None)
    restart = request.method == "POST" and "restart" in request.POST
    if request.method == "POST" and not restart and form.is_valid():
        try:
            codes = security.mfa_enrolment_confirm(
                actor=actor, user=user, code=form.cleaned_data["code"]
            )
        except CpmsError as exc:
            form_errors(form, exc, field="code")
        else:
            next_url = _dashboard()
            if pending is not None:
                security.login_after_enrolment(user=user, ip=client_ip(request))
                sessions.sign_in(request, user)
                next_url = pending.get("next") or next_url
            return render(
                request,
                "users/recovery_codes.html",
                {"codes": codes, "next": next_url, "enrolled": True, "owner": user},
            )
    enrolment = security.mfa_enrolment_begin(actor=actor, user=user, restart=restart)
    return render(
        request,
        "users/mfa_enrol.html",
        {"form": form if not restart else CodeForm(), "enrolment": enrolment, "forced": pending},
    )


@sensitive_post_parameters("password", "code")
@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def reauth(request: HttpRequest) -> HttpResponse:
    next_url = safe_next(request, request.POST.get("next") or request.GET.get("next"), "/")
    enrolled = bool(selectors.mfa_status(user=request.user)["enrolled"])
    form = ReauthForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        result = security.reauthenticate(
            user=request.user,
            password=form.cleaned_data["password"],
            code=form.cleaned_data["code"],
            ip=client_ip(request),
        )
        if result.outcome == LoginOutcome.SIGNED_IN:
            sessions.mark_authenticated(request.session)
            return HttpResponseRedirect(next_url)
        error = (
            _throttled_message()
            if result.outcome == LoginOutcome.THROTTLED
            else _("The password or code is not correct.")
        )
    elif request.method == "POST":
        error = _("The password or code is not correct.")
    return render(
        request,
        "users/reauth.html",
        {"form": form, "error": error, "next": next_url, "enrolled": enrolled},
    )


# ---------------------------------------------------------------- own account


@login_required
def account(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "users/account.html",
        {"mfa": selectors.mfa_status(user=request.user), "section": "account"},
    )


@sensitive_post_parameters("old", "new", "confirm")
@login_required
@require_http_methods(["GET", "POST"])
def password_change(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = security.password_change(
                actor=request.user,
                user=request.user,
                old=form.cleaned_data["old"],
                new=form.cleaned_data["new"],
            )
        except CpmsError as exc:
            form_errors(form, exc)
        else:
            update_session_auth_hash(request, user)
            messages.success(request, _("Your password has been changed."))
            return redirect("users:account")
    return render(request, "users/password_change.html", {"form": form, "section": "account"})


@login_required
@never_cache
@require_POST
@require_recent_authentication
def recovery_codes_regenerate(request: HttpRequest) -> HttpResponse:
    try:
        codes = security.recovery_codes_regenerate(actor=request.user, user=request.user)
    except CpmsError as exc:
        messages.error(request, exc.message)
        return redirect("users:account")
    return render(
        request,
        "users/recovery_codes.html",
        {
            "codes": codes,
            "next": reverse("users:account"),
            "enrolled": False,
            "owner": request.user,
        },
    )


# ---------------------------------------------------------------- API tokens


def _token_page(request: HttpRequest, form: TokenCreateForm, issued: Any = None) -> HttpResponse:
    return render(
        request,
        "users/tokens.html",
        {
            "form": form,
            "issued": issued,
            "tokens": selectors.token_list(user=request.user),
            "section": "account",
        },
    )


@login_required
def tokens(request: HttpRequest) -> HttpResponse:
    require_staff(request)
    return _token_page(request, TokenCreateForm())


@login_required
@require_POST
@require_recent_authentication
def token_create(request: HttpRequest) -> HttpResponse:
    require_staff(request)
    form = TokenCreateForm(request.POST)
    if not form.is_valid():
        return _token_page(request, form)
    try:
        issued = services.token_create(
            actor=request.user,
            user=request.user,
            name=form.cleaned_data["name"],
            expires_days=form.cleaned_data["expires_days"],
            scopes=form.cleaned_data["scopes"],
            reauthenticated=True,  # require_recent_authentication above
        )
    except CpmsError as exc:
        if exc.code.startswith("token.reauthentication"):
            form.add_error(None, exc.message)
            return _token_page(request, form)
        form_errors(form, exc)
        return _token_page(request, form)
    return _token_page(request, TokenCreateForm(), issued)


@login_required
@require_POST
def token_revoke(request: HttpRequest, prefix: str) -> HttpResponse:
    require_staff(request)
    token = selectors.token_list(user=request.user).filter(prefix=prefix).first()
    if token is None:
        raise Http404
    services.token_revoke(actor=request.user, prefix=token.prefix)
    messages.success(request, _("The API token %(prefix)s is revoked.") % {"prefix": prefix})
    return redirect("users:tokens")


# ---------------------------------------------------------------- account security (admins)


def _require_security_admin(request: HttpRequest) -> None:
    if not (
        user_has_permission(request.user, "users.unlock")
        or user_has_permission(request.user, "users.manage")
    ):
        raise DjangoPermissionDenied


@login_required
def security_overview(request: HttpRequest) -> HttpResponse:
    _require_security_admin(request)
    return render(
        request,
        "users/security.html",
        {
            "accounts": selectors.account_security_list(user=request.user),
            "can_unlock": user_has_permission(request.user, "users.unlock"),
            "can_reset_mfa": user_has_permission(request.user, "users.manage"),
            "section": "security",
        },
    )


def _target_user(pk: int) -> User:
    user = User.objects.filter(pk=pk).first()
    if user is None:
        raise Http404
    return user


@login_required
@require_POST
def account_unlock(request: HttpRequest, pk: int) -> HttpResponse:
    if not user_has_permission(request.user, "users.unlock"):
        raise DjangoPermissionDenied
    user = _target_user(pk)
    try:
        security.account_unlock(actor=request.user, user=user)
    except CpmsError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("%(user)s can sign in again.") % {"user": user.username})
    return redirect("users:security")


@login_required
@require_POST
@require_recent_authentication
def mfa_reset(request: HttpRequest, pk: int) -> HttpResponse:
    if not user_has_permission(request.user, "users.manage"):
        raise DjangoPermissionDenied
    user = _target_user(pk)
    try:
        security.mfa_reset(actor=request.user, user=user, reason=request.POST.get("reason", ""))
    except CpmsError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("Two-factor sign-in of %(user)s is removed.") % {"user": user.username},
        )
    return redirect("users:security")
