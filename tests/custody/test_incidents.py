"""Incidents and customer notification timing (time is passed in as `now`), overdue
check-outs, and stocktakes."""

from __future__ import annotations

import datetime

import pytest
from django.core import mail
from django.utils import timezone

from cpms.audit.models import AuditEntry
from cpms.core.errors import NotFound, ValidationFailed
from cpms.custody import selectors, services
from cpms.custody.errors import (
    AlreadyNotified,
    IncidentClosed,
    IncidentNotNotified,
    StocktakeClosed,
    StocktakeIncomplete,
    TransitionRefused,
)
from cpms.custody.models import CustodyItem, Incident
from cpms.notifications.models import Notification
from cpms.notifications.selectors import notification_list_own
from tests.custody.conftest import receive
from tests.customers.conftest import EMAIL

T0 = datetime.datetime(2026, 11, 2, 9, 0, tzinfo=datetime.UTC)
HOUR = datetime.timedelta(hours=1)


def test_incident_open__lost_marks_the_item_lost_with_a_deadline(rm1, item_in, audit_log, settings):
    settings.CPMS_INCIDENT_NOTIFY_HOURS = 6
    item = item_in("checked_out")
    audit_log.mark()
    incident = services.incident_open(
        actor=rm1, item=item, kind="lost", description="外借后未归还", now=T0
    )
    assert incident.notify_due_at == T0 + 6 * HOUR
    assert CustodyItem.objects.get(pk=item.pk).state == "lost"
    assert audit_log.actions() == ["custody.incident_opened"]
    assert audit_log.new()[0].after["item_state"] == "lost"


def test_incident_open__damaged_keeps_the_state(rm1, item_in):
    item = item_in("in_custody")
    services.incident_open(actor=rm1, item=item, kind="damaged", description="受潮")
    services.incident_open(actor=rm1, item=item, kind="unsuitable", description="不宜使用")
    assert CustodyItem.objects.get(pk=item.pk).state == "in_custody"
    assert Incident.objects.filter(item=item).count() == 2


def test_incident_open__refused_on_items_that_left_and_needs_a_kind(rm1, rm2, item_in):
    returned = item_in("returned")
    with pytest.raises(TransitionRefused):
        services.incident_open(actor=rm1, item=returned, kind="damaged", description="x")
    item = item_in("in_custody")
    with pytest.raises(ValidationFailed):
        services.incident_open(actor=rm1, item=item, kind="stolen?", description="")
    with pytest.raises(NotFound):
        services.incident_open(actor=rm2, item=item, kind="damaged", description="x")
    assert not Incident.objects.exists()


def test_notify_job__on_time_sends_email_and_in_app_and_audits_the_email_read(
    rm1, customer, item_in, audit_log, django_capture_on_commit_callbacks
):
    item = item_in("in_custody")
    incident = services.incident_open(
        actor=rm1, item=item, kind="damaged", description="受潮", now=T0
    )
    audit_log.mark()
    with django_capture_on_commit_callbacks(execute=True):
        result = services.incident_notify_pending(actor=None, now=T0 + 2 * HOUR)
    assert result == {"notified": [incident.pk], "late": []}
    incident.refresh_from_db()
    assert incident.notified_at == T0 + 2 * HOUR and incident.notify_late_at is None
    assert audit_log.actions() == ["pii.revealed", "notification.sent", "custody.incident_notified"]
    reveal = audit_log.new()[0]
    assert reveal.object_type == "customers.customer" and reveal.after["field"] == "email"
    assert reveal.reason == "notification email"
    assert EMAIL not in str(reveal.after)
    assert audit_log.new()[2].after["on_time"] is True
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["Zhang.San@example.com"]  # the stored (normalised) address
    assert item.holding.holding_number in mail.outbox[0].subject
    notification = Notification.objects.get()
    assert (notification.customer_id, notification.email_status) == (customer.pk, "queued")
    assert (notification.related_type, notification.related_id) == (
        "custody.incident",
        str(incident.pk),
    )
    # a second run has nothing to do
    assert services.incident_notify_pending(actor=None, now=T0 + 3 * HOUR) == {
        "notified": [],
        "late": [],
    }


def test_notify_job__past_the_deadline_flags_late_then_notifies(rm1, item_in, audit_log, settings):
    settings.CPMS_INCIDENT_NOTIFY_HOURS = 24
    item = item_in("in_custody")
    incident = services.incident_open(actor=rm1, item=item, kind="lost", description="x", now=T0)
    audit_log.mark()
    assert (
        selectors.incident_list(user=rm1, notification_overdue=True, now=T0 + 23 * HOUR).count()
        == 0
    )
    assert list(
        selectors.incident_list(user=rm1, notification_overdue=True, now=T0 + 25 * HOUR)
    ) == [incident]
    result = services.incident_notify_pending(actor=None, now=T0 + 25 * HOUR)
    assert result == {"notified": [incident.pk], "late": [incident.pk]}
    incident.refresh_from_db()
    assert incident.notify_late_at == T0 + 25 * HOUR
    assert audit_log.actions()[0] == "custody.incident_notify_late"
    assert audit_log.new()[-1].after["on_time"] is False


def test_notify_job__with_actor_only_in_scope(rm1, rm2, item_in):
    item = item_in("in_custody")
    services.incident_open(actor=rm1, item=item, kind="damaged", description="x", now=T0)
    assert services.incident_notify_pending(actor=rm2, now=T0) == {"notified": [], "late": []}


def test_incident__notify_respond_close(rm1, item_in, audit_log):
    item = item_in("in_custody")
    incident = services.incident_open(actor=rm1, item=item, kind="damaged", description="x")
    with pytest.raises(IncidentNotNotified):
        services.incident_close(actor=rm1, incident=incident, resolution="赔偿")
    services.incident_notify(actor=rm1, incident=incident)
    with pytest.raises(AlreadyNotified):
        services.incident_notify(actor=rm1, incident=incident)
    audit_log.mark()
    services.incident_response_record(actor=rm1, incident=incident, response="要求赔偿")
    services.incident_close(actor=rm1, incident=incident, resolution="已按估值赔偿")
    assert audit_log.actions() == ["custody.incident_response", "custody.incident_closed"]
    incident.refresh_from_db()
    assert (incident.status, incident.customer_response, incident.resolution) == (
        "closed",
        "要求赔偿",
        "已按估值赔偿",
    )
    before = AuditEntry.objects.exclude(action="access.denied").count()
    with pytest.raises(IncidentClosed):
        services.incident_response_record(actor=rm1, incident=incident, response="again")
    assert AuditEntry.objects.exclude(action="access.denied").count() == before


def test_incident__portal_customer_sees_the_notification(rm1, make_user, item_in, customer):
    from cpms.customers.models import Customer

    portal = make_user("customer", username="portal-zhang")
    Customer.objects.filter(pk=customer.pk).update(portal_user=portal)
    item = item_in("in_custody")
    incident = services.incident_open(actor=rm1, item=item, kind="damaged", description="x")
    services.incident_notify(actor=rm1, incident=incident)
    assert [n.related_id for n in notification_list_own(user=portal)] == [str(incident.pk)]
    assert not notification_list_own(user=rm1).exists()


# --- overdue check-outs ---------------------------------------------------------------------


def test_overdue__flagged_once_and_the_manager_alerted(rm1, item_in, audit_log):
    item = item_in("in_custody")
    past = timezone.now() - datetime.timedelta(days=10)
    services.item_check_out(
        actor=rm1,
        item=item,
        to_whom="李师傅",
        purpose="维修",
        due_on=timezone.localdate(past) + datetime.timedelta(days=2),
        now=past,
    )
    on_time = item_in("checked_out")
    assert list(selectors.item_overdue(user=rm1)) == [CustodyItem.objects.get(pk=item.pk)]
    assert on_time not in selectors.item_list(user=rm1, overdue=True)
    audit_log.mark()
    assert services.checkout_overdue_flag(actor=None) == [item.pk]
    assert audit_log.actions() == ["custody.checkout_overdue", "notification.sent"]
    assert audit_log.new()[0].after["days_late"] == 8
    alert = Notification.objects.get(user=rm1)
    assert item.holding.holding_number in alert.subject
    assert services.checkout_overdue_flag(actor=None) == []
    # checking it in clears the flag
    services.item_check_in(actor=rm1, item=item, condition_grade="good")
    assert CustodyItem.objects.get(pk=item.pk).overdue_flagged_at is None


# --- stocktakes -----------------------------------------------------------------------------


def test_stocktake__count_sheet_found_missing_and_incidents(rm1, rm2, customer, audit_log):
    found = receive(rm1, customer, serial="A", location="库 1")
    missing = receive(rm1, customer, serial="B", location="库 1")
    services.item_put_away(actor=rm1, item=missing)
    elsewhere = receive(rm1, customer, serial="C", location="库 2")
    audit_log.mark()
    stocktake = services.stocktake_start(actor=rm1, location="库 1")
    lines = selectors.stocktake_lines(user=rm1, stocktake=stocktake)
    assert sorted(line.item_id for line in lines) == [found.pk, missing.pk]
    assert elsewhere.pk not in [line.item_id for line in lines]
    assert not selectors.stocktake_list(user=rm2).exists()
    services.stocktake_count(actor=rm1, stocktake=stocktake, item=found, result="found")
    with pytest.raises(StocktakeIncomplete):
        services.stocktake_close(actor=rm1, stocktake=stocktake)
    with pytest.raises(ValidationFailed):
        services.stocktake_count(actor=rm1, stocktake=stocktake, item=elsewhere, result="found")
    services.stocktake_count(
        actor=rm1, stocktake=stocktake, item=missing, result="missing", note="货架空"
    )
    services.stocktake_close(actor=rm1, stocktake=stocktake, now=T0)
    assert audit_log.actions() == [
        "custody.stocktake_started",
        "custody.stocktake_counted",
        "custody.stocktake_counted",
        "custody.incident_opened",
        "custody.stocktake_closed",
    ]
    assert audit_log.new()[-1].after["found"] == 1
    incident = Incident.objects.get()
    assert (incident.item_id, incident.kind, incident.status) == (missing.pk, "missing", "open")
    assert "货架空" in incident.description
    assert incident.notify_due_at == T0 + 24 * HOUR
    assert CustodyItem.objects.get(pk=missing.pk).state == "lost"
    assert CustodyItem.objects.get(pk=found.pk).state == "received"
    with pytest.raises(StocktakeClosed):
        services.stocktake_count(actor=rm1, stocktake=stocktake, item=found, result="missing")
