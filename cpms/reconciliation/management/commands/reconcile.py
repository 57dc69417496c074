"""`cpms reconcile accounts` and `cpms reconcile import FILE [--format mt940|camt053|csv]
[--profile NAME] [--account CODE] [--actor USERNAME]`.

Exit status of `import`: 0 imported and no statement fails to add up (one without balances is
"balance not checkable"); 3 imported but a statement does not add up (flagged, with a break);
4 imported, but a statement of the file was refused (its currency or account has no bank
account; named on stderr); 2 refused (unreadable, wrong format, unknown account, duplicate file)
with the reason, nothing written. Messages are in the active language (CPMS_LANGUAGE). Without
--actor the command acts as the system (like `cpms custody`); with it, the user needs
`ledger.reconcile`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from cpms.core.errors import CpmsError
from cpms.ledger.assets import format_minor
from cpms.reconciliation import selectors, services
from cpms.reconciliation.choices import BalanceCheck
from cpms.reconciliation.formats import FORMATS
from cpms.users.models import User

REFUSED = 2
DOES_NOT_ADD_UP = 3
PARTLY_REFUSED = 4


def _state(statement: Any) -> str:
    if statement.balance_check == BalanceCheck.ADDS_UP:
        return _("adds up")
    if statement.balance_check == BalanceCheck.NOT_CHECKABLE:
        return _("balance not checkable")
    return _("DOES NOT ADD UP")


def _reason(exc: CpmsError) -> str:
    details = [str(v) for v in exc.fields.values() if isinstance(v, str) and v != exc.message]
    details = [d for d in details if len(d) > 12]  # not bare ids or hashes
    return " ".join([exc.message, *details]).strip()


class Command(BaseCommand):
    help = "Bank reconciliation: list the client-money bank accounts, import statements."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("accounts", help="List the client-money bank accounts.")
        imp = sub.add_parser("import", help="Import a bank statement file.")
        imp.add_argument("file")
        imp.add_argument("--format", choices=FORMATS, default=None)
        imp.add_argument("--profile", default=None, help="CSV profile name.")
        imp.add_argument("--account", default=None, help="Ledger account code or id.")
        imp.add_argument("--actor", default=None, help="Act as this member of staff.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "accounts":
            self._accounts()
        else:
            self._import(options)

    def _accounts(self) -> None:
        rows = selectors.bank_account_rows(None)
        if not rows:
            self.stdout.write(_("No client-money bank account."))
        for row in rows:
            balance = format_minor(row["balance_minor"], row["exponent"])
            identifier = row["bank_account_identifier"] or "-"
            self.stdout.write(f"{row['code']}\t{row['asset']}\t{identifier}\t{balance}")

    def _import(self, options: dict[str, Any]) -> None:
        actor = None
        if options["actor"]:
            actor = User.objects.filter(username=options["actor"], is_active=True).first()
            if actor is None:
                raise CommandError(f"No active user named {options['actor']!r}.")
        path = Path(options["file"])
        if not path.is_file():
            self.stderr.write(
                _("Refused: %(reason)s") % {"reason": _("no such file: %(path)s") % {"path": path}}
            )
            raise SystemExit(REFUSED)
        try:
            result = services.statement_import(
                actor=actor,
                data=path.read_bytes(),
                filename=path.name,
                format=options["format"],
                profile=options["profile"],
                account=options["account"],
            )
        except CpmsError as exc:
            self.stderr.write(_("Refused: %(reason)s") % {"reason": _reason(exc)})
            raise SystemExit(REFUSED) from exc
        for statement in result.statements:
            self.stdout.write(
                _(
                    "statement %(pk)s %(id)s -> %(account)s (%(currency)s): %(lines)s lines, "
                    "%(state)s"
                )
                % {
                    "pk": statement.pk,
                    "id": statement.statement_id or "-",
                    "account": statement.account.code,
                    "currency": statement.currency,
                    "lines": statement.lines.count(),
                    "state": _state(statement),
                }
            )
            for problem in statement.problems:
                self.stdout.write(f"  {problem}")
        for earlier in result.already_imported:
            self.stdout.write(
                _("statement %(pk)s %(id)s -> %(account)s: imported before, left as it is")
                % {
                    "pk": earlier.pk,
                    "id": earlier.statement_id or "-",
                    "account": earlier.account.code,
                }
            )
        self.stdout.write(
            _("matched %(matches)s, breaks opened %(breaks)s")
            % {"matches": result.matches, "breaks": result.breaks}
        )
        for refused in result.refused:
            self.stderr.write(_("Not imported: %(reason)s") % {"reason": refused.reason})
        if result.refused:
            raise SystemExit(PARTLY_REFUSED)
        if result.flagged:
            raise SystemExit(DOES_NOT_ADD_UP)
