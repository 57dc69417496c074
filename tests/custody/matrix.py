"""Permission-matrix declarations of the custody lifecycle (format: tests/permission_rules.py).
Reads need holdings.view, writes custody.operate; item, incident and stocktake pages are scoped
(staff of another branch get 404)."""

from __future__ import annotations

import datetime

from cpms.custody import services
from cpms.custody.models import (
    CustodyEvent,
    CustodyItem,
    CustodyPhoto,
    Incident,
    Stocktake,
    StocktakeLine,
)
from cpms.notifications.models import Notification
from tests.permission_rules import Probe, Rule

VIEW = ("holdings.view",)
OPERATE = ("custody.operate",)
BINARY = "binary response (PDF, image): tests/custody/test_interfaces.py"

CONSOLE = {
    "custody:list": Rule(VIEW),
    "custody:receive": Rule(OPERATE),
    "custody:detail": Rule(VIEW, scoped=True),
    "custody:put-away": Rule(OPERATE, "POST", scoped=True),
    "custody:check-out": Rule(OPERATE, "POST", scoped=True),
    "custody:check-in": Rule(OPERATE, "POST", scoped=True),
    "custody:return": Rule(OPERATE, "POST", scoped=True),
    "custody:dispose": Rule(OPERATE, "POST", scoped=True),
    "custody:move": Rule(OPERATE, "POST", scoped=True),
    "custody:found": Rule(OPERATE, "POST", scoped=True),
    "custody:photo-upload": Rule(OPERATE, "POST", scoped=True),
    "custody:photo": Rule(VIEW, scoped=True),
    "custody:receipt": Rule(OPERATE, scoped=True),
    "custody:incident-open": Rule(OPERATE, "POST", scoped=True),
    "custody:incidents": Rule(VIEW),
    "custody:incident": Rule(VIEW, scoped=True),
    "custody:incident-notify": Rule(OPERATE, "POST", scoped=True),
    "custody:incident-response": Rule(OPERATE, "POST", scoped=True),
    "custody:incident-close": Rule(OPERATE, "POST", scoped=True),
    "custody:stocktakes": Rule(VIEW),
    "custody:stocktake-start": Rule(OPERATE, "POST"),
    "custody:stocktake": Rule(VIEW, scoped=True),
    "custody:stocktake-sheet": Rule(VIEW, scoped=True),
    "custody:stocktake-count": Rule(OPERATE, "POST", scoped=True),
    "custody:stocktake-close": Rule(OPERATE, "POST", scoped=True),
}

P = "/api/v1/custody"
API = {
    ("GET", f"{P}/items"): Rule(VIEW),
    ("POST", f"{P}/items"): Rule(OPERATE, "POST"),
    ("GET", f"{P}/items/{{item_id}}"): Rule(VIEW, scoped=True),
    ("GET", f"{P}/items/{{item_id}}/events"): Rule(VIEW, scoped=True),
    ("POST", f"{P}/items/{{item_id}}/put-away"): Rule(OPERATE, "POST", scoped=True),
    ("POST", f"{P}/items/{{item_id}}/check-out"): Rule(OPERATE, "POST", scoped=True),
    ("POST", f"{P}/items/{{item_id}}/check-in"): Rule(OPERATE, "POST", scoped=True),
    ("POST", f"{P}/items/{{item_id}}/return"): Rule(OPERATE, "POST", scoped=True),
    ("POST", f"{P}/items/{{item_id}}/dispose"): Rule(OPERATE, "POST", scoped=True),
    ("POST", f"{P}/items/{{item_id}}/move"): Rule(OPERATE, "POST", scoped=True),
    ("POST", f"{P}/items/{{item_id}}/found"): Rule(OPERATE, "POST", scoped=True),
    ("GET", f"{P}/items/{{item_id}}/receipt"): Rule(OPERATE, scoped=True, skip=BINARY),
    ("GET", f"{P}/items/{{item_id}}/photos"): Rule(VIEW, scoped=True),
    ("POST", f"{P}/items/{{item_id}}/photos"): Rule(
        OPERATE, "POST", scoped=True, skip="multipart upload: tests/custody/test_interfaces.py"
    ),
    ("GET", f"{P}/items/{{item_id}}/photos/{{photo_id}}"): Rule(VIEW, scoped=True, skip=BINARY),
    ("GET", f"{P}/overdue"): Rule(VIEW),
    ("POST", f"{P}/overdue/flag"): Rule(OPERATE, "POST"),
    ("GET", f"{P}/incidents"): Rule(VIEW),
    ("POST", f"{P}/incidents"): Rule(OPERATE, "POST"),
    ("POST", f"{P}/incidents/notify-pending"): Rule(OPERATE, "POST"),
    ("GET", f"{P}/incidents/{{incident_id}}"): Rule(VIEW, scoped=True),
    ("POST", f"{P}/incidents/{{incident_id}}/notify"): Rule(OPERATE, "POST", scoped=True),
    ("POST", f"{P}/incidents/{{incident_id}}/response"): Rule(OPERATE, "POST", scoped=True),
    ("POST", f"{P}/incidents/{{incident_id}}/close"): Rule(OPERATE, "POST", scoped=True),
    ("GET", f"{P}/stocktakes"): Rule(VIEW),
    ("POST", f"{P}/stocktakes"): Rule(OPERATE, "POST"),
    ("GET", f"{P}/stocktakes/{{stocktake_id}}"): Rule(VIEW, scoped=True),
    ("POST", f"{P}/stocktakes/{{stocktake_id}}/count"): Rule(OPERATE, "POST", scoped=True),
    ("POST", f"{P}/stocktakes/{{stocktake_id}}/close"): Rule(OPERATE, "POST", scoped=True),
}

_DUE = (datetime.date.today() + datetime.timedelta(days=30)).isoformat()
WRITE_BODIES = {
    f"{P}/items": {
        "customer_id": 1,
        "category": "collateral",
        "description": "matrix",
        "condition_grade": "good",
        "location": "matrix",
    },
    f"{P}/items/{{item_id}}/put-away": {"location": "matrix"},
    f"{P}/items/{{item_id}}/check-out": {"to_whom": "m", "purpose": "m", "due_on": _DUE},
    f"{P}/items/{{item_id}}/check-in": {"condition_grade": "good"},
    f"{P}/items/{{item_id}}/return": {"collected_by": "m", "id_checked": True},
    f"{P}/items/{{item_id}}/dispose": {"consent_reference": "m", "method": "m", "reason": "m"},
    f"{P}/items/{{item_id}}/move": {"location": "matrix"},
    f"{P}/items/{{item_id}}/found": {"location": "matrix"},
    f"{P}/incidents": {"item_id": 1, "kind": "damaged", "description": "matrix"},
    f"{P}/incidents/{{incident_id}}/response": {"response": "matrix"},
    f"{P}/incidents/{{incident_id}}/close": {"resolution": "matrix"},
    f"{P}/stocktakes": {"location": "matrix"},
    f"{P}/stocktakes/{{stocktake_id}}/count": {"item_id": 1, "result": "found"},
}


def build(world: dict) -> None:
    import io

    from PIL import Image

    rm = world["users"]["relationship_manager"]
    customer = world["customer"]
    item = services.item_receive(
        actor=rm,
        customer=customer,
        category="collateral",
        description="矩阵物品",
        condition_grade="good",
        location="矩阵库",
        serial="MATRIX-1",
    )
    buffer = io.BytesIO()
    Image.new("RGB", (2, 2)).save(buffer, format="PNG")
    photo = services.photo_add(actor=rm, item=item, data=buffer.getvalue(), stage="intake")
    other = services.item_receive(
        actor=rm,
        customer=customer,
        category="other",
        description="矩阵事故物品",
        condition_grade="fair",
        location="矩阵库",
        serial="MATRIX-2",
    )
    incident = services.incident_open(actor=rm, item=other, kind="damaged", description="m")
    stocktake = services.stocktake_start(actor=rm, location="矩阵库")
    world["custody"] = {
        "item": item,
        "photo": photo,
        "incident": incident,
        "stocktake": stocktake,
    }


def console_kwargs(name: str, world: dict) -> dict | None:
    if not name.startswith("custody:"):
        return None
    objects = world["custody"]
    if name in (
        "custody:list",
        "custody:receive",
        "custody:incidents",
        "custody:stocktakes",
        "custody:stocktake-start",
    ):
        return {}
    if name == "custody:photo":
        return {"pk": objects["item"].pk, "photo_id": objects["photo"].pk}
    if name.startswith("custody:incident"):
        if name == "custody:incident-open":
            return {"pk": objects["item"].pk}
        return {"pk": objects["incident"].pk}
    if name.startswith("custody:stocktake"):
        return {"pk": objects["stocktake"].pk}
    return {"pk": objects["item"].pk}


PLACEHOLDERS = {
    "{item_id}": lambda world: str(world["custody"]["item"].pk),
    "{photo_id}": lambda world: str(world["custody"]["photo"].pk),
    "{incident_id}": lambda world: str(world["custody"]["incident"].pk),
    "{stocktake_id}": lambda world: str(world["custody"]["stocktake"].pk),
}


def state(world: dict) -> tuple:
    return (
        tuple(CustodyItem.objects.order_by("pk").values_list("state", "holding__location")),
        CustodyEvent.objects.count(),
        CustodyPhoto.objects.count(),
        tuple(Incident.objects.order_by("pk").values_list("status", "notified_at", "resolution")),
        tuple(Stocktake.objects.order_by("pk").values_list("status", flat=True)),
        tuple(StocktakeLine.objects.order_by("pk").values_list("result", flat=True)),
        Notification.objects.count(),
    )


# an item taken into custody for, and an incident on an item of, the world's customer
PROBES = [
    Probe(
        ("POST", f"{P}/items"),
        lambda world: world["customer"].pk,
        lambda world, ref: {**WRITE_BODIES[f"{P}/items"], "customer_id": ref},
    ),
    Probe(
        ("POST", f"{P}/incidents"),
        lambda world: world["custody"]["item"].pk,
        lambda world, ref: {**WRITE_BODIES[f"{P}/incidents"], "item_id": ref},
    ),
]
