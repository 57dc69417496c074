"""`cpms token create|list|revoke`: API tokens. The token is printed once; only its hash is kept."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cpms.core.errors import CpmsError
from cpms.users import selectors, services
from cpms.users.models import User


class Command(BaseCommand):
    help = "Create, list or revoke API tokens."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="Create a token and print it once.")
        create.add_argument("--user", required=True, help="User name the token acts as.")
        create.add_argument("--expires-days", type=int, default=None, help="Lifetime in days.")
        create.add_argument("--name", default="", help="What the token is for.")
        create.add_argument(
            "--scope",
            action="append",
            dest="scopes",
            default=None,
            metavar="AREA:read|write",
            help="Repeatable; AREA is an access area or *; write implies read. Default *:read.",
        )
        listing = actions.add_parser("list", help="List tokens (never the secret).")
        listing.add_argument("--user", default=None, help="Only this user's tokens.")
        revoke = actions.add_parser("revoke", help="Revoke a token by its prefix.")
        revoke.add_argument("prefix", help="The 8-character prefix shown by `token list`.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, f"_{options['action']}")(options)
        except CpmsError as exc:
            details = "; ".join(f"{key}: {value}" for key, value in exc.fields.items())
            raise CommandError(f"{exc.message} {details}".strip()) from exc

    def _user(self, username: str) -> User:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        return user

    def _create(self, options: dict[str, Any]) -> None:
        issued = services.token_create(
            actor=None,
            user=self._user(options["user"]),
            name=options["name"],
            expires_days=options["expires_days"],
            scopes=options["scopes"],
        )
        expiry = issued.record.expires_at.isoformat() if issued.record.expires_at else "never"
        self.stderr.write(
            f"Token {issued.record.prefix} for {issued.record.user.username}, expires {expiry}, "
            f"scopes {' '.join(issued.record.scopes)}. "
            "Store it now: it is not shown again."
        )
        self.stdout.write(issued.token)

    def _list(self, options: dict[str, Any]) -> None:
        user = self._user(options["user"]) if options["user"] else None
        self.stdout.write(
            f"{'prefix':<10} {'user':<16} {'state':<8} {'expires':<25} {'last used':<25} scopes"
        )
        for token in selectors.token_list(user=user):
            state = (
                "revoked" if token.revoked_at else ("active" if token.is_usable() else "expired")
            )
            expires = token.expires_at.isoformat(timespec="seconds") if token.expires_at else "-"
            used = token.last_used_at.isoformat(timespec="seconds") if token.last_used_at else "-"
            self.stdout.write(
                f"{token.prefix:<10} {token.user.username:<16} {state:<8} {expires:<25} {used:<25} "
                f"{' '.join(token.scopes)}"
            )

    def _revoke(self, options: dict[str, Any]) -> None:
        token = services.token_revoke(actor=None, prefix=options["prefix"])
        self.stdout.write(f"Revoked {token.prefix} ({token.user.username}).")
