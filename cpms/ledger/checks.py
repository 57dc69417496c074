"""The ledger's invariants, verified from the stored rows (`cpms ledger check`):

1. per asset, all debits equal all credits (posted, and pending);
2. every balance shard equals the sum of the transfers that name it;
3. no account flagged no-negative is below zero (available balance);
4. links are sound: a resolution matches its hold, a reversal mirrors its original.

Each failure is one readable line naming the account, asset or transfer."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, F, Sum

from cpms.ledger.choices import NormalSide, TransferKind
from cpms.ledger.models import Account, Asset, Balance, Transfer

POSTED = (TransferKind.POSTED, TransferKind.POST_PENDING)


@dataclass
class CheckResult:
    accounts: int = 0
    transfers: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _sums(kinds: tuple[str, ...], side: str) -> dict[tuple[int, int], int]:
    rows = (
        Transfer.objects.filter(kind__in=kinds)
        .values(f"{side}_account_id", f"{side}_shard")
        .annotate(total=Sum("amount"))
    )
    return {(row[f"{side}_account_id"], row[f"{side}_shard"]): row["total"] for row in rows}


def _open_holds(side: str) -> dict[tuple[int, int], int]:
    rows = (
        Transfer.objects.filter(kind=TransferKind.PENDING, resolution__isnull=True)
        .values(f"{side}_account_id", f"{side}_shard")
        .annotate(total=Sum("amount"))
    )
    return {(row[f"{side}_account_id"], row[f"{side}_shard"]): row["total"] for row in rows}


def ledger_check() -> CheckResult:
    """Verify every invariant; the problems come in the order of the module docstring."""
    result = CheckResult()
    codes = dict(Account.objects.values_list("pk", "code"))
    result.accounts = len(codes)
    result.transfers = Transfer.objects.count()
    result.problems += _asset_problems()
    shard_problems, available = _shard_problems(codes)
    result.problems += shard_problems
    result.problems += _negative_problems(codes, available)
    result.problems += _link_problems()
    return result


def _asset_problems() -> list[str]:
    """1. Per asset, posted debits equal posted credits and pending debits pending credits."""
    assets = dict(Asset.objects.values_list("pk", "code"))
    per_asset = (
        Balance.objects.values("account__asset_id")
        .annotate(
            dp=Sum("debits_posted"),
            cp=Sum("credits_posted"),
            dh=Sum("debits_pending"),
            ch=Sum("credits_pending"),
        )
        .order_by("account__asset_id")
    )
    problems = []
    for row in per_asset:
        code = assets.get(row["account__asset_id"], "?")
        if row["dp"] != row["cp"]:
            problems.append(
                f"asset {code}: posted debits {row['dp']} != posted credits {row['cp']}"
            )
        if row["dh"] != row["ch"]:
            problems.append(
                f"asset {code}: pending debits {row['dh']} != pending credits {row['ch']}"
            )
    return problems


def _shard_problems(codes: dict[int, str]) -> tuple[list[str], dict[int, int]]:
    """2. Each balance shard equals the sum of the transfers that name it, and every shard a
    transfer names exists. Also answers the available balance of each no-negative account
    (summed over its shards) for the next check."""
    expected = {
        "debits_posted": _sums(POSTED, "debit"),
        "credits_posted": _sums(POSTED, "credit"),
        "debits_pending": _open_holds("debit"),
        "credits_pending": _open_holds("credit"),
    }
    problems = []
    seen: set[tuple[int, int]] = set()
    balance_rows = Balance.objects.values_list(
        "account_id",
        "shard",
        "normal_side",
        "no_negative",
        "debits_posted",
        "credits_posted",
        "debits_pending",
        "credits_pending",
    )
    available: dict[int, int] = {}
    for account_id, shard, side, no_negative, dp, cp, dh, ch in balance_rows.iterator():
        pair = (account_id, shard)
        seen.add(pair)
        stored = {
            "debits_posted": dp,
            "credits_posted": cp,
            "debits_pending": dh,
            "credits_pending": ch,
        }
        for name, values in expected.items():
            want = values.get(pair, 0)
            if stored[name] != want:
                problems.append(
                    f"account {codes.get(account_id, account_id)} shard {shard}: {name} is "
                    f"{stored[name]} but its transfers sum to {want}"
                )
        if no_negative:
            left = (cp - dp - dh) if side == NormalSide.CREDIT else (dp - cp - ch)
            available[account_id] = available.get(account_id, 0) + left
    for values in expected.values():
        for pair in values:
            if pair not in seen:
                problems.append(
                    f"account {codes.get(pair[0], pair[0])} shard {pair[1]}: transfers name a "
                    "balance shard that does not exist"
                )
    return problems, available


def _negative_problems(codes: dict[int, str], available: dict[int, int]) -> list[str]:
    """3. No account flagged no-negative is below zero (available balance)."""
    return [
        f"account {codes.get(account_id, account_id)}: available balance "
        f"{available[account_id]} is below zero"
        for account_id in sorted(available)
        if available[account_id] < 0
    ]


def _link_problems() -> list[str]:
    """4. A resolution matches its hold, a reversal mirrors its original, and no transfer is
    reversed twice (at most 100 lines of each)."""
    problems = []
    bad_resolutions = Transfer.objects.filter(pending__isnull=False).exclude(
        pending__kind=TransferKind.PENDING,
        debit_account_id=F("pending__debit_account_id"),
        credit_account_id=F("pending__credit_account_id"),
        amount=F("pending__amount"),
    )
    for pk in bad_resolutions.values_list("pk", flat=True)[:100]:
        problems.append(f"transfer #{pk}: does not match the hold it resolves")
    bad_reversals = Transfer.objects.filter(reverses__isnull=False).exclude(
        debit_account_id=F("reverses__credit_account_id"),
        credit_account_id=F("reverses__debit_account_id"),
        amount=F("reverses__amount"),
    )
    for pk in bad_reversals.values_list("pk", flat=True)[:100]:
        problems.append(f"transfer #{pk}: does not mirror the transfer it reverses")
    doubled = (
        Transfer.objects.filter(reverses__isnull=False)
        .values("reverses_id")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
    )
    for row in doubled[:100]:
        problems.append(f"transfer #{row['reverses_id']}: reversed more than once")
    return problems
