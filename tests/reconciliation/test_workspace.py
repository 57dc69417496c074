"""The reconciliation workspace: each side filtered and paged in the database with totals,
suggestions of the selected line ranked by the auto-match rules, accepting a page's
suggestions through the match service, bounded queries at volume, scope (404)."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cpms.audit.models import AuditEntry
from cpms.core.errors import ValidationFailed
from cpms.reconciliation import selectors, services
from cpms.reconciliation.models import Match
from cpms.reconciliation.selectors import SideFilter
from cpms.users import services as user_services
from cpms.users.choices import Role
from tests.reconciliation import workspace_data as data

pytestmark = pytest.mark.django_db
D = datetime.date


@pytest.fixture
def console(finance) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(finance)
    return client


def _url(bank, **query) -> str:
    base = reverse("reconciliation:workspace", kwargs={"pk": bank.pk})
    if not query:
        return base
    from urllib.parse import urlencode

    return f"{base}?{urlencode(query)}"


# ---------------------------------------------------------------------------------- paging


def test_lines_page__pages_in_the_database_with_totals(cny_bank, cash):
    data.many(cny_bank, cash, 120)
    first = selectors.lines_page(cny_bank, SideFilter(), page=1)
    assert (first.first, first.last, first.total, first.pages) == (1, 50, 120, 3)
    assert first.amount_minor == sum(100_000 + i for i in range(120))
    assert [line.reference for line in first.rows[:2]] == ["L-00000", "L-00001"]
    last = selectors.lines_page(cny_bank, SideFilter(), page=3)
    assert (last.first, last.last, len(last.rows), last.has_next) == (101, 120, 20, False)
    # a page past the end shows the last page, not an empty one
    assert selectors.lines_page(cny_bank, SideFilter(), page=99).number == 3


def test_transfers_page__signed_amounts_and_net_total(cny_bank, cash):
    data.transfers(cny_bank, cash, [(D(2025, 3, 1), 10_000, "IN"), (D(2025, 3, 2), -2_500, "OUT")])
    page = selectors.transfers_page(cny_bank, SideFilter())
    assert [(t.reference, t.signed) for t in page.rows] == [("IN", 10_000), ("OUT", -2_500)]
    assert (page.total, page.amount_minor) == (2, 7_500)


def test_empty_sides__zero_of_zero(cny_bank):
    page = selectors.lines_page(cny_bank, SideFilter())
    assert (page.first, page.last, page.total, page.rows, page.pages) == (0, 0, 0, [], 1)


# ---------------------------------------------------------------------------------- filters


def test_line_filters__date_amount_and_text(cny_bank):
    owner = data.statement(cny_bank)
    data.lines(
        owner,
        [
            (D(2025, 3, 1), 10_000, "INV-1"),
            (D(2025, 3, 5), -10_000, "REFUND"),
            (D(2025, 3, 9), 20_000, "INV-2"),
        ],
        counterparty="张三",
    )

    def refs(**filters) -> list[str]:
        page = selectors.lines_page(cny_bank, SideFilter(**filters))
        return [line.reference for line in page.rows]

    assert refs(date_from=D(2025, 3, 2), date_to=D(2025, 3, 9)) == ["REFUND", "INV-2"]
    assert refs(amount_minor=10_000) == ["INV-1", "REFUND"]  # no sign typed: both directions
    assert refs(amount_minor=-10_000, signed=True) == ["REFUND"]
    assert refs(text="inv") == ["INV-1", "INV-2"]
    assert refs(text="张三") == ["INV-1", "REFUND", "INV-2"]  # the counterparty
    assert refs(text="payment REF") == ["REFUND"]  # the narrative
    assert selectors.lines_page(cny_bank, SideFilter(amount_minor=1)).total == 0


def test_lines_page__one_statement(cny_bank):
    first, second = data.statement(cny_bank, name="A"), data.statement(cny_bank, name="B")
    data.lines(first, [(D(2025, 3, 1), 100, "A-1")])
    data.lines(second, [(D(2025, 3, 1), 200, "B-1")])
    page = selectors.lines_page(cny_bank, SideFilter(), statement_id=second.pk)
    assert [line.reference for line in page.rows] == ["B-1"]


def test_transfer_filters__direction_reference_and_id(cny_bank, cash):
    made = data.transfers(
        cny_bank,
        cash,
        [
            (D(2025, 3, 1), 10_000, "INV-1"),
            (D(2025, 3, 4), -10_000, "PAYOUT"),
            (D(2025, 3, 8), 5, ""),
        ],
    )

    def refs(**filters) -> list[str]:
        page = selectors.transfers_page(cny_bank, SideFilter(**filters))
        return [t.reference for t in page.rows]

    assert refs(amount_minor=10_000) == ["INV-1", "PAYOUT"]
    assert refs(amount_minor=10_000, signed=True) == ["INV-1"]
    assert refs(amount_minor=-10_000, signed=True) == ["PAYOUT"]
    assert refs(date_from=D(2025, 3, 2)) == ["PAYOUT", ""]
    assert refs(text="payo") == ["PAYOUT"]
    assert refs(text=f"#{made[2].pk}") == [""]


def test_matched_items_leave_both_sides(cny_bank, cash, finance):
    owner = data.statement(cny_bank)
    [line] = data.lines(owner, [(D(2025, 3, 1), 10_000, "INV-1")])
    [transfer] = data.transfers(cny_bank, cash, [(D(2025, 3, 1), 10_000, "INV-1")])
    services.match_create(actor=finance, line_id=line.pk, transfer_id=transfer.pk)
    assert selectors.lines_page(cny_bank, SideFilter()).total == 0
    assert selectors.transfers_page(cny_bank, SideFilter()).total == 0


# ---------------------------------------------------------------------------------- suggestions


def test_suggestions__ranked_by_the_auto_match_rules(cny_bank, eur_bank, cash, finance):
    owner = data.statement(cny_bank)
    [line, other_line] = data.lines(
        owner, [(D(2025, 3, 10), 10_000, "INV-7"), (D(2025, 3, 10), 777, "X")]
    )
    made = data.transfers(
        cny_bank,
        cash,
        [
            (D(2025, 3, 12), 10_000, "INV-7"),  # 2 days, same reference
            (D(2025, 3, 10), 10_000, "OTHER"),  # same day, other reference
            (D(2025, 3, 9), 10_000, "INV-7"),  # 1 day, same reference
            (D(2025, 3, 11), 10_000, "ABC INV-7"),  # 1 day, reference contains it
            (D(2025, 3, 10), -10_000, "INV-7"),  # money out: other direction
            (D(2025, 3, 20), 10_000, "INV-7"),  # outside the window
            (D(2025, 3, 10), 10_001, "INV-7"),  # another amount
            (D(2025, 3, 10), 777, "X"),  # matched below
        ],
    )
    services.match_create(actor=finance, line_id=other_line.pk, transfer_id=made[7].pk)
    suggestions = selectors.suggestions_for(cny_bank, line)
    assert [(s.transfer.pk, s.distance, s.reference_rank) for s in suggestions] == [
        (made[1].pk, 0, 2),
        (made[2].pk, 1, 0),
        (made[3].pk, 1, 1),
        (made[0].pk, 2, 0),
    ]
    assert all(s.signed == 10_000 for s in suggestions)


def test_page_suggestions__one_to_one_like_auto_match(cny_bank, cash):
    owner = data.statement(cny_bank)
    first, second, third = data.lines(
        owner,
        [(D(2025, 3, 10), 500, "A"), (D(2025, 3, 11), 500, "B"), (D(2025, 3, 10), 900, "C")],
    )
    [near, far] = data.transfers(
        cny_bank, cash, [(D(2025, 3, 10), 500, "A"), (D(2025, 3, 12), 500, "")]
    )
    pairs = selectors.page_suggestions(cny_bank, [first, second, third])
    assert pairs == {first.pk: near, second.pk: far}


# ---------------------------------------------------------------------------------- accept


def test_match_accept__matches_through_the_service_and_skips_what_no_longer_fits(
    cny_bank, eur_bank, cash, finance
):
    owner = data.statement(cny_bank)
    a, b, c = data.lines(
        owner, [(D(2025, 3, 1), 100, "A"), (D(2025, 3, 1), 200, "B"), (D(2025, 3, 1), 300, "C")]
    )
    ta, tb, tc = data.transfers(
        cny_bank,
        cash,
        [(D(2025, 3, 1), 100, "A"), (D(2025, 3, 1), 200, "B"), (D(2025, 3, 1), 999, "C")],
    )
    services.match_create(actor=finance, line_id=b.pk, transfer_id=tb.pk)  # matched meanwhile
    [foreign] = data.lines(data.statement(eur_bank), [(D(2025, 3, 1), 100, "E")])
    before = AuditEntry.objects.exclude(action="access.denied").count()
    result = services.match_accept(
        actor=finance,
        account_id=cny_bank.pk,
        pairs=[(a.pk, ta.pk), (b.pk, tb.pk), (c.pk, tc.pk), (foreign.pk, ta.pk)],
    )
    assert [(m.line_id, m.transfer_id, m.how) for m in result.matches] == [(a.pk, ta.pk, "manual")]
    skipped = {line: reason for line, _transfer, reason in result.skipped}
    assert set(skipped) == {b.pk, c.pk, foreign.pk}
    assert "matched already" in skipped[b.pk]
    assert "3.00 CNY" in skipped[c.pk] and "9.99 CNY" in skipped[c.pk]  # never minor units
    assert (
        AuditEntry.objects.exclude(action="access.denied").count() == before + 1
    )  # one entry per match made
    assert Match.objects.filter(undone_at__isnull=True).count() == 2


def test_match_accept__bounded_and_permission_checked(cny_bank, rm, finance):
    with pytest.raises(ValidationFailed):
        services.match_accept(
            actor=finance,
            account_id=cny_bank.pk,
            pairs=[(i, i) for i in range(services.MAX_ACCEPT + 1)],
        )
    from cpms.core.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.match_accept(actor=rm, account_id=cny_bank.pk, pairs=[])


# ---------------------------------------------------------------------------------- console


def test_workspace_page__totals_filters_and_formatted_amounts(console, cny_bank, cash):
    data.many(cny_bank, cash, 60)
    page = console.get(_url(cny_bank)).content.decode()
    assert "1–50 of 60" in page
    assert cny_bank.code not in page  # the bank account by its name, never its ledger code
    assert "CNY" in page.split("<h1", 1)[1].split("</h1>", 1)[0]
    assert "1,000.00 CNY" in page  # the first line, 100,000 fen
    assert "-5,000.00 CNY" in page  # the first transfer, money out
    filtered = console.get(_url(cny_bank, **{"l-q": "L-0005", "t-amount": "-5,000.01"}))
    text = filtered.content.decode()
    assert "1–10 of 10" in text  # L-00050 … L-00059
    assert "1–1 of 1" in text
    assert filtered.context["transfers"].rows[0].reference == "T-00001"


def test_workspace_page__bad_filter_is_explained_not_a_500(console, cny_bank):
    response = console.get(
        _url(cny_bank, **{"l-amount": "abc", "l-start": "2025-03-09", "l-end": "2025-03-01"})
    )
    assert response.status_code == 200
    errors = response.context["line_form"].errors
    assert "is not an amount" in errors["amount"][0]
    assert errors["end"] == ["The end date is before the start date."]


def test_workspace_htmx__one_pane_keeps_the_other_sides_state(console, cny_bank, cash):
    data.many(cny_bank, cash, 120)
    response = console.get(
        _url(cny_bank, l_goto="2", t_page="3", **{"t-q": "T-"}),
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="lines-pane",
    )
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="lines-pane"')
    assert "51–100 of 120" in body
    assert "transfers-pane" not in body
    # the address bar keeps both sides
    assert "l_page=2" in response["HX-Push-Url"] and "t_page=3" in response["HX-Push-Url"]
    assert "t-q=T-" in response["HX-Push-Url"]


def test_workspace_select_and_match__next_line_selected(console, cny_bank, cash):
    owner = data.statement(cny_bank)
    first, second = data.lines(owner, [(D(2025, 3, 1), 100, "A"), (D(2025, 3, 2), 200, "B")])
    ta, _tb = data.transfers(cny_bank, cash, [(D(2025, 3, 1), 100, "A"), (D(2025, 3, 2), 200, "B")])
    selected = console.get(_url(cny_bank, pick=first.pk), HTTP_HX_REQUEST="true")
    assert [s.transfer.pk for s in selected.context["suggestions"]] == [ta.pk]
    assert selected.context["next_line"] == second.pk
    response = console.post(
        reverse("reconciliation:match", kwargs={"pk": cny_bank.pk}),
        {"line_id": first.pk, "transfer_id": ta.pk, "next_line": second.pk, "line": first.pk},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="workspace",
    )
    assert response.status_code == 200
    assert response.context["selected"].pk == second.pk
    assert response.context["lines"].total == 1
    assert "Matched: line of 2025-03-01, 1.00 CNY." in response.content.decode()


def test_workspace_match__refusal_shown_with_the_selected_line(console, cny_bank, cash):
    owner = data.statement(cny_bank)
    [line] = data.lines(owner, [(D(2025, 3, 1), 100, "A")])
    [wrong] = data.transfers(cny_bank, cash, [(D(2025, 3, 1), 250, "B")])
    response = console.post(
        reverse("reconciliation:match", kwargs={"pk": cny_bank.pk}),
        {"line_id": line.pk, "transfer_id": wrong.pk, "line": line.pk, "next_line": "junk"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="workspace",
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "moves 2.50 CNY on the bank account; the line says 1.00 CNY" in body
    assert response.context["selected"].pk == line.pk
    assert not Match.objects.exists()
    # a forged next line is ignored once a match is made
    [right] = data.transfers(cny_bank, cash, [(D(2025, 3, 1), 100, "A")])
    made = console.post(
        reverse("reconciliation:match", kwargs={"pk": cny_bank.pk}),
        {"line_id": line.pk, "transfer_id": right.pk, "next_line": "junk"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="workspace",
    )
    assert made.status_code == 200 and made.context["selected"] is None


def test_workspace_accept_view__accepts_the_page_suggestions(console, cny_bank, cash):
    owner = data.statement(cny_bank)
    lines = data.lines(owner, [(D(2025, 3, 1), 100, "A"), (D(2025, 3, 2), 200, "B")])
    made = data.transfers(cny_bank, cash, [(D(2025, 3, 1), 100, "A"), (D(2025, 3, 2), 200, "B")])
    page = console.get(_url(cny_bank))
    assert page.context["accept_pairs"] == [
        f"{line.pk}:{t.pk}" for line, t in zip(lines, made, strict=True)
    ]
    response = console.post(
        reverse("reconciliation:accept", kwargs={"pk": cny_bank.pk}),
        {"pair": page.context["accept_pairs"]},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="workspace",
    )
    assert "2 suggested matches accepted." in response.content.decode()
    assert Match.objects.filter(undone_at__isnull=True, how="manual").count() == 2
    assert response.context["lines"].total == 0


def test_workspace_page__query_count_bounded_at_volume(
    console, cny_bank, cash, django_assert_max_num_queries
):
    """Counted, sliced and suggested in the database: the same handful of queries for 600 open
    items on each side as for 6 (sign-in, session and navigation badges come on top)."""
    _owner, lines, _transfers = data.many(cny_bank, cash, 600)
    # a selected line, suggestions for the page of lines, both sides filtered
    query = {"pick": lines[7].pk, "l-start": "2025-01-01", "t-q": "T-"}
    with django_assert_max_num_queries(20), CaptureQueriesContext(connection) as captured:
        response = console.get(_url(cny_bank, **query))
    assert response.status_code == 200
    assert len(response.context["lines"].rows) == 50
    assert response.context["lines"].total == 600
    own = [
        q["sql"]
        for q in captured.captured_queries
        if "reconciliation_" in q["sql"] or "ledger_" in q["sql"]
    ]
    # account, selected line, lines count+page, page suggestions, line suggestions,
    # transfers count+page
    assert len(own) <= 8, own


# ---------------------------------------------------------------------------------- scope


def test_scope__another_accounts_line_or_statement_is_not_found(console, cny_bank, eur_bank):
    [foreign] = data.lines(data.statement(eur_bank), [(D(2025, 3, 1), 100, "E")])
    foreign_statement = foreign.statement
    assert console.get(_url(cny_bank, pick=foreign.pk)).status_code == 404
    assert console.get(_url(cny_bank, line=foreign.pk)).status_code == 404
    assert console.get(_url(cny_bank, statement=foreign_statement.pk)).status_code == 404
    assert console.get(_url(cny_bank, pick=999_999)).status_code == 404
    response = console.post(
        reverse("reconciliation:match", kwargs={"pk": cny_bank.pk}),
        {"line_id": foreign.pk, "transfer_id": 1},
    )
    assert response.status_code == 404


def test_scope__a_customer_account_is_no_workspace(console, cash):
    """Only client-money bank accounts have a workspace: a customer's account (of any branch)
    answers like a missing one."""
    assert console.get(_url(cash)).status_code == 404
    assert (
        console.get(reverse("reconciliation:workspace", kwargs={"pk": 999_999})).status_code == 404
    )


def test_scope__staff_without_ledger_view_see_nothing(cny_bank, make_user):
    user = make_user(Role.CUSTOMER_SERVICE)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    response = client.get(_url(cny_bank))
    assert response.status_code in (403, 404)
    assert b"BANK:BOC:CNY" not in response.content


def test_scope__finance_officer_of_another_branch(cny_bank, cash, make_user):
    """Bank accounts are the firm's (internal ledger accounts, no branch): a finance officer of
    any branch reconciles them (docs/reconciliation.md, Limits)."""
    other = user_services.branch_ensure(actor=None, code="SH01", name="上海分行", city="上海")
    officer = make_user(Role.FINANCE_OFFICER, branch=other)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(officer)
    assert client.get(_url(cny_bank)).status_code == 200
    assert client.get(_url(cash)).status_code == 404
