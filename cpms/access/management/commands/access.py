"""`cpms access roles|grants|grant|revoke`: the access layer from the command line.

`--actor NAME` makes the command act as that user (with that user's permissions and audit
identity); without it the command acts as the operating-system account (audited as CLI)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cpms.access import selectors, services
from cpms.access.models import Grant, Role
from cpms.core.errors import CpmsError
from cpms.users.models import Branch, User


class Command(BaseCommand):
    help = "List roles and grants; grant or revoke roles."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--actor", default=None, help="Act as this user.")
        actions = parser.add_subparsers(dest="action", required=True)
        actions.add_parser("roles", help="List roles and their permissions.")
        grants = actions.add_parser("grants", help="List active grants.")
        grants.add_argument("--user", default=None)
        grant = actions.add_parser("grant", help="Grant a role.")
        grant.add_argument("--user", required=True)
        grant.add_argument("--role", required=True)
        grant.add_argument("--scope", default=None, choices=["all", "branch", "assigned", "self"])
        grant.add_argument("--branch", default=None, help="Branch code for branch scope.")
        grant.add_argument("--reason", required=True)
        revoke = actions.add_parser("revoke", help="Revoke a grant by id.")
        revoke.add_argument("grant_id", type=int)
        revoke.add_argument("--reason", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        actor = None
        if options["actor"]:
            actor = User.objects.filter(username=options["actor"], is_active=True).first()
            if actor is None:
                raise CommandError(f"No active user named {options['actor']!r}.")
        try:
            getattr(self, f"_{options['action']}")(actor, options)
        except CpmsError as exc:
            details = "; ".join(f"{key}: {value}" for key, value in exc.fields.items())
            raise CommandError(f"{exc.message} {details}".strip()) from exc

    def _roles(self, actor: User | None, options: dict[str, Any]) -> None:
        roles = selectors.role_list(user=actor) if actor else Role.objects.all()
        for role in roles.order_by("code").prefetch_related("permissions"):
            codes = ", ".join(sorted(p.code for p in role.permissions.all())) or "-"
            state = "" if role.is_active else " (inactive)"
            self.stdout.write(f"{role.code:<22} {role.display_name}{state}: {codes}")

    def _grants(self, actor: User | None, options: dict[str, Any]) -> None:
        grants = (
            selectors.grant_list(user=actor)
            if actor
            else Grant.objects.filter(revoked_at__isnull=True).select_related(
                "user", "role", "branch"
            )
        )
        if options["user"]:
            grants = grants.filter(user__username=options["user"])
        for grant in grants.order_by("user__username", "pk"):
            branch = f" {grant.branch.code}" if grant.branch_id else ""
            self.stdout.write(
                f"{grant.pk:>6} {grant.user.username:<16} {grant.role.code:<22} "
                f"{grant.scope}{branch}"
            )

    def _grant(self, actor: User | None, options: dict[str, Any]) -> None:
        if actor:
            user = selectors.staff_get_by_username(user=actor, username=options["user"])
        else:
            user = User.objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"No user named {options['user']!r}.")
        branch = None
        if options["branch"]:
            branch = Branch.objects.filter(code=options["branch"]).first()
            if branch is None:
                raise CommandError(f"No branch with code {options['branch']!r}.")
        grant_with = services.grant_request if actor else services.grant_create
        outcome = grant_with(
            actor=actor,
            user=user,
            role=services.role_get(options["role"]),
            scope=options["scope"],
            branch=branch,
            reason=options["reason"],
        )
        if not isinstance(outcome, Grant):
            self.stdout.write(f"Submitted for approval: request #{outcome.pk}")
            return
        self.stdout.write(
            f"Granted {outcome.role.code} ({outcome.scope}) to {user.username}: #{outcome.pk}"
        )

    def _revoke(self, actor: User | None, options: dict[str, Any]) -> None:
        grants = selectors.grant_list(user=actor) if actor else Grant.objects.all()
        grant = grants.filter(pk=options["grant_id"], revoked_at__isnull=True).first()
        if grant is None:
            raise CommandError(f"No active grant #{options['grant_id']}.")
        services.grant_revoke(actor=actor, grant=grant, reason=options["reason"])
        self.stdout.write(f"Revoked grant #{grant.pk}.")
