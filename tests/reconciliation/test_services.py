"""Reconciliation services: auto-match, manual match/unmatch, breaks, profiles, report."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from cpms.audit.models import AuditEntry
from cpms.core.errors import CpmsError, PermissionDenied, ValidationFailed
from cpms.reconciliation import selectors, services
from cpms.reconciliation.choices import BreakKind, BreakStatus, MatchHow
from cpms.reconciliation.models import BankStatement, Break, CsvProfileRecord, Match
from tests.reconciliation.helpers import mt940

pytestmark = pytest.mark.django_db
D = datetime.date


def _import(actor, lines, **kwargs):
    return services.statement_import(actor=actor, data=mt940(lines, **kwargs), filename="t.sta")


def _pairs():
    return sorted(
        (m.line.index, m.transfer_id) for m in Match.objects.filter(undone_at__isnull=True)
    )


def test_auto_match__same_amount_direction_and_date_window(finance, cny_bank, post):
    # given: money in 100.00 on 3 March, money out 25.50 on 4 March
    incoming = post(cny_bank, 10000, D(2025, 3, 3), "INV-1")
    outgoing = post(cny_bank, -2550, D(2025, 3, 7))  # 3 days after the line: inside
    post(cny_bank, 10000, D(2025, 3, 20))  # same amount, far away: not a candidate
    post(cny_bank, -10000, D(2025, 3, 3))  # same amount, other direction
    # when
    result = _import(finance, [(D(2025, 3, 3), 10000, "INV-1"), (D(2025, 3, 4), -2550, "")])
    # then
    assert result.matches == 2
    assert _pairs() == [(0, incoming.pk), (1, outgoing.pk)]
    assert set(Match.objects.values_list("how", flat=True)) == {MatchHow.AUTO}
    # the two unmatched transfers inside the statement period (3..4 March) get breaks: only the
    # 3 March money-out; the 20 March one is outside the period
    assert list(Break.objects.values_list("kind", "amount_minor")) == [
        (BreakKind.UNMATCHED_TRANSFER, -10000)
    ]


def test_auto_match__outside_window_stays_unmatched(finance, cny_bank, post):
    post(cny_bank, 10000, D(2025, 3, 7))  # 4 days after
    result = _import(finance, [(D(2025, 3, 3), 10000, "X")])
    assert result.matches == 0
    assert list(Break.objects.values_list("kind", flat=True)) == [BreakKind.UNMATCHED_LINE]


def test_auto_match__window_setting(finance, cny_bank, post, settings):
    settings.CPMS_RECONCILIATION_WINDOW_DAYS = 5
    transfer = post(cny_bank, 10000, D(2025, 3, 7))
    _import(finance, [(D(2025, 3, 3), 10000, "X")])
    assert _pairs() == [(0, transfer.pk)]


def test_auto_match__one_to_one_closest_date_then_reference_then_id(finance, cny_bank, post):
    # two identical lines on 3 March; three transfers of the same amount
    far = post(cny_bank, 5000, D(2025, 3, 5))
    near_no_ref = post(cny_bank, 5000, D(2025, 3, 3))
    near_ref = post(cny_bank, 5000, D(2025, 3, 3), "R-2")
    result = _import(finance, [(D(2025, 3, 3), 5000, "R-1"), (D(2025, 3, 3), 5000, "R-2")])
    assert result.matches == 2
    # line 1 (R-2) takes the same-day transfer with its reference; line 0 the other same-day one
    assert _pairs() == [(0, near_no_ref.pk), (1, near_ref.pk)]
    assert not Match.objects.filter(transfer=far).exists()


def test_auto_match__reference_breaks_a_date_tie(finance, cny_bank, post):
    first = post(cny_bank, 5000, D(2025, 3, 3), "OTHER")
    second = post(cny_bank, 5000, D(2025, 3, 3), "INV-9")
    _import(finance, [(D(2025, 3, 3), 5000, "INV-9")])
    assert _pairs() == [(0, second.pk)]
    assert first.pk < second.pk


def test_statement_import__denied_without_permission(rm, cny_bank):
    with pytest.raises(PermissionDenied):
        _import(rm, [(D(2025, 3, 3), 5000, "A")])
    assert BankStatement.objects.count() == 0
    assert AuditEntry.objects.filter(action__startswith="reconciliation.").count() == 0


def test_statement_import__inconsistent_flagged(finance, cny_bank):
    result = _import(finance, [(D(2025, 3, 3), 5000, "A")], closing=4000)
    assert result.consistent is False
    statement = result.statements[0]
    assert statement.problems == [
        "Opening balance 0.00 + entries 50.00 = 50.00, but the closing balance is 40.00 "
        "(difference -10.00 CNY)."
    ]
    assert AuditEntry.objects.filter(action="reconciliation.statement_flagged").count() == 1
    flagged = Break.objects.get(kind=BreakKind.STATEMENT_INCONSISTENT)
    assert flagged.amount_minor == -1000


def test_match_create__manual_match_and_undo_audited(finance, cny_bank, post):
    transfer = post(cny_bank, 7000, D(2025, 3, 20))  # outside the window
    result = _import(finance, [(D(2025, 3, 3), 7000, "A")])
    line = result.statements[0].lines.get()
    assert Break.objects.filter(status=BreakStatus.OPEN).count() == 1
    # when
    match = services.match_create(actor=finance, line_id=line.pk, transfer_id=transfer.pk)
    # then
    assert (match.how, match.matched_by) == (MatchHow.MANUAL, finance)
    assert Break.objects.filter(status=BreakStatus.OPEN).count() == 0
    entry = AuditEntry.objects.filter(action="reconciliation.matched").latest("pk")
    assert entry.after["transfer_id"] == transfer.pk
    # a line and a transfer are matched once
    with pytest.raises(CpmsError) as refused:
        services.match_create(actor=finance, line_id=line.pk, transfer_id=transfer.pk)
    assert refused.value.code == "reconciliation.already_matched"
    # undo keeps the row and reopens breaks
    with pytest.raises(ValidationFailed):
        services.match_undo(actor=finance, match_id=match.pk, reason=" ")
    services.match_undo(actor=finance, match_id=match.pk, reason="wrong payer")
    match.refresh_from_db()
    assert match.undone_at is not None and match.undo_reason == "wrong payer"
    assert Match.objects.count() == 1
    assert sorted(Break.objects.filter(status=BreakStatus.OPEN).values_list("kind", flat=True)) == [
        BreakKind.UNMATCHED_LINE,
        BreakKind.UNMATCHED_TRANSFER,
    ]
    assert AuditEntry.objects.filter(action="reconciliation.unmatched").count() == 1
    # matchable again
    again = services.match_create(actor=finance, line_id=line.pk, transfer_id=transfer.pk)
    assert again.pk != match.pk


def test_match_create__amount_or_direction_mismatch_refused(finance, cny_bank, post):
    wrong_amount = post(cny_bank, 7001, D(2025, 3, 3))
    wrong_side = post(cny_bank, -7000, D(2025, 3, 3))
    result = _import(finance, [(D(2025, 3, 3), 7000, "A")])
    line = result.statements[0].lines.get()
    before = AuditEntry.objects.exclude(action="access.denied").count()
    for transfer in (wrong_amount, wrong_side):
        with pytest.raises(CpmsError) as refused:
            services.match_create(actor=finance, line_id=line.pk, transfer_id=transfer.pk)
        assert refused.value.code == "reconciliation.not_matchable"
        assert "transfer_id" in refused.value.fields
    assert Match.objects.count() == 0
    assert AuditEntry.objects.exclude(action="access.denied").count() == before


def test_match_create__denied_without_reconcile(finance, cny_bank, post, make_user):
    from cpms.users.choices import Role

    auditor = make_user(Role.AUDITOR, username="aud1")
    transfer = post(cny_bank, 7000, D(2025, 3, 20))
    line = _import(finance, [(D(2025, 3, 3), 7000, "A")]).statements[0].lines.get()
    with pytest.raises(PermissionDenied):
        services.match_create(actor=auditor, line_id=line.pk, transfer_id=transfer.pk)
    assert Match.objects.count() == 0


def test_break_assign_and_resolve__audited(finance, cny_bank, make_user, rm):
    from cpms.users.choices import Role

    other = make_user(Role.FINANCE_OFFICER, username="finance3")
    _import(finance, [(D(2025, 3, 3), 7000, "A")])
    item = Break.objects.get()
    with pytest.raises(ValidationFailed) as refused:
        services.break_assign(actor=finance, break_id=item.pk, owner_id=rm.pk)
    assert "owner_id" in refused.value.fields
    services.break_assign(actor=finance, break_id=item.pk, owner_id=other.pk)
    item.refresh_from_db()
    assert item.owner == other
    with pytest.raises(ValidationFailed):
        services.break_resolve(actor=finance, break_id=item.pk, note="")
    services.break_resolve(actor=finance, break_id=item.pk, note="bank fee, booked")
    item.refresh_from_db()
    assert (item.status, item.resolution, item.resolved_by) == (
        BreakStatus.RESOLVED,
        "bank fee, booked",
        finance,
    )
    with pytest.raises(CpmsError) as closed:
        services.break_resolve(actor=finance, break_id=item.pk, note="again")
    assert closed.value.code == "reconciliation.break_resolved"
    actions = list(
        AuditEntry.objects.filter(object_type="reconciliation.break")
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == ["reconciliation.break_assigned", "reconciliation.break_resolved"]


@pytest.mark.parametrize(
    ("days", "bucket"),
    [
        (0, "0-1"),
        (1, "0-1"),
        (2, "2-7"),
        (7, "2-7"),
        (8, "8-30"),
        (30, "8-30"),
        (31, ">30"),
        (400, ">30"),
    ],
)
def test_age_bucket__edges(days, bucket):
    assert selectors.age_bucket(days) == bucket


def test_report_build__numbers(finance, cny_bank, post):
    matched = post(cny_bank, 10000, D(2025, 3, 3), "A")
    post(cny_bank, -2000, D(2025, 3, 4), "NOT ON STATEMENT")
    _import(
        finance,
        [(D(2025, 3, 3), 10000, "A"), (D(2025, 3, 4), -300, "FEE")],
        opening=50000,
    )
    # age the two open breaks: one 10 days, one 40 days before the report date
    on = timezone.localdate()
    breaks = list(Break.objects.order_by("pk"))
    assert len(breaks) == 2
    Break.objects.filter(pk=breaks[0].pk).update(
        opened_at=timezone.now() - datetime.timedelta(days=10)
    )
    Break.objects.filter(pk=breaks[1].pk).update(
        opened_at=timezone.now() - datetime.timedelta(days=40)
    )
    report = selectors.report_build(finance, on)
    (row,) = report["accounts"]
    assert row["statement_closing_minor"] == 50000 + 10000 - 300
    assert row["ledger_balance_minor"] == 10000 - 2000
    assert row["ledger_at_closing_minor"] == 8000
    assert row["difference_minor"] == 59700 - 8000
    assert (row["lines_total"], row["lines_matched"], row["lines_unmatched"]) == (2, 1, 1)
    assert row["transfers_unmatched"] == 1
    assert row["breaks_by_age"] == {"0-1": 0, "2-7": 0, "8-30": 1, ">30": 1}
    assert Match.objects.get().transfer == matched


def test_report_write__recorded_and_audited(finance, cny_bank):
    report = services.report_write(actor=None, on=D(2025, 3, 31))
    assert report.data["accounts"][0]["code"] == "BANK:BOC:CNY"
    again = services.report_write(actor=finance, on=D(2025, 3, 31))
    assert again.pk == report.pk
    assert AuditEntry.objects.filter(action="reconciliation.report_written").count() == 2


BOC_LIKE = {
    "name": "two_columns",
    "label": "Debit/credit columns",
    "encodings": ["utf-8"],
    "delimiter": ",",
    "header_contains": ["Date", "Paid out", "Paid in"],
    "date_column": "Date",
    "date_formats": ["%Y-%m-%d"],
    "debit_column": "Paid out",
    "credit_column": "Paid in",
    "default_currency": "CNY",
    "balance_column": "Balance",
    "reference_columns": ["Ref"],
}


def test_profile_save__stored_and_used_for_import(finance, cny_bank):
    record = services.profile_save(actor=finance, data=BOC_LIKE)
    assert CsvProfileRecord.objects.get().definition == record.definition
    assert record.created_by == finance
    data = (
        b"Date,Ref,Paid out,Paid in,Balance\n"
        b"2025-03-03,A1,,100.00,600.00\n"
        b"2025-03-04,A2,25.50,,574.50\n"
    )
    result = services.statement_import(
        actor=finance, data=data, filename="x.csv", account=cny_bank.code
    )
    statement = result.statements[0]
    assert (statement.profile, statement.consistent) == ("two_columns", True)
    assert (statement.opening_minor, statement.closing_minor) == (50000, 57450)
    # refused: same name again, a built-in name, a bad field
    with pytest.raises(ValidationFailed) as refused:
        services.profile_save(actor=finance, data=BOC_LIKE)
    assert "name" in refused.value.fields
    with pytest.raises(ValidationFailed):
        services.profile_save(actor=finance, data={**BOC_LIKE, "name": "boc"})
    with pytest.raises(ValidationFailed) as bad:
        services.profile_save(actor=finance, data={**BOC_LIKE, "name": "x2", "delimiter": ""})
    assert "delimiter" in bad.value.fields
    assert CsvProfileRecord.objects.count() == 1


def test_statement_import__later_import_matches_and_closes_transfer_break(finance, cny_bank, post):
    # given: a transfer on 4 March that the first statement (3..4 March) does not show
    early = post(cny_bank, 1000, D(2025, 3, 3), "A")
    late = post(cny_bank, 2500, D(2025, 3, 4), "B")
    _import(finance, [(D(2025, 3, 3), 1000, "A"), (D(2025, 3, 4), 0 + 1, "X")], statement="S1")
    transfer_break = Break.objects.get(kind=BreakKind.UNMATCHED_TRANSFER)
    assert transfer_break.transfer == late
    # when: the next statement shows it
    result = _import(finance, [(D(2025, 3, 5), 2500, "B")], statement="S2", opening=1001)
    # then
    assert result.matches == 1
    transfer_break.refresh_from_db()
    assert (transfer_break.status, transfer_break.resolution) == (BreakStatus.RESOLVED, "Matched.")
    assert sorted(m.transfer_id for m in Match.objects.all()) == [early.pk, late.pk]


def test_reconciliation_report_daily__task_records_report(cny_bank):
    from cpms.reconciliation import tasks
    from cpms.reconciliation.models import ReconciliationReport

    tasks.reconciliation_report_daily.call_local()
    report = ReconciliationReport.objects.get()
    assert report.date == timezone.localdate()
    assert report.written_by is None
    assert [row["code"] for row in report.data["accounts"]] == ["BANK:BOC:CNY"]
