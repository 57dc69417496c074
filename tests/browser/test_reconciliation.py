"""Acceptance in a real browser: a finance officer (TOTP) opens a statement's reconciliation
workspace at volume, pages the transfers, filters the lines, selects a line and matches its
suggested transfer with the keyboard only; the line leaves the open items and the totals drop,
while the other side keeps its page."""

from __future__ import annotations

import datetime
import re

import pytest
from django.db import transaction
from playwright.sync_api import expect

from cpms.access import staff as access_staff
from cpms.ledger import services as ledger
from cpms.ledger.choices import AccountPurpose
from cpms.reconciliation.models import Match
from cpms.users import services as user_services
from cpms.users.choices import Role
from tests.browser.conftest import sign_in
from tests.reconciliation import workspace_data as data

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.usefixtures("audit_flushable", "reseeded"),
]

PASSWORD = "browser-password-2026"
D = datetime.date


def _numbers(text: str) -> list[str]:
    return re.findall(r"\d[\d,]*", text)


def test_finance_officer_matches_a_suggestion_with_the_keyboard(live_server, page, shoot, enrol):
    # given a finance officer with two-factor sign-in, the client-money bank account with a
    # statement of 120 open lines and 120 open transfers, three of which match lines exactly
    branch = user_services.branch_ensure(actor=None, code="BJ01", name="北京分行", city="北京")
    officer = access_staff.user_create(
        actor=None,
        username="finance-browser",
        password=PASSWORD,
        display_name="财务甲",
        roles=[Role.FINANCE_OFFICER.value],
        branch=branch,
    )
    secret = enrol(officer)
    with transaction.atomic():
        bank = ledger.internal_account(asset_code="CNY", purpose=AccountPurpose.CLIENT_BANK)
        other = ledger.internal_account(asset_code="CNY", purpose=AccountPurpose.SETTLEMENT)
    statement, _lines, _transfers = data.many(bank, other, 117)
    data.lines(
        statement,
        [
            (D(2025, 6, 2), 1_234_567_89, "INV-2001"),
            (D(2025, 6, 3), 88_000_00, "INV-2002"),
            (D(2025, 6, 4), -5_000_00, "INV-2003"),
        ],
        counterparty="华夏贸易有限公司",
    )
    data.transfers(
        bank,
        other,
        [
            (D(2025, 6, 3), 1_234_567_89, "INV-2001"),
            (D(2025, 6, 3), 88_000_00, "INV-2002"),
            (D(2025, 6, 5), -5_000_00, "INV-2003"),
        ],
    )
    console_errors: list[str] = []
    page.on(
        "console",
        lambda message: console_errors.append(message.text) if message.type == "error" else None,
    )

    # when the officer signs in and opens the statement's workspace from the statement
    sign_in(
        page,
        f"{live_server.url}/reconciliation/statements/{statement.pk}/",
        "finance-browser",
        PASSWORD,
        totp_secret=secret,
    )
    page.locator(f'a[href$="?statement={statement.pk}"]').click()
    page.wait_for_url(re.compile(r"/reconciliation/accounts/\d+/\?statement="))
    lines_total = page.locator('[data-total="lines"]')
    transfers_total = page.locator('[data-total="transfers"]')
    # then both sides are paged with totals: 1–50 of 120 lines, 1–50 of 120 transfers
    assert _numbers(lines_total.inner_text())[:3] == ["1", "50", "120"]
    assert _numbers(transfers_total.inner_text())[:3] == ["1", "50", "120"]
    assert "1,000.00 CNY" in page.locator("#lines-pane").inner_text()
    shoot(page, "1-workspace")

    # when the officer turns the transfers to page 2, then filters the lines by reference
    page.locator("#transfers-pane .recon-pager a").last.click()
    expect(transfers_total).to_have_text(re.compile(r"(^|\D)51–100\D+120\D"))
    page.locator("#id_l-q").fill("INV-200")
    page.locator("#id_l-q").press("Enter")
    expect(lines_total).to_have_text(re.compile(r"(^|\D)1–3\D+3\D"))
    # then three lines remain and the transfers are still on page 2
    assert _numbers(lines_total.inner_text())[:3] == ["1", "3", "3"]
    assert _numbers(transfers_total.inner_text())[:3] == ["51", "100", "120"]
    assert "1,234,567.89 CNY" in page.locator("#lines-pane").inner_text()
    assert re.search(r"t_page=2", page.url) and re.search(r"l-q=INV-200", page.url)

    # when the officer selects the first line with the keyboard
    first_line = page.locator('#lines-pane [data-nav="lines"]').first
    first_line.focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Enter")
    # then its suggested transfer is listed under it and has the focus
    suggestion = page.locator('#lines-pane [data-nav="candidates"]').first
    suggestion.wait_for()
    expect(suggestion).to_be_focused()
    selected = page.locator("#lines-pane tr.is-selected").first
    assert "INV-2001" in selected.inner_text()
    assert "1,234,567.89 CNY" in page.locator(".recon-candidates").inner_text()
    shoot(page, "2-selected")

    # when the officer presses Enter on the suggestion
    page.keyboard.press("Enter")
    expect(lines_total).to_have_text(re.compile(r"(^|\D)1–2\D+2\D"))
    # then the line has left the open items, the totals dropped, the next line is selected with
    # its own suggestion focused, and the match was made by the officer
    assert _numbers(lines_total.inner_text())[:3] == ["1", "2", "2"]
    assert "INV-2001" not in page.locator("#lines-pane table").inner_text()
    assert _numbers(transfers_total.inner_text())[2] == "119"
    assert "INV-2002" in page.locator("#lines-pane tr.is-selected").first.inner_text()
    expect(page.locator('#lines-pane [data-nav="candidates"]').first).to_be_focused()
    match = Match.objects.get(undone_at__isnull=True)
    assert (match.line.reference, match.transfer.reference) == ("INV-2001", "INV-2001")
    assert match.matched_by == officer
    shoot(page, "3-matched")

    # and Enter again works the next line through
    page.keyboard.press("Enter")
    expect(lines_total).to_have_text(re.compile(r"(^|\D)1–1\D+1\D"))
    assert Match.objects.filter(undone_at__isnull=True).count() == 2
    assert console_errors == []
