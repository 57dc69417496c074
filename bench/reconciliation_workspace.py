"""The reconciliation workspace with 10,000 open items on each side (plus matched history):
a page of open statement lines and of open transfers (first page, last page, filtered), the
suggestions of a selected line, the suggestions of a page of lines, and the whole workspace
page through the console view; each figure next to a plain indexed SELECT of the same page of
rows measured in the same run (the ratio is what to compare between machines).

    .venv/bin/python bench/reconciliation_workspace.py [--open N] [--matched M] [--repeat R]
"""

from __future__ import annotations

import argparse
import datetime
import statistics
import uuid

from _django import setup, timed

START = datetime.date(2024, 1, 1)


def _load(open_items: int, matched: int):
    from django.db import transaction

    from cpms.ledger import services as ledger
    from cpms.ledger.choices import AccountPurpose, TransferKind
    from cpms.ledger.models import Transfer
    from cpms.reconciliation.choices import BalanceCheck, MatchHow
    from cpms.reconciliation.models import BankStatement, BankStatementLine, Match

    with transaction.atomic():
        bank = ledger.internal_account(asset_code="CNY", purpose=AccountPurpose.CLIENT_BANK)
        other = ledger.internal_account(asset_code="CNY", purpose=AccountPurpose.SETTLEMENT)
    total = open_items + matched
    statements = [
        BankStatement.objects.create(
            account=bank,
            format="mt940",
            statement_id=f"BENCH-{n}",
            currency="CNY",
            file_sha256=uuid.uuid4().hex,
            balance_check=BalanceCheck.NOT_CHECKABLE,
        )
        for n in range(max(1, total // 1000))
    ]
    lines = BankStatementLine.objects.bulk_create(
        (
            BankStatementLine(
                statement=statements[i % len(statements)],
                index=i,
                booking_date=START + datetime.timedelta(days=i % 700),
                amount_minor=(10_000 + i) * (1 if i % 3 else -1),
                currency="CNY",
                reference=f"INV-{i:06d}",
                description=f"payment INV-{i:06d}",
                counterparty="华夏贸易有限公司",
            )
            for i in range(total)
        ),
        batch_size=2000,
    )
    # transfers: the same amounts shifted by a day (so every line has a suggestion), in random
    # reference order to the lines
    transfers = Transfer.objects.bulk_create(
        (
            Transfer(
                idempotency_key=f"bench:{i}",
                kind=TransferKind.POSTED,
                debit_account=bank if i % 3 else other,
                credit_account=other if i % 3 else bank,
                asset=bank.asset,
                amount=10_000 + i,
                reference=f"INV-{i:06d}",
                value_date=START + datetime.timedelta(days=i % 700 + 1),
            )
            for i in range(total)
        ),
        batch_size=2000,
    )
    Match.objects.bulk_create(
        (
            Match(line=lines[i], transfer=transfers[i], how=MatchHow.AUTO)
            for i in range(open_items, total)
        ),
        batch_size=2000,
    )
    return bank, lines[:open_items]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--open", type=int, default=10_000, dest="open_items")
    parser.add_argument("--matched", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    setup()

    from django.test import Client

    from cpms.access import staff as access_staff
    from cpms.ledger.models import Transfer
    from cpms.reconciliation import selectors
    from cpms.reconciliation.models import BankStatementLine
    from cpms.reconciliation.selectors import WORKSPACE_PAGE_SIZE, SideFilter
    from cpms.users import services as user_services
    from cpms.users.choices import Role

    bank, open_lines = _load(args.open_items, args.matched)
    size = WORKSPACE_PAGE_SIZE
    last = -(-args.open_items // size)
    print(
        f"{args.open_items:,} open lines and transfers, {args.matched:,} matched pairs, "
        f"page size {size}, {args.repeat} runs each"
    )

    def plain_lines(page: int):
        # the baseline: the same page of lines by an indexed SELECT, no match check, no count
        offset = (page - 1) * size
        return list(
            BankStatementLine.objects.filter(statement__account=bank).order_by(
                "booking_date", "statement_id", "index", "pk"
            )[offset : offset + size]
        )

    def plain_transfers(page: int):
        offset = (page - 1) * size
        return list(
            Transfer.objects.filter(debit_account=bank).order_by("value_date", "pk")[
                offset : offset + size
            ]
        )

    branch = user_services.branch_ensure(actor=None, code="BENCH", name="Bench", city="Bench")
    officer = access_staff.user_create(
        actor=None,
        username="bench-finance",
        password="bench-password-2026",
        roles=[Role.FINANCE_OFFICER.value],
        branch=branch,
    )
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(officer)
    selected = open_lines[len(open_lines) // 2]
    url = f"/reconciliation/accounts/{bank.pk}/?pick={selected.pk}&l_page=3&t-q=INV-00"
    status = client.get(url).status_code

    cases = [
        (
            "lines page 1",
            lambda: selectors.lines_page(bank, SideFilter(), page=1),
            lambda: plain_lines(1),
        ),
        (
            f"lines page {last} (last)",
            lambda: selectors.lines_page(bank, SideFilter(), page=last),
            lambda: plain_lines(last),
        ),
        (
            "lines filtered (date range + text)",
            lambda: selectors.lines_page(
                bank,
                SideFilter(
                    date_from=START + datetime.timedelta(days=100),
                    date_to=START + datetime.timedelta(days=400),
                    text="INV-00",
                ),
            ),
            lambda: plain_lines(1),
        ),
        (
            "lines filtered (amount)",
            lambda: selectors.lines_page(bank, SideFilter(amount_minor=10_500)),
            lambda: plain_lines(1),
        ),
        (
            "transfers page 1",
            lambda: selectors.transfers_page(bank, SideFilter(), page=1),
            lambda: plain_transfers(1),
        ),
        (
            f"transfers page {last} (last)",
            lambda: selectors.transfers_page(bank, SideFilter(), page=last),
            lambda: plain_transfers(last),
        ),
        (
            "suggestions of a selected line",
            lambda: selectors.suggestions_for(bank, selected),
            lambda: plain_transfers(1),
        ),
        (
            "suggestions of a page of lines",
            lambda: selectors.page_suggestions(bank, open_lines[:size]),
            lambda: plain_transfers(1),
        ),
    ]
    if status == 200:
        cases.append(
            ("workspace page (view, both sides)", lambda: client.get(url), lambda: plain_lines(1))
        )
    else:
        print(f"(the console view answered {status}: view figure left out)")
    print(f"{'case':<40} {'median ms':>10} {'p95 ms':>9} {'plain SELECT ms':>16} {'ratio':>7}")
    for label, run, baseline in cases:
        run()
        baseline()
        samples = sorted(timed(run, repeat=args.repeat))
        base = sorted(timed(baseline, repeat=args.repeat))
        median, plain = statistics.median(samples), statistics.median(base)
        p95 = samples[max(0, int(len(samples) * 0.95) - 1)]
        print(
            f"{label:<40} {median * 1000:10.2f} {p95 * 1000:9.2f} {plain * 1000:16.2f} "
            f"{median / plain:7.1f}"
        )


if __name__ == "__main__":
    main()
