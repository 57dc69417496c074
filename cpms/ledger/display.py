"""How the ledger shows itself to people: an account by its customer, purpose and asset
("张三 · Customer money · CNY") instead of its code, amounts with separators and the asset,
system memos (loans, points, portfolio trades, reversals) rendered from the transfer's structured
metadata in the reader's language, and the metadata as label/value rows (internal keys hidden).

The stored `reference` stays as written (API clients and exports read it); only what the console
shows is translated here."""

from __future__ import annotations

import re
from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cpms.core.money import format_minor
from cpms.ledger.choices import AccountKind, AccountPurpose

SEP = " · "


def account_label(account: Any) -> str:
    """ "张三 · Customer money · CNY" for a customer account (the property item's number is
    added when the account records one), "Client-money bank account · CNY" for an internal
    account. Needs `customer`, `holding` and `asset` loaded (select_related) to stay cheap."""
    if account is None:
        return ""
    asset = account.asset.code
    if account.kind == AccountKind.CUSTOMER and account.customer_id:
        parts = [account.customer.legal_name, str(account.get_purpose_display())]
        if account.holding_id:
            parts.append(account.holding.holding_number)
        parts.append(asset)
        return SEP.join(parts)
    label = str(account.get_purpose_display())
    # an internal account given its own name (a second bank account, say) keeps it
    default_names = {f"{label} {asset}"}
    name = (account.name or "").strip()
    if name and name not in default_names and not _is_default_name(account):
        return SEP.join([name, asset])
    return SEP.join([label, asset])


def _is_default_name(account: Any) -> bool:
    """The name the ledger gave the account when it opened it ("<purpose label> <asset>", in
    whatever language was active then)."""
    try:
        purpose = AccountPurpose(account.purpose)
    except ValueError:
        return False
    names = set()
    for language in ("en", "zh-hans"):
        with translation.override(language):
            names.add(f"{purpose.label} {account.asset.code}")
    return (account.name or "").strip() in names


def account_detail(account: Any) -> str:
    """The second line of a picker option: customer number (and branch), or "Internal"."""
    if account is None:
        return ""
    if account.kind == AccountKind.CUSTOMER and account.customer_id:
        return account.customer.customer_number
    return _("Internal account")


def money(amount: int | None, asset: Any, *, code: bool = True) -> str:
    """Minor units of a ledger asset as "1,250.50 CNY" (the asset's own decimals: points are
    whole, fund units have 4)."""
    if amount is None:
        return ""
    return format_minor(int(amount), asset.code, places=asset.exponent, code=code)


# ------------------------------------------------------------------------ memos

_LOAN_PARTS = {
    "interest": gettext_lazy("interest"),
    "principal": gettext_lazy("principal"),
    "fee": gettext_lazy("early-repayment fee"),
}
_REPAYMENT_NUMBER = re.compile(r"repayment (\d+)")
_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})")


def _after(prefix: str, text: str) -> str:
    return text[len(prefix) :].strip() if text.startswith(prefix) else text


def memo(transfer: Any) -> str:
    """The transfer's memo in the reader's language. Memos the system wrote (loan servicing,
    points, portfolio trades, reversals) are rendered from the metadata the writer stored;
    a memo a person typed is shown as typed."""
    meta = transfer.metadata if isinstance(transfer.metadata, dict) else {}
    reference = transfer.reference or ""
    try:
        text = _system_memo(meta, reference, transfer)
    except (KeyError, TypeError, ValueError):
        text = None
    return text if text is not None else reference


def _system_memo(meta: dict[str, Any], reference: str, transfer: Any) -> str | None:
    event = meta.get("event")
    if "loan" in meta and event in ("disburse", "accrue", "repay", "early_repay"):
        loan = str(meta.get("loan_number") or reference.split(" ", 1)[0])
        if event == "disburse":
            return _("Loan %(loan)s disbursement") % {"loan": loan}
        if event == "accrue":
            through = meta.get("through")
            if not through:
                found = _DATE.search(reference)
                through = found.group(1) if found else ""
            return _("Loan %(loan)s interest accrued through %(date)s") % {
                "loan": loan,
                "date": through,
            }
        number = meta.get("sequence")
        if number is None:
            found = _REPAYMENT_NUMBER.search(reference)
            number = found.group(1) if found else ""
        part = _LOAN_PARTS.get(str(meta.get("part")), "")
        if event == "early_repay":
            message = _("Loan %(loan)s early repayment %(n)s: %(part)s")
        else:
            message = _("Loan %(loan)s repayment %(n)s: %(part)s")
        return message % {"loan": loan, "n": number, "part": part}
    points = meta.get("points_event")
    if points == "earn":
        return _("Points earned for purchase %(ref)s") % {"ref": _after("Points earned", reference)}
    if points == "reverse":
        return _("Points taken back for return of %(ref)s") % {
            "ref": _after("Points reversed", reference)
        }
    if points == "expire":
        return _("Points expired (lot %(lot)s)") % {"lot": meta.get("lot", "")}
    if points == "adjust" and reference == "Points adjustment":
        return _("Points adjustment")
    if points == "redeem" and reference == "Points redeemed":
        return _("Points redeemed")
    if meta.get("trade_key") and meta.get("side") in ("buy", "sell"):
        rest = reference.split(" ", 1)[1] if " " in reference else ""
        if meta["side"] == "buy":
            return _("Buy %(what)s") % {"what": rest}
        return _("Sell %(what)s") % {"what": rest}
    if meta.get("reverses") and getattr(transfer, "reverses_id", None):
        original = _after("REV", reference)
        if original == f"#{transfer.reverses_id}" or not original:
            return _("Reversal of transfer #%(id)s") % {"id": transfer.reverses_id}
        return _("Reversal: %(memo)s") % {"memo": original}
    return None


# ------------------------------------------------------------------------ metadata rows

# keys that are the machinery's, never shown (keys of idempotency, trade keys, internal ids
# already shown elsewhere on the page)
_HIDDEN = frozenset(
    {
        "idempotency_key",
        "trade_key",
        "key",
        "reverses",
        "demo",
        "loan",
        "holding",
        "purchase",
        "return",
        "lot",
        "approval_request",
        "batch",
    }
)
_LABELS = {
    "event": gettext_lazy("Event"),
    "kind": gettext_lazy("Kind"),
    "part": gettext_lazy("Part"),
    "days": gettext_lazy("Days of interest"),
    "fee_bps": gettext_lazy("Fee (basis points)"),
    "reason": gettext_lazy("Reason"),
    "side": gettext_lazy("Side"),
    "loan_number": gettext_lazy("Loan"),
    "sequence": gettext_lazy("Repayment number"),
    "through": gettext_lazy("Through"),
    "points_event": gettext_lazy("Points event"),
    "reference": gettext_lazy("Reference"),
    "source": gettext_lazy("Source"),
    "channel": gettext_lazy("Channel"),
}
_VALUES = {
    "disburse": gettext_lazy("Disbursement"),
    "accrue": gettext_lazy("Interest accrual"),
    "repay": gettext_lazy("Repayment"),
    "early_repay": gettext_lazy("Early repayment"),
    "buy": gettext_lazy("Buy"),
    "sell": gettext_lazy("Sell"),
    "earn": gettext_lazy("Earned"),
    "redeem": gettext_lazy("Redeemed"),
    "expire": gettext_lazy("Expired"),
    "adjust": gettext_lazy("Adjusted"),
    "reverse": gettext_lazy("Reversed (return)"),
    "interest": gettext_lazy("interest"),
    "principal": gettext_lazy("principal"),
    "fee": gettext_lazy("early-repayment fee"),
}
_SECRET = re.compile(r"(key|token|secret|password|hash|digest)", re.IGNORECASE)


def _value_text(value: Any) -> str | None:
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, int | float):
        return f"{value:,}" if isinstance(value, int) else str(value)
    if isinstance(value, str):
        return str(_VALUES.get(value, value))
    return None  # lists and dicts are the machinery's: not shown


def metadata_rows(metadata: Any) -> list[tuple[str, str]]:
    """(label, value) rows of a transfer's metadata for people: known keys with translated
    labels and values, other plain keys as they are (words, not underscores); internal keys,
    anything that looks like a key or token, and nested structures are left out."""
    if not isinstance(metadata, dict):
        return []
    rows = []
    for key, value in metadata.items():
        name = str(key)
        if name in _HIDDEN or name.startswith("_") or _SECRET.search(name):
            continue
        text = _value_text(value)
        if text in (None, ""):
            continue
        label = _LABELS.get(name)
        rows.append((str(label) if label else name.replace("_", " ").capitalize(), text))
    return rows
