"""What a checker reads about a held transfer (`ledger.transfer`): the accounts by name, the
amount, each account's balance now and after approval, and the customers involved."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _

from cpms.approvals.context import ApprovalContext, BalanceChange, rows
from cpms.customers.approval_context import customer_blocks
from cpms.ledger import display
from cpms.ledger.choices import AccountKind, NormalSide
from cpms.ledger.models import Account
from cpms.ledger.selectors import balances_for


def _after(account: Account, posted: int, amount: int, *, debit: bool) -> int:
    """The posted balance (on the account's normal side) once the transfer is posted."""
    grows = (account.normal_side == NormalSide.DEBIT) == debit
    return posted + amount if grows else posted - amount


def transfer_context(payload: Mapping[str, Any], *, viewer: Any) -> ApprovalContext:
    codes = [str(payload.get("debit") or ""), str(payload.get("credit") or "")]
    accounts = {
        account.code: account
        for account in Account.objects.select_related("asset", "customer", "holding").filter(
            code__in=[code for code in codes if code]
        )
    }
    debit = accounts.get(codes[0])
    credit = accounts.get(codes[1])
    amount = payload.get("amount_minor")
    amount = amount if isinstance(amount, int) and not isinstance(amount, bool) else None
    asset = (debit or credit).asset if (debit or credit) else None
    money = (
        display.money(amount, asset)
        if asset is not None and amount is not None
        else (str(payload.get("asset") or ""))
    )
    source = display.account_label(debit) if debit else _("Unknown account")
    target = display.account_label(credit) if credit else _("Unknown account")
    title = _("Transfer %(amount)s from %(source)s to %(target)s") % {
        "amount": money,
        "source": source,
        "target": target,
    }
    warnings: list[str] = []
    balances: list[BalanceChange] = []
    known = [account for account in (debit, credit) if account is not None]
    if len(known) < 2:
        warnings.append(_("An account of this transfer no longer exists."))
    if known and amount is not None:
        totals = balances_for(known)
        for account, is_debit in ((debit, True), (credit, False)):
            if account is None:
                continue
            posted = totals[account.pk].posted
            after = _after(account, posted, amount, debit=is_debit)
            label = display.account_label(account)
            balances.append(
                BalanceChange(
                    account=label,
                    before=display.money(posted, account.asset),
                    after=display.money(after, account.asset),
                    warning=_("%(account)s would go below zero.") % {"account": label}
                    if after < 0 and account.no_negative
                    else "",
                )
            )
    customers = []
    roles = []
    for account, role in ((debit, _("Paying customer")), (credit, _("Receiving customer"))):
        if account is None or account.kind != AccountKind.CUSTOMER or not account.customer_id:
            continue
        if any(existing.pk == account.customer_id for existing in customers):
            continue
        customers.append(account.customer)
        roles.append(role)
    blocks = customer_blocks(customers, viewer=viewer, roles=roles)
    for block in blocks:
        if block.risk_code == "high":
            warnings.append(_("%(name)s is rated high risk.") % {"name": block.name})
    return ApprovalContext(
        title=title,
        amount=money,
        rows=rows(
            (_("From account"), source),
            (_("To account"), target),
            (_("Memo"), payload.get("reference") or ""),
        ),
        customers=blocks,
        balances=tuple(balances),
        warnings=tuple(warnings),
    )
