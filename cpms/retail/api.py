"""API for retail records, mounted at /api/v1/purchases/ by cpms.config.api (token scope area
`retail`). No personal data is returned: customers appear by id and customer number."""

import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from cpms.access.checks import require_permission
from cpms.core.pagination import CursorPagination
from cpms.retail import selectors, services
from cpms.retail.choices import Channel
from cpms.retail.models import MANAGE_PERMISSION, VIEW_PERMISSION, Purchase
from cpms.retail.schemas import (
    PurchaseData,
    PurchaseDetailOut,
    PurchaseOut,
    ReturnData,
    ReturnOut,
)

router = Router(tags=["retail"])


class PurchaseFilters(Schema):
    customer: int | None = Field(None, description="Customer id.")
    store: str | None = Field(None, description="Store code.")
    channel: Channel | None = None
    date_from: datetime.date | None = Field(None, description="Purchased on or after (local).")
    date_to: datetime.date | None = Field(None, description="Purchased on or before (local).")


def _detail(user: Any, purchase: Purchase) -> dict[str, Any]:
    lines = selectors.purchase_lines(purchase=purchase)
    returns = list(selectors.return_list(user=user, purchase=purchase))
    return {
        **{
            name: getattr(purchase, name)
            for name in PurchaseOut.model_fields
            if name not in ("id", "customer_number")
        },
        "id": purchase.pk,
        "customer_number": purchase.customer.customer_number,
        "refunded_minor": sum(record.refund_minor for record in returns),
        "lines": lines,
        "returns": returns,
    }


@router.get("", response=list[PurchaseOut], summary="List purchases")
@paginate(CursorPagination, ordering=("-purchased_at", "-pk"))
def purchase_list(request: HttpRequest, filters: Query[PurchaseFilters]) -> Any:
    """Newest first; keyset-paginated (`limit`, `cursor`, `next_cursor`)."""
    require_permission(request.auth, VIEW_PERMISSION)
    return selectors.purchase_list(
        user=request.auth,
        customer=filters.customer,
        store=filters.store,
        channel=filters.channel,
        date_from=filters.date_from,
        date_to=filters.date_to,
    )


@router.post("", response={201: PurchaseDetailOut}, summary="Record a purchase")
def purchase_record(request: HttpRequest, data: PurchaseData) -> Any:
    """The lines must add up to `total_minor`; a known receipt number (`reference`) is refused
    with 409 `retail.purchase_exists`."""
    require_permission(request.auth, MANAGE_PERMISSION)
    purchase = services.purchase_record(actor=request.auth, data=data)
    purchase = selectors.purchase_get_for_user(user=request.auth, pk=purchase.pk)
    return Status(201, _detail(request.auth, purchase))


@router.get("/{purchase_id}", response=PurchaseDetailOut, summary="One purchase")
def purchase_get(request: HttpRequest, purchase_id: int) -> Any:
    """With its lines (and how many units of each came back) and its returns."""
    require_permission(request.auth, VIEW_PERMISSION)
    purchase = selectors.purchase_get_for_user(user=request.auth, pk=purchase_id)
    return _detail(request.auth, purchase)


@router.get("/{purchase_id}/returns", response=list[ReturnOut], summary="Returns of a purchase")
def return_list(request: HttpRequest, purchase_id: int) -> Any:
    require_permission(request.auth, VIEW_PERMISSION)
    purchase = selectors.purchase_get_for_user(user=request.auth, pk=purchase_id)
    return list(selectors.return_list(user=request.auth, purchase=purchase))


@router.post(
    "/{purchase_id}/returns",
    response={201: ReturnOut},
    summary="Record a return or an exchange",
)
def purchase_return(request: HttpRequest, purchase_id: int, data: ReturnData) -> Any:
    """Lines by `line_number`; `refund_minor` in minor units of the purchase's currency."""
    require_permission(request.auth, MANAGE_PERMISSION)
    purchase = selectors.purchase_get_for_user(
        user=request.auth, pk=purchase_id, permission=MANAGE_PERMISSION
    )
    record = services.purchase_return(actor=request.auth, purchase=purchase, data=data)
    returns = selectors.return_list(user=request.auth, purchase=purchase)
    return Status(201, returns.get(pk=record.pk))
