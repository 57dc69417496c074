"""`cpms ledger check|post|export|trial-balance|close|expire-holds|accounts|open-account`.

Exit status: 0 on success; `check` exits 1 when an invariant fails (one line per problem);
`post` exits 2 when the file is refused (one line per row and field, nothing written); other
refusals exit 1 with the reason."""

from __future__ import annotations

import datetime
from collections import defaultdict
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from cpms.core.errors import CpmsError, NotFound
from cpms.ledger import selectors, services
from cpms.ledger.assets import format_minor
from cpms.ledger.choices import AccountPurpose
from cpms.ledger.export import FORMATS, journal_export
from cpms.ledger.models import Account
from cpms.ledger.transfer_files import TRANSFER_FIELDS, TransferFileRefused, transfer_file_read

REFUSED = 2


def _date(text: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError as exc:
        raise CommandError(_("%(text)r is not a date (YYYY-MM-DD).") % {"text": text}) from exc


def _error_lines(exc: CpmsError) -> list[str]:
    if not exc.fields:
        return [f"[{exc.code}] {exc.message}"]
    return [f"[{exc.code}] {key}: {value}" for key, value in exc.fields.items()]


class Command(BaseCommand):
    help = "Check, post to, export and close the double-entry ledger."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        check = actions.add_parser(
            "check", help="Verify the invariants; exit 1 with one line per problem."
        )
        check.add_argument("--actor", default=None, help="Record the check as this user.")

        post = actions.add_parser(
            "post",
            help="Post a CSV or JSON-lines file of transfers all-or-nothing.",
            description=(
                "Columns/keys: "
                + ", ".join(TRANSFER_FIELDS)
                + ". amount_minor is in integer minor units. A file above 8,190 rows is posted "
                "in consecutive batches inside one transaction: all rows or none."
            ),
        )
        post.add_argument("file", help="A .csv (header row) or .jsonl file.")
        post.add_argument("--actor", required=True, help="Post as this member of staff.")
        post.add_argument("--dry-run", action="store_true", help="Validate; write nothing.")
        post.add_argument("--reason", default="", help="Shown to approvers of held transfers.")
        post.add_argument("--format", choices=["csv", "jsonl"], default=None)

        export = actions.add_parser("export", help="Write a ledger/hledger or beancount journal.")
        export.add_argument("--format", choices=FORMATS, required=True)
        export.add_argument("--output", required=True, help="The journal file to write.")
        export.add_argument("--through", type=_date, default=None, help="Last value date.")
        export.add_argument("--actor", required=True, help="Export as this user.")

        trial = actions.add_parser("trial-balance", help="Posted debits and credits per account.")
        trial.add_argument("--actor", default=None, help="Only accounts this user may see.")
        trial.add_argument("--asset", default=None, help="Only this asset.")

        close = actions.add_parser("close", help="Close the books through a date.")
        close.add_argument("--through", type=_date, required=True)
        close.add_argument("--reason", required=True)
        close.add_argument("--actor", required=True)

        actions.add_parser("expire-holds", help="Void holds past their expiry.")

        accounts = actions.add_parser("accounts", help="List accounts with their balances.")
        accounts.add_argument("--actor", default=None, help="Only accounts this user may see.")
        accounts.add_argument("--asset", default=None)
        accounts.add_argument("--purpose", default=None)
        accounts.add_argument("--limit", type=int, default=200)

        opening = actions.add_parser(
            "open-account",
            help="Open an account (e.g. a client-money bank account in a new currency).",
        )
        opening.add_argument("--purpose", required=True, choices=AccountPurpose.values)
        opening.add_argument("--asset", required=True, help="ISO 4217 code, PTS or U:<code>.")
        opening.add_argument("--customer", default=None, help="Customer number (C...).")
        opening.add_argument("--holding", default=None, help="Property number (P...).")
        opening.add_argument("--code", default="", help="Own code of an internal account.")
        opening.add_argument("--name", default="")
        opening.add_argument("--bank-account-identifier", default="", help="IBAN or number.")
        opening.add_argument("--actor", required=True, help="Open as this member of staff.")
        opening.add_argument("--dry-run", action="store_true", help="Validate; write nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        method = getattr(self, "_" + options["action"].replace("-", "_"))
        try:
            method(options)
        except CpmsError as exc:
            raise CommandError("; ".join(_error_lines(exc))) from exc

    def _user(self, username: str | None) -> Any:
        if not username:
            return None
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(_("No active user named %(name)r.") % {"name": username})
        return user

    # ------------------------------------------------------------------ check

    def _check(self, options: dict[str, Any]) -> None:
        result = services.ledger_check_record(actor=self._user(options["actor"]))
        if result.ok:
            self.stdout.write(
                _("OK: %(accounts)s accounts, %(transfers)s transfers; every invariant holds.")
                % {"accounts": result.accounts, "transfers": result.transfers}
            )
            return
        for problem in result.problems:
            self.stdout.write(problem)
        raise CommandError(
            _("%(count)s problem(s) found.") % {"count": len(result.problems)}, returncode=1
        )

    # ------------------------------------------------------------------ post

    def _post(self, options: dict[str, Any]) -> None:
        actor = self._user(options["actor"])
        try:
            rows = transfer_file_read(Path(options["file"]), options["format"])
            result = services.transfer_file_post(
                actor=actor, rows=rows, reason=options["reason"], dry_run=options["dry_run"]
            )
        except TransferFileRefused as exc:
            for problem in exc.problems:
                self.stderr.write(problem)
            raise CommandError(exc.message, returncode=REFUSED) from exc
        if result.dry_run:
            self.stdout.write(
                _(
                    "Dry run: %(count)s transfer(s) in %(batches)s batch(es) would post; "
                    "nothing was written."
                )
                % {"count": result.count, "batches": result.batches}
            )
            return
        self.stdout.write(
            _(
                "Posted %(posted)s transfer(s) in %(batches)s batch(es); %(held)s held for "
                "approval; %(replayed)s replayed (already posted)."
            )
            % {
                "posted": result.posted,
                "batches": result.batches,
                "held": result.held,
                "replayed": result.replayed,
            }
        )

    # ------------------------------------------------------------------ export

    def _export(self, options: dict[str, Any]) -> None:
        actor = self._user(options["actor"])
        path = Path(options["output"])
        partial = path.with_name(path.name + ".partial")
        try:
            with partial.open("w", encoding="utf-8", newline="\n") as stream:
                result = journal_export(
                    actor=actor, stream=stream, fmt=options["format"], through=options["through"]
                )
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        partial.replace(path)
        self.stdout.write(
            f"Wrote {result.transfers} transfer(s) over {result.accounts} account(s) to {path} "
            f"({result.format}, sha256 {result.sha256})."
        )

    # ------------------------------------------------------------------ reports

    def _trial_balance(self, options: dict[str, Any]) -> None:
        user = self._user(options["actor"])
        rows = selectors.trial_balance(user)
        asset = (options["asset"] or "").upper()
        if asset:
            rows = [row for row in rows if row.asset == asset]
        self.stdout.write(
            f"{'asset':<14} {'account':<40} {'debits':>22} {'credits':>22} {'net':>22}"
        )
        totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        for row in rows:
            exp = row.exponent
            self.stdout.write(
                f"{row.asset:<14} {row.code:<40} {format_minor(row.debits, exp):>22} "
                f"{format_minor(row.credits, exp):>22} {format_minor(row.net_debit, exp):>22}"
            )
            total = totals[row.asset]
            total[0] += row.debits
            total[1] += row.credits
            total[2] = exp
        for code, (debits, credits, exp) in sorted(totals.items()):
            mark = "balanced" if debits == credits else "NOT BALANCED"
            self.stdout.write(
                f"{code:<14} {'TOTAL':<40} {format_minor(debits, exp):>22} "
                f"{format_minor(credits, exp):>22} {format_minor(debits - credits, exp):>22} "
                f"{mark}"
            )

    def _accounts(self, options: dict[str, Any]) -> None:
        user = self._user(options["actor"])
        filters = {"asset": options["asset"], "purpose": options["purpose"]}
        if user is not None:
            query = selectors.account_list(user, filters=filters)
        else:
            query = Account.objects.select_related("asset").order_by("pk")
            if filters["asset"]:
                query = query.filter(asset__code=filters["asset"].upper())
            if filters["purpose"]:
                query = query.filter(purpose=filters["purpose"])
        accounts = list(query[: max(1, options["limit"])])
        balances = selectors.balances_for(accounts)
        self.stdout.write(
            f"{'id':>6} {'code':<40} {'purpose':<16} {'asset':<14} {'status':<7} "
            f"{'posted':>20} {'available':>20}"
        )
        for account in accounts:
            balance = balances[account.pk]
            exp = account.asset.exponent
            self.stdout.write(
                f"{account.pk:>6} {account.code:<40} {account.purpose:<16} "
                f"{account.asset.code:<14} {account.status:<7} "
                f"{format_minor(balance.posted, exp):>20} "
                f"{format_minor(balance.available, exp):>20}"
            )

    # ------------------------------------------------------------------ writes

    def _close(self, options: dict[str, Any]) -> None:
        actor = self._user(options["actor"])
        close = services.period_close(
            actor=actor, through=options["through"], reason=options["reason"]
        )
        self.stdout.write(
            _("The books are closed through %(date)s.") % {"date": close.through.isoformat()}
        )

    def _open_account(self, options: dict[str, Any]) -> None:
        """Names a person knows (customer and property numbers) to the ids the service takes."""
        actor = self._user(options["actor"])
        customer_id = holding_id = None
        if options["customer"]:
            customer_id = selectors.customer_id_by_number(options["customer"])
            if customer_id is None:
                raise CommandError(
                    _("No customer has the number %(number)r.") % {"number": options["customer"]}
                )
        if options["holding"]:
            holding_id = selectors.holding_id_by_number(options["holding"])
            if holding_id is None:
                raise CommandError(
                    _("No property item has the number %(number)r.")
                    % {"number": options["holding"]}
                )
        try:
            account = services.account_open(
                actor=actor,
                purpose=options["purpose"],
                asset=options["asset"],
                customer_id=customer_id,
                holding_id=holding_id,
                name=options["name"],
                bank_account_identifier=options["bank_account_identifier"],
                code=options["code"],
                dry_run=options["dry_run"],
            )
        except NotFound as exc:  # out of scope looks like missing
            if customer_id is None or "customer_id" not in exc.fields:
                raise
            raise CommandError(
                _("No customer has the number %(number)r.") % {"number": options["customer"]}
            ) from exc
        label = f"{account.get_purpose_display()}, {account.asset.code}"
        if options["dry_run"]:
            self.stdout.write(
                _("Dry run: account %(code)s (%(label)s) would be opened; nothing was written.")
                % {"code": account.code, "label": label}
            )
            return
        identifier = account.bank_account_identifier
        suffix = _(", bank account identifier %(id)s") % {"id": identifier} if identifier else ""
        self.stdout.write(
            _("Opened account %(code)s (id %(id)s): %(label)s%(suffix)s.")
            % {"code": account.code, "id": account.pk, "label": label, "suffix": suffix}
        )

    def _expire_holds(self, options: dict[str, Any]) -> None:
        count = services.holds_expire(actor=None)
        self.stdout.write(_("Voided %(count)s expired hold(s).") % {"count": count})
