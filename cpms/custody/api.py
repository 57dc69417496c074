"""API of the custody lifecycle, mounted at /api/v1/custody/. Reads need `holdings.view`,
every write `custody.operate`; out-of-scope items answer 404."""

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate

from cpms.access.checks import require_permission
from cpms.core.pagination import CursorPagination
from cpms.custody import selectors, services
from cpms.custody.choices import CustodyState, IncidentKind, IncidentStatus, PhotoStage
from cpms.custody.models import OPERATE_PERMISSION, VIEW_PERMISSION, CustodyItem, Stocktake
from cpms.custody.schemas import (
    CheckInIn,
    CheckOutIn,
    CountIn,
    DisposalRequestOut,
    DisposeIn,
    EventOut,
    FoundIn,
    IncidentCloseIn,
    IncidentOpenIn,
    IncidentOut,
    IncidentResponseIn,
    ItemOut,
    ItemReceiveIn,
    MoveIn,
    NotifyRunOut,
    OverdueRunOut,
    PhotoOut,
    PutAwayIn,
    ReturnIn,
    StocktakeDetailOut,
    StocktakeIn,
    StocktakeLineOut,
    StocktakeOut,
)

router = Router(tags=["custody"])


def _item(request: HttpRequest, item_id: int, permission: str = VIEW_PERMISSION) -> CustodyItem:
    require_permission(request.auth, permission)
    return selectors.item_get_for_user(user=request.auth, pk=item_id, permission=permission)


def _fresh(request: HttpRequest, item: CustodyItem) -> CustodyItem:
    return selectors.item_get_for_user(user=request.auth, pk=item.pk)


class ItemFilters(Schema):
    state: CustodyState | None = None
    location: str | None = None
    overdue: bool | None = None
    customer: int | None = None
    q: str | None = None


# --- items --------------------------------------------------------------------------------


@router.get("/items", response=list[ItemOut], summary="List items in custody")
@paginate(CursorPagination, ordering=("-pk",))
def item_list(request: HttpRequest, filters: Query[ItemFilters]) -> Any:
    require_permission(request.auth, VIEW_PERMISSION)
    return selectors.item_list(user=request.auth, **filters.dict())


@router.post("/items", response={201: ItemOut}, summary="Receive an item into custody")
def item_receive(request: HttpRequest, data: ItemReceiveIn) -> Any:
    require_permission(request.auth, OPERATE_PERMISSION)
    values = data.dict()
    customer = values.pop("customer_id")
    custodian = values.pop("custodian_id")
    item = services.item_receive(
        actor=request.auth, customer=customer, custodian=custodian, **values
    )
    return Status(201, _fresh(request, item))


@router.get("/items/{item_id}", response=ItemOut, summary="One item in custody")
def item_get(request: HttpRequest, item_id: int) -> Any:
    return _item(request, item_id)


@router.get("/items/{item_id}/events", response=list[EventOut], summary="Timeline of an item")
def item_events(request: HttpRequest, item_id: int) -> Any:
    item = _item(request, item_id)
    return list(selectors.item_timeline(user=request.auth, item=item))


@router.post("/items/{item_id}/put-away", response=ItemOut, summary="Put an item away")
def item_put_away(request: HttpRequest, item_id: int, data: PutAwayIn) -> Any:
    item = _item(request, item_id, OPERATE_PERMISSION)
    return _fresh(request, services.item_put_away(actor=request.auth, item=item, **data.dict()))


@router.post("/items/{item_id}/check-out", response=ItemOut, summary="Check an item out")
def item_check_out(request: HttpRequest, item_id: int, data: CheckOutIn) -> Any:
    item = _item(request, item_id, OPERATE_PERMISSION)
    return _fresh(request, services.item_check_out(actor=request.auth, item=item, **data.dict()))


@router.post("/items/{item_id}/check-in", response=ItemOut, summary="Check an item back in")
def item_check_in(request: HttpRequest, item_id: int, data: CheckInIn) -> Any:
    item = _item(request, item_id, OPERATE_PERMISSION)
    return _fresh(request, services.item_check_in(actor=request.auth, item=item, **data.dict()))


@router.post("/items/{item_id}/return", response=ItemOut, summary="Return to the customer")
def item_return(request: HttpRequest, item_id: int, data: ReturnIn) -> Any:
    item = _item(request, item_id, OPERATE_PERMISSION)
    values = data.dict()
    values["condition_grade"] = values.get("condition_grade") or ""
    return _fresh(request, services.item_return(actor=request.auth, item=item, **values))


@router.post(
    "/items/{item_id}/dispose",
    response={202: DisposalRequestOut, 200: DisposalRequestOut},
    summary="Request disposal (maker-checker)",
)
def item_dispose(request: HttpRequest, item_id: int, data: DisposeIn) -> Any:
    item = _item(request, item_id, OPERATE_PERMISSION)
    outcome = services.item_dispose_request(actor=request.auth, item=item, **data.dict())
    if isinstance(outcome, CustodyItem):
        return Status(
            200,
            {"approval_request_id": None, "status": "executed", "item": _fresh(request, outcome)},
        )
    return Status(
        202,
        {
            "approval_request_id": outcome.pk,
            "status": outcome.status,
            "item": _fresh(request, item),
        },
    )


@router.post("/items/{item_id}/move", response=ItemOut, summary="Move an item")
def item_move(request: HttpRequest, item_id: int, data: MoveIn) -> Any:
    item = _item(request, item_id, OPERATE_PERMISSION)
    return _fresh(
        request,
        services.item_move(
            actor=request.auth, item=item, location=data.location, custodian=data.custodian_id
        ),
    )


@router.post("/items/{item_id}/found", response=ItemOut, summary="A lost item was found")
def item_found(request: HttpRequest, item_id: int, data: FoundIn) -> Any:
    item = _item(request, item_id, OPERATE_PERMISSION)
    return _fresh(request, services.item_found(actor=request.auth, item=item, **data.dict()))


@router.get("/items/{item_id}/receipt", summary="Intake receipt (PDF)")
def item_receipt(request: HttpRequest, item_id: int) -> HttpResponse:
    item = _item(request, item_id, OPERATE_PERMISSION)
    pdf = services.receipt_issue(actor=request.auth, item=item)
    response = HttpResponse(pdf, content_type="application/pdf")
    number = item.holding.holding_number
    response["Content-Disposition"] = f'attachment; filename="receipt-{number}.pdf"'
    return response


@router.get("/items/{item_id}/photos", response=list[PhotoOut], summary="Photos of an item")
def photo_list(request: HttpRequest, item_id: int) -> Any:
    item = _item(request, item_id)
    return list(selectors.photo_list(user=request.auth, item=item))


@router.post("/items/{item_id}/photos", response={201: PhotoOut}, summary="Upload a photo")
def photo_upload(
    request: HttpRequest,
    item_id: int,
    file: File[UploadedFile],
    stage: Form[PhotoStage],
    note: Form[str] = "",
) -> Any:
    item = _item(request, item_id, OPERATE_PERMISSION)
    photo = services.photo_add(
        actor=request.auth,
        item=item,
        data=file.read(),
        stage=stage,
        original_name=file.name or "",
        note=note,
    )
    return Status(201, photo)


@router.get("/items/{item_id}/photos/{photo_id}", summary="Download a photo")
def photo_download(request: HttpRequest, item_id: int, photo_id: int) -> Any:
    item = _item(request, item_id)
    photo = selectors.photo_get_for_user(user=request.auth, item=item, pk=photo_id)
    with selectors.photo_open(photo) as stored:
        return HttpResponse(stored.read(), content_type=photo.content_type)


@router.get("/overdue", response=list[ItemOut], summary="Overdue check-outs")
def overdue_list(request: HttpRequest) -> Any:
    require_permission(request.auth, VIEW_PERMISSION)
    return list(selectors.item_overdue(user=request.auth).order_by("pk"))


@router.post("/overdue/flag", response=OverdueRunOut, summary="Flag overdue check-outs now")
def overdue_flag(request: HttpRequest) -> Any:
    require_permission(request.auth, OPERATE_PERMISSION)
    return {"flagged": services.checkout_overdue_flag(actor=request.auth)}


# --- incidents ----------------------------------------------------------------------------


class IncidentFilters(Schema):
    status: IncidentStatus | None = None
    kind: IncidentKind | None = None
    item: int | None = None
    notification_overdue: bool | None = None


@router.get("/incidents", response=list[IncidentOut], summary="List incidents")
@paginate(CursorPagination, ordering=("-pk",))
def incident_list(request: HttpRequest, filters: Query[IncidentFilters]) -> Any:
    require_permission(request.auth, VIEW_PERMISSION)
    return selectors.incident_list(user=request.auth, **filters.dict())


@router.post("/incidents", response={201: IncidentOut}, summary="Open an incident")
def incident_open(request: HttpRequest, data: IncidentOpenIn) -> Any:
    item = _item(request, data.item_id, OPERATE_PERMISSION)
    incident = services.incident_open(
        actor=request.auth, item=item, kind=data.kind, description=data.description
    )
    return Status(201, incident)


@router.post("/incidents/notify-pending", response=NotifyRunOut, summary="Notify pending now")
def incident_notify_pending(request: HttpRequest) -> Any:
    require_permission(request.auth, OPERATE_PERMISSION)
    return services.incident_notify_pending(actor=request.auth)


def _incident(request: HttpRequest, incident_id: int, permission: str = VIEW_PERMISSION) -> Any:
    require_permission(request.auth, permission)
    return selectors.incident_get_for_user(user=request.auth, pk=incident_id, permission=permission)


@router.get("/incidents/{incident_id}", response=IncidentOut, summary="One incident")
def incident_get(request: HttpRequest, incident_id: int) -> Any:
    return _incident(request, incident_id)


@router.post("/incidents/{incident_id}/notify", response=IncidentOut, summary="Notify the customer")
def incident_notify(request: HttpRequest, incident_id: int) -> Any:
    incident = _incident(request, incident_id, OPERATE_PERMISSION)
    return services.incident_notify(actor=request.auth, incident=incident)


@router.post(
    "/incidents/{incident_id}/response", response=IncidentOut, summary="Record the response"
)
def incident_response(request: HttpRequest, incident_id: int, data: IncidentResponseIn) -> Any:
    incident = _incident(request, incident_id, OPERATE_PERMISSION)
    return services.incident_response_record(
        actor=request.auth, incident=incident, response=data.response
    )


@router.post("/incidents/{incident_id}/close", response=IncidentOut, summary="Close")
def incident_close(request: HttpRequest, incident_id: int, data: IncidentCloseIn) -> Any:
    incident = _incident(request, incident_id, OPERATE_PERMISSION)
    return services.incident_close(
        actor=request.auth, incident=incident, resolution=data.resolution
    )


# --- stocktakes ---------------------------------------------------------------------------


def _stocktake_detail(request: HttpRequest, stocktake: Stocktake) -> Stocktake:
    return selectors.stocktake_get_for_user(user=request.auth, pk=stocktake.pk)


@router.get("/stocktakes", response=list[StocktakeOut], summary="List stocktakes")
@paginate(CursorPagination, ordering=("-pk",))
def stocktake_list(request: HttpRequest) -> Any:
    require_permission(request.auth, VIEW_PERMISSION)
    return selectors.stocktake_list(user=request.auth)


@router.post("/stocktakes", response={201: StocktakeDetailOut}, summary="Start a stocktake")
def stocktake_start(request: HttpRequest, data: StocktakeIn) -> Any:
    require_permission(request.auth, OPERATE_PERMISSION)
    stocktake = services.stocktake_start(actor=request.auth, location=data.location, note=data.note)
    return Status(201, _stocktake_detail(request, stocktake))


@router.get(
    "/stocktakes/{stocktake_id}", response=StocktakeDetailOut, summary="A stocktake and its sheet"
)
def stocktake_get(request: HttpRequest, stocktake_id: int) -> Any:
    require_permission(request.auth, VIEW_PERMISSION)
    stocktake = selectors.stocktake_get_for_user(user=request.auth, pk=stocktake_id)
    return stocktake


@router.post(
    "/stocktakes/{stocktake_id}/count", response=StocktakeLineOut, summary="Record a count"
)
def stocktake_count(request: HttpRequest, stocktake_id: int, data: CountIn) -> Any:
    require_permission(request.auth, OPERATE_PERMISSION)
    stocktake = selectors.stocktake_get_for_user(
        user=request.auth, pk=stocktake_id, permission=OPERATE_PERMISSION
    )
    line = services.stocktake_count(
        actor=request.auth,
        stocktake=stocktake,
        item=data.item_id,
        result=data.result,
        note=data.note,
    )
    return line


@router.post(
    "/stocktakes/{stocktake_id}/close", response=StocktakeDetailOut, summary="Close a stocktake"
)
def stocktake_close(request: HttpRequest, stocktake_id: int) -> Any:
    require_permission(request.auth, OPERATE_PERMISSION)
    stocktake = selectors.stocktake_get_for_user(
        user=request.auth, pk=stocktake_id, permission=OPERATE_PERMISSION
    )
    return _stocktake_detail(
        request, services.stocktake_close(actor=request.auth, stocktake=stocktake)
    )
