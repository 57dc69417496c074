"""The faces of the custody lifecycle: API (including multipart photo upload and the binary
responses the generic matrix skips), console pages and forms, the CLI, the customer tab and
the demo loader."""

from __future__ import annotations

import datetime
import io
import random

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from cpms.audit.models import AuditEntry
from cpms.custody.models import CustodyItem, CustodyPhoto, Incident, Stocktake
from tests.custody.conftest import png_bytes, receive

API = "/api/v1/custody"


@pytest.fixture
def rm1_api(rm1, token_for):
    return Client(HTTP_AUTHORIZATION=f"Bearer {token_for(rm1, scopes=['custody:write'])}")


@pytest.fixture
def rm2_api(rm2, token_for):
    return Client(HTTP_AUTHORIZATION=f"Bearer {token_for(rm2, scopes=['*:write'])}")


def post(client, url, body):
    import json

    return client.post(url, data=json.dumps(body), content_type="application/json")


def test_api__full_lifecycle(rm1_api, rm2_api, customer):
    created = post(
        rm1_api,
        f"{API}/items",
        {
            "customer_id": customer.pk,
            "category": "equipment_repair",
            "description": "笔记本电脑",
            "serial": "NB-1",
            "condition_grade": "good",
            "location": "维修间 R-01",
        },
    )
    assert created.status_code == 201, created.content
    item = created.json()
    assert (item["state"], item["customer_name"], item["location"]) == (
        "received",
        "张三",
        "维修间 R-01",
    )
    url = f"{API}/items/{item['id']}"
    assert post(rm1_api, f"{url}/put-away", {"location": "库 2"}).json()["state"] == "in_custody"
    due = (timezone.localdate() + datetime.timedelta(days=5)).isoformat()
    body = post(rm1_api, f"{url}/check-out", {"to_whom": "王工", "purpose": "维修", "due_on": due})
    assert body.json()["due_back_on"] == due
    refused = post(rm1_api, f"{url}/put-away", {})
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "custody.transition_refused"
    back = post(rm1_api, f"{url}/check-in", {"condition_grade": "fair"})
    assert back.json()["condition_grade"] == "fair"
    listed = rm1_api.get(f"{API}/items", {"state": "in_custody"}).json()
    assert [row["id"] for row in listed["items"]] == [item["id"]]
    assert rm2_api.get(f"{API}/items").json()["items"] == []
    assert rm2_api.get(url).status_code == 404
    assert post(rm2_api, f"{url}/move", {"location": "x"}).status_code == 404
    events = rm1_api.get(f"{url}/events").json()
    assert [event["kind"] for event in events] == ["receive", "put_away", "check_out", "check_in"]
    pending = post(
        rm1_api, f"{url}/dispose", {"consent_reference": "C-1", "method": "m", "reason": "r"}
    )
    assert pending.status_code == 202
    assert pending.json()["status"] == "pending"
    returned = post(rm1_api, f"{url}/return", {"collected_by": "张三", "id_checked": True})
    assert returned.json()["state"] == "returned"


def test_api__photo_upload_download_and_receipt(
    rm1, rm1_api, rm2_api, customer, auditor, token_for
):
    item = receive(rm1, customer)
    url = f"{API}/items/{item.pk}/photos"
    data = png_bytes()
    response = rm1_api.post(url, {"stage": "intake", "file": io.BytesIO(data)})
    assert response.status_code == 201, response.content
    photo = response.json()
    fake = io.BytesIO(b"not an image at all")
    fake.name = "holiday.jpg"
    refused = rm1_api.post(url, {"stage": "intake", "file": fake})
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "custody.photo_refused"
    assert CustodyPhoto.objects.count() == 1
    assert rm2_api.post(url, {"stage": "intake", "file": io.BytesIO(data)}).status_code == 404
    auditor_api = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(auditor, scopes=['*:write'])}")
    changes = AuditEntry.objects.exclude(action="access.denied")  # the refusal itself is logged
    before = changes.count()
    assert auditor_api.post(url, {"stage": "intake", "file": io.BytesIO(data)}).status_code == 403
    assert changes.count() == before
    download = rm1_api.get(f"{url}/{photo['id']}")
    assert download.status_code == 200 and download["Content-Type"] == "image/png"
    assert download.content == data
    assert auditor_api.get(f"{url}/{photo['id']}").status_code == 200  # holdings.view, all scope
    assert rm2_api.get(f"{url}/{photo['id']}").status_code == 404
    receipt = rm1_api.get(f"{API}/items/{item.pk}/receipt")
    assert receipt.status_code == 200 and receipt["Content-Type"] == "application/pdf"
    assert receipt.content.startswith(b"%PDF")
    assert auditor_api.get(f"{API}/items/{item.pk}/receipt").status_code == 403
    assert rm2_api.get(f"{API}/items/{item.pk}/receipt").status_code == 404


def test_api__incidents_and_stocktakes(rm1, rm1_api, customer):
    item = receive(rm1, customer, location="库 9")
    opened = post(
        rm1_api, f"{API}/incidents", {"item_id": item.pk, "kind": "damaged", "description": "受潮"}
    )
    assert opened.status_code == 201
    incident = opened.json()
    url = f"{API}/incidents/{incident['id']}"
    assert post(rm1_api, f"{url}/close", {"resolution": "x"}).status_code == 409
    assert post(rm1_api, f"{url}/notify", {}).json()["notified_at"] is not None
    assert (
        post(rm1_api, f"{url}/response", {"response": "赔偿"}).json()["customer_response"] == "赔偿"
    )
    assert post(rm1_api, f"{url}/close", {"resolution": "已赔偿"}).json()["status"] == "closed"
    started = post(rm1_api, f"{API}/stocktakes", {"location": "库 9"})
    assert started.status_code == 201
    sheet = started.json()
    assert [line["item_id"] for line in sheet["lines"]] == [item.pk]
    counted = post(
        rm1_api, f"{API}/stocktakes/{sheet['id']}/count", {"item_id": item.pk, "result": "missing"}
    )
    assert counted.json()["result"] == "missing"
    closed = post(rm1_api, f"{API}/stocktakes/{sheet['id']}/close", {})
    assert closed.json()["status"] == "closed"
    assert Incident.objects.filter(item=item, kind="missing").exists()
    assert (
        rm1_api.get(f"{API}/incidents", {"kind": "missing"}).json()["items"][0]["item_id"]
        == item.pk
    )


def test_console__list_detail_forms_receipt_and_sheet(rm1, rm1_client, customer):
    response = rm1_client.post(
        "/custody/new/",
        {
            "customer": customer.pk,
            "category": "collateral",
            "description": "房产证原件",
            "condition_grade": "good",
            "location": "档案室 B-01",
            "currency": "CNY",
        },
    )
    assert response.status_code == 302
    item = CustodyItem.objects.get()
    assert response["Location"] == f"/custody/{item.pk}/"
    page = rm1_client.get(f"/custody/{item.pk}/")
    assert page.status_code == 200
    assert "房产证原件" in page.content.decode()
    rm1_client.post(f"/custody/{item.pk}/put-away", {"location": "档案室 B-02"})
    due = (timezone.localdate() + datetime.timedelta(days=3)).isoformat()
    rm1_client.post(
        f"/custody/{item.pk}/check-out", {"to_whom": "律师", "purpose": "公证", "due_on": due}
    )
    assert CustodyItem.objects.get().state == "checked_out"
    rm1_client.post(f"/custody/{item.pk}/put-away", {})  # refused: shown as a message
    assert CustodyItem.objects.get().state == "checked_out"
    upload = rm1_client.post(
        f"/custody/{item.pk}/photos", {"stage": "other", "file": io.BytesIO(png_bytes())}
    )
    assert upload.status_code == 302 and CustodyPhoto.objects.count() == 1
    listing = rm1_client.get("/custody/", {"state": "checked_out"})
    assert "房产证原件" in listing.content.decode()
    assert "房产证原件" not in rm1_client.get("/custody/", {"overdue": "1"}).content.decode()
    receipt = rm1_client.get(f"/custody/{item.pk}/receipt.pdf")
    assert receipt["Content-Type"] == "application/pdf"
    rm1_client.post(f"/custody/{item.pk}/incident", {"kind": "damaged", "description": "折痕"})
    incident = Incident.objects.get()
    assert rm1_client.get(f"/custody/incidents/{incident.pk}/").status_code == 200
    assert rm1_client.get("/custody/incidents/").status_code == 200
    rm1_client.post("/custody/stocktakes/new", {"location": "档案室 B-02"})
    stocktake = Stocktake.objects.get()
    assert rm1_client.get(f"/custody/stocktakes/{stocktake.pk}/").status_code == 200
    sheet = rm1_client.get(f"/custody/stocktakes/{stocktake.pk}/sheet")
    assert sheet.status_code == 200
    tab = rm1_client.get(f"/customers/{customer.pk}/", {"tab": "custody"})
    assert tab.status_code == 200 and item.holding.holding_number in tab.content.decode()


def test_console__other_rm_gets_404(rm1, rm2, customer):
    item = receive(rm1, customer)
    client = Client()
    client.force_login(rm2)
    assert client.get(f"/custody/{item.pk}/").status_code == 404
    assert client.post(f"/custody/{item.pk}/move", {"location": "x"}).status_code == 404
    assert item.holding.holding_number not in client.get("/custody/").content.decode()


def test_cli__overdue_and_notify(rm1, item_in, capsys):
    from cpms.custody import services

    item = item_in("in_custody")
    past = timezone.now() - datetime.timedelta(days=9)
    services.item_check_out(
        actor=rm1,
        item=item,
        to_whom="李师傅",
        purpose="维修",
        due_on=timezone.localdate(past) + datetime.timedelta(days=1),
        now=past,
    )
    call_command("custody", "--actor", "rm1", "overdue")
    out = capsys.readouterr().out
    assert "flagged 1 new overdue" in out and item.holding.holding_number in out
    services.incident_open(actor=rm1, item=item, kind="lost", description="x")
    call_command("custody", "--actor", "rm1", "notify")
    assert "notified 1 incident(s)" in capsys.readouterr().out
    with pytest.raises(CommandError, match="No active user"):
        call_command("custody", "--actor", "nobody", "notify")


def test_cli__actor_without_permission_fails(auditor):
    with pytest.raises(CommandError, match="permission"):
        call_command("custody", "--actor", auditor.username, "notify")


def test_demo__every_state_idempotent_and_empty_without_demo_customers(db, rm1, checker):
    from cpms.custody import demo
    from cpms.customers.services import customer_register
    from tests.customers.conftest import individual

    assert demo.load(rng=random.Random(1), options={}) == []
    customer_register(
        actor=rm1,
        data=individual(relationship_manager_id=rm1.pk, tags=["demo-finance"]),
    )
    from cpms.users.models import User

    User.objects.filter(pk=checker.pk).update(username="compliance1")
    created = demo.load(rng=random.Random(1), options={})
    assert len([line for line in created if line.startswith("custody item")]) == len(demo.PLAN)
    states = set(CustodyItem.objects.values_list("state", flat=True))
    assert states == {"received", "in_custody", "checked_out", "returned", "disposed", "lost"}
    assert CustodyItem.objects.filter(due_back_on__lt=timezone.localdate()).count() == 1
    assert Stocktake.objects.filter(status="closed").count() == 1
    assert Incident.objects.filter(notified_at__isnull=False).count() == 1
    count = AuditEntry.objects.exclude(action="access.denied").count()
    assert demo.load(rng=random.Random(1), options={}) == []
    assert AuditEntry.objects.exclude(action="access.denied").count() == count
