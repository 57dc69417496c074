"""`cpms users unlock NAME` (lift a sign-in lockout, recorded as `auth.unlocked`) and
`cpms users service-account NAME --role ROLE [--branch CODE]` (a user for an integration: no
password, never an approver; its tokens come from `cpms token create --user NAME` or from an
administrator's `POST /api/v1/tokens {"user": NAME, ...}`).

`cpms users deactivate|reactivate NAME [--reason TEXT]`, `cpms users reset-password NAME`
(prints a one-time password the person must replace at the next sign-in) and
`cpms users mfa-reset NAME` call the same services as the console's staff pages, recorded as
the server operator (no actor)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cpms.access import staff as access_staff
from cpms.core.errors import CpmsError
from cpms.users import services
from cpms.users.models import Branch, User
from cpms.users.services import security


class Command(BaseCommand):
    help = (
        "Account administration: unlock, deactivate, reactivate, reset a password or two-factor; "
        "create a service account."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        unlock = actions.add_parser("unlock", help="Lift the sign-in lockout of a user.")
        unlock.add_argument("username", help="The user name to unlock.")
        service = actions.add_parser(
            "service-account", help="Create a service account for an integration."
        )
        service.add_argument("username", help="The new account's user name.")
        service.add_argument("--display-name", default="", help="What the integration is.")
        service.add_argument(
            "--role", action="append", dest="roles", default=[], help="Repeatable role code."
        )
        service.add_argument("--branch", default=None, help="Branch code (for branch scope).")
        for name, text in (
            ("deactivate", "Stop a user signing in (grants are kept)."),
            ("reactivate", "Let a deactivated user sign in again."),
            ("reset-password", "Set a one-time password, printed once, to change at sign-in."),
            ("mfa-reset", "Remove a user's two-factor authenticator and recovery codes."),
        ):
            sub = actions.add_parser(name, help=text)
            sub.add_argument("username", help="The user name.")
            sub.add_argument("--reason", default="", help="Why (kept in the audit trail).")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, "_" + options["action"].replace("-", "_"))(options)
        except CpmsError as exc:
            details = "; ".join(f"{key}: {value}" for key, value in exc.fields.items())
            raise CommandError(f"{exc.message} {details}".strip()) from exc

    def _unlock(self, options: dict[str, Any]) -> None:
        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"No user named {options['username']!r}.")
        security.account_unlock(actor=None, user=user)
        self.stdout.write(f"Unlocked {user.username}.")

    def _named(self, options: dict[str, Any]) -> User:
        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"No user named {options['username']!r}.")
        return user

    def _deactivate(self, options: dict[str, Any]) -> None:
        user = services.staff_deactivate(
            actor=None, user=self._named(options), reason=options["reason"]
        )
        self.stdout.write(f"Deactivated {user.username}.")

    def _reactivate(self, options: dict[str, Any]) -> None:
        user = services.staff_reactivate(
            actor=None, user=self._named(options), reason=options["reason"]
        )
        self.stdout.write(f"Reactivated {user.username}.")

    def _reset_password(self, options: dict[str, Any]) -> None:
        user = self._named(options)
        password = security.password_reset(actor=None, user=user, reason=options["reason"])
        self.stderr.write(
            f"One-time password for {user.username} (shown once; to be changed at sign-in):"
        )
        self.stdout.write(password)

    def _mfa_reset(self, options: dict[str, Any]) -> None:
        user = self._named(options)
        security.mfa_reset(actor=None, user=user, reason=options["reason"])
        self.stdout.write(f"Two-factor sign-in of {user.username} removed.")

    def _service_account(self, options: dict[str, Any]) -> None:
        branch = None
        if options["branch"]:
            branch = Branch.objects.filter(code=options["branch"]).first()
            if branch is None:
                raise CommandError(f"No branch with the code {options['branch']!r}.")
        user = access_staff.service_account_create(
            actor=None,
            username=options["username"],
            display_name=options["display_name"],
            roles=options["roles"],
            branch=branch,
        )
        self.stdout.write(
            f"Service account {user.username} created (roles: {', '.join(options['roles'])}). "
            f"Issue its token with: cpms token create --user {user.username} --scope AREA:write"
        )
