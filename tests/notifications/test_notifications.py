"""Notifications: sending (in-app + email after commit, the email read audited), the signed-in
user's list and mark-read through the service, the console page and the API."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client

from cpms.core.errors import NotFound, PermissionDenied
from cpms.customers.models import Customer
from cpms.customers.services import customer_register
from cpms.notifications import selectors, services
from cpms.notifications.errors import NoRecipient
from cpms.notifications.models import Notification
from cpms.privacy import keys
from cpms.users.choices import Role
from tests.customers.conftest import individual


@pytest.fixture(autouse=True)
def _fresh_key_cache():
    keys.forget_cached_keys()
    yield
    keys.forget_cached_keys()


@pytest.fixture
def rm(make_user):
    return make_user(Role.RELATIONSHIP_MANAGER, username="rm-n", email="rm@example.cn")


@pytest.fixture
def portal(make_user):
    return make_user(Role.CUSTOMER, username="portal-n")


@pytest.fixture
def customer(rm, portal):
    customer = customer_register(actor=rm, data=individual(relationship_manager_id=rm.pk))
    Customer.objects.filter(pk=customer.pk).update(portal_user=portal)
    customer.refresh_from_db()
    return customer


def test_send__to_customer_with_email(rm, customer, audit_log, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        note = services.notification_send(
            actor=rm,
            customer=customer,
            subject="您的物品",
            body="正文",
            email=True,
            related_type="custody.incident",
            related_id=7,
        )
    assert audit_log.actions() == ["pii.revealed", "notification.sent"]
    assert audit_log.new()[1].after["email"] == "queued"
    assert [m.to for m in mail.outbox] == [["Zhang.San@example.com"]]
    assert (note.related_type, note.related_id, note.email_status) == (
        "custody.incident",
        "7",
        "queued",
    )


def test_send__no_email_until_commit(rm, customer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.notification_send(actor=rm, customer=customer, subject="s", body="b", email=True)
    assert mail.outbox == [] and len(callbacks) == 1


def test_send__needs_recipient_subject_and_permission(rm, make_user, customer):
    with pytest.raises(NoRecipient):
        services.notification_send(actor=rm, subject="s", body="b")
    with pytest.raises(PermissionDenied):
        services.notification_send(
            actor=make_user(Role.AUDITOR, username="aud-n"),
            customer=customer,
            subject="s",
            body="b",
        )
    assert not Notification.objects.exists()


def test_own_list_and_mark_read(rm, portal, customer, audit_log):
    to_customer = services.notification_send(actor=rm, customer=customer, subject="a", body="b")
    to_rm = services.notification_send(actor=None, user=rm, subject="c", body="d")
    assert list(selectors.notification_list_own(user=portal)) == [to_customer]
    assert list(selectors.notification_list_own(user=rm)) == [to_rm]
    with pytest.raises(NotFound):
        services.notification_mark_read(actor=rm, notification_id=to_customer.pk)
    audit_log.mark()
    services.notification_mark_read(actor=portal, notification_id=to_customer.pk)
    services.notification_mark_read(actor=portal, notification_id=to_customer.pk)  # idempotent
    assert audit_log.actions() == ["notification.read"]
    assert selectors.notification_unread_count(user=portal) == 0


def test_console_and_api(rm, portal, customer, token_for):
    note = services.notification_send(actor=rm, customer=customer, subject="物品受损", body="b")
    client = Client()
    client.force_login(portal)
    page = client.get("/notifications/")
    assert page.status_code == 200 and "物品受损" in page.content.decode()
    other = Client()
    other.force_login(rm)
    assert "物品受损" not in other.get("/notifications/").content.decode()
    assert other.post(f"/notifications/{note.pk}/read").status_code == 404
    assert client.post(f"/notifications/{note.pk}/read").status_code == 302
    assert Notification.objects.get().read_at is not None
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(rm, scopes=['*:write'])}")
    services.notification_send(actor=None, user=rm, subject="逾期", body="b")
    response = api.get("/api/v1/notifications/", {"unread": "true"})
    listed = response.json()
    assert response.status_code == 200, listed
    assert [row["subject"] for row in listed["items"]] == ["逾期"]
    mine = listed["items"][0]["id"]
    assert api.post(f"/api/v1/notifications/{mine}/read").json()["read_at"] is not None
    assert api.post(f"/api/v1/notifications/{note.pk}/read").status_code == 404
    assert Client().get("/api/v1/notifications/").status_code == 401
