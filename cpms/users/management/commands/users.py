"""`cpms users unlock NAME`: lift a sign-in lockout (recorded as `auth.unlocked`)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cpms.core.errors import CpmsError
from cpms.users import security
from cpms.users.models import User


class Command(BaseCommand):
    help = "Account administration: unlock a locked account."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        unlock = actions.add_parser("unlock", help="Lift the sign-in lockout of a user.")
        unlock.add_argument("username", help="The user name to unlock.")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"No user named {options['username']!r}.")
        try:
            security.account_unlock(actor=None, user=user)
        except CpmsError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"Unlocked {user.username}.")
