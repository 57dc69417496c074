"""`cpms customers register|kyc-verify`: the customer registry from the command line, through
the same services as the console and the API.

`--actor NAME` (required) makes the command act as that user (permission, scope, audit).
`register` takes the customer as JSON (the API's CustomerData: a file, or - for stdin); a
possible duplicate is refused unless `--confirm-possible-duplicate --reason TEXT` is given.
`kyc-verify` asks a second person to approve the customer's KYC as verified."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cpms.core.errors import CpmsError
from cpms.customers import selectors, services
from cpms.customers.errors import DuplicateIdentity, PossibleDuplicate
from cpms.customers.models import MANAGE_PERMISSION, Customer
from cpms.users.models import User

MAX_INPUT = 1024 * 1024


class Command(BaseCommand):
    help = "Register a customer or request KYC verification, as the given user."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--actor", required=True, help="Act as this user.")
        actions = parser.add_subparsers(dest="action", required=True)
        register = actions.add_parser("register", help="Register a customer from JSON.")
        register.add_argument("file", help="JSON file with the customer (- for stdin).")
        register.add_argument(
            "--confirm-possible-duplicate",
            action="store_true",
            help="Register although existing customers look like the same person.",
        )
        register.add_argument("--reason", default="", help="Why this is another person.")
        kyc = actions.add_parser("kyc-verify", help="Request KYC verification (maker-checker).")
        kyc.add_argument("customer", help="Customer number (C...).")
        kyc.add_argument("--reason", default="", help="What was checked.")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = User.objects.filter(username=options["actor"], is_active=True).first()
        if actor is None:
            raise CommandError(f"No active user named {options['actor']!r}.")
        try:
            if options["action"] == "register":
                self._register(actor, options)
            else:
                self._kyc_verify(actor, options)
        except PossibleDuplicate as exc:
            numbers = ", ".join(c.customer_number for c in exc.candidates) or "-"
            raise CommandError(
                f"{exc.message} [{exc.code}] {numbers}"
                + (f" (+{exc.elsewhere})" if exc.elsewhere else "")
            ) from exc
        except DuplicateIdentity as exc:
            raise CommandError(f"{exc.message} [{exc.code}]") from exc
        except CpmsError as exc:
            details = "; ".join(f"{key}: {value}" for key, value in exc.fields.items())
            raise CommandError(f"{exc.message} {details} [{exc.code}]".strip()) from exc

    def _register(self, actor: User, options: dict[str, Any]) -> None:
        if options["file"] == "-":
            text = sys.stdin.read(MAX_INPUT + 1)
        else:
            path = Path(options["file"])
            if not path.is_file():
                raise CommandError(f"No such file: {path}")
            if path.stat().st_size > MAX_INPUT:
                raise CommandError("The JSON file is larger than 1 MiB.")
            text = path.read_text(encoding="utf-8")
        if len(text) > MAX_INPUT:
            raise CommandError("The JSON input is larger than 1 MiB.")
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise CommandError(f"Not valid JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise CommandError("The JSON must be one object (a customer).")
        if options["confirm_possible_duplicate"]:
            data["confirm_possible_duplicate"] = True
            data["duplicate_reason"] = options["reason"]
        customer = services.customer_register(actor=actor, data=data)
        self.stdout.write(f"{customer.customer_number} {customer.legal_name}")

    def _kyc_verify(self, actor: User, options: dict[str, Any]) -> None:
        found = (
            selectors.customer_list(user=actor, permission=MANAGE_PERMISSION)
            .filter(customer_number=options["customer"].strip().upper())
            .first()
        )
        if found is None:
            raise CommandError("No customer with this number in your scope.")
        outcome = services.kyc_verify_request(actor=actor, customer=found, reason=options["reason"])
        if isinstance(outcome, Customer):
            self.stdout.write(f"{found.customer_number}: KYC verified")
        else:
            self.stdout.write(
                f"{found.customer_number}: KYC verification requested "
                f"(approval request #{outcome.pk})"
            )
