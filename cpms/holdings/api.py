"""API of the property register, mounted at /api/v1/holdings/ by cpms.config.api. Account
numbers are only ever masked here; a clear value needs POST /api/v1/privacy/reveal with the
target `holdings.accountdetail:<id>` (permission, reason, audited)."""

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field as NinjaField
from ninja import Query, Router, Schema, Status
from ninja.pagination import paginate

from cpms.access.checks import require_permission
from cpms.core.errors import ValidationFailed
from cpms.core.pagination import CursorPagination
from cpms.holdings import selectors, services
from cpms.holdings.choices import HoldingKind, HoldingStatus
from cpms.holdings.models import MANAGE_PERMISSION, VIEW_PERMISSION, Holding
from cpms.holdings.schemas import (
    HoldingDetailOut,
    HoldingIn,
    HoldingOut,
    HoldingPatch,
    InstalmentOut,
    PositionIn,
    PositionOut,
    PositionPatch,
    PriceImportOut,
    StatusIn,
    ValuationIn,
    ValuationOut,
)

router = Router(tags=["holdings"])
MAX_PRICE_FILE = 20 * 1024 * 1024


class HoldingFilters(Schema):
    q: str | None = NinjaField(
        None,
        description="Property or customer number, identifier, description, owner name, or an "
        "exact account number.",
    )
    kind: HoldingKind | None = None
    status: HoldingStatus | None = None
    customer: int | None = NinjaField(None, description="Owner customer id.")


def _detail(request: HttpRequest, holding: Holding) -> dict[str, Any]:
    derived = ("id", "customer_number", "customer_name")
    item = {name: getattr(holding, name) for name in HoldingOut.model_fields if name not in derived}
    item.update(
        id=holding.pk,
        customer_number=holding.customer.customer_number,
        customer_name=holding.customer.legal_name,
        details=selectors.holding_details(user=request.auth, holding=holding),
        warnings=selectors.holding_warnings(user=request.auth, holding=holding),
    )
    return item


def _position(row: Any) -> dict[str, Any]:
    position = row.position
    return {
        "id": position.pk,
        "instrument_code": position.instrument_code,
        "instrument_name": position.instrument_name,
        "asset_class": position.asset_class,
        "quantity": position.quantity,
        "cost_minor": position.cost_minor,
        "currency": position.currency,
        "price": row.price.price if row.price else None,
        "priced_on": row.price.priced_on if row.price else None,
        "market_value_minor": row.market_value_minor,
        "unrealised_gain_minor": row.unrealised_gain_minor,
    }


def _managed(request: HttpRequest, holding_id: int) -> Holding:
    require_permission(request.auth, MANAGE_PERMISSION)
    return selectors.holding_get_for_user(
        user=request.auth, pk=holding_id, permission=MANAGE_PERMISSION
    )


@router.get("", response=list[HoldingOut], summary="List property")
@paginate(CursorPagination, ordering=("-pk",))
def holding_list(request: HttpRequest, filters: Query[HoldingFilters]) -> Any:
    require_permission(request.auth, VIEW_PERMISSION)
    return selectors.holding_list(
        user=request.auth,
        q=filters.q,
        kind=filters.kind,
        status=filters.status,
        customer=filters.customer,
    )


@router.post("", response={201: HoldingDetailOut}, summary="Register property")
def holding_register(request: HttpRequest, data: HoldingIn) -> Any:
    require_permission(request.auth, MANAGE_PERMISSION)
    holding = services.holding_register(
        actor=request.auth,
        customer=data.customer_id,
        kind=data.kind,
        identifier=data.identifier,
        description=data.description,
        value_minor=data.value_minor,
        currency=data.currency,
        valued_on=data.valued_on,
        location=data.location,
        details=data.details,
    )
    holding = selectors.holding_get_for_user(user=request.auth, pk=holding.pk)
    return Status(201, _detail(request, holding))


@router.post(
    "/prices/import",
    response=PriceImportOut,
    summary="Import instrument prices (CSV)",
    openapi_extra={
        "requestBody": {
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "file": {"type": "string", "format": "binary"},
                            "source": {"type": "string"},
                        },
                        "required": ["file"],
                    }
                }
            },
            "required": True,
        }
    },
)
def prices_import(request: HttpRequest) -> Any:
    """Columns instrument_code, price, currency, priced_on (YYYY-MM-DD), source; all or
    nothing; importing the same file again changes nothing."""
    require_permission(request.auth, MANAGE_PERMISSION)
    upload = request.FILES.get("file")
    if upload is None:
        raise ValidationFailed(fields={"file": _("Attach the CSV file as `file`.")})
    if upload.size > MAX_PRICE_FILE:
        raise ValidationFailed(fields={"file": _("The file is larger than 20 MB.")})
    report = services.prices_import(
        actor=request.auth,
        content=upload.read(),
        source=request.POST.get("source") or "import",
        filename=upload.name or "",
    )
    return report.__dict__


@router.get("/{holding_id}", response=HoldingDetailOut, summary="One property item")
def holding_get(request: HttpRequest, holding_id: int) -> Any:
    require_permission(request.auth, VIEW_PERMISSION)
    return _detail(request, selectors.holding_get_for_user(user=request.auth, pk=holding_id))


@router.patch("/{holding_id}", response=HoldingDetailOut, summary="Change property")
def holding_update(request: HttpRequest, holding_id: int, data: HoldingPatch) -> Any:
    holding = _managed(request, holding_id)
    services.holding_update(
        actor=request.auth, holding=holding, data=data.model_dump(exclude_unset=True)
    )
    return _detail(request, selectors.holding_get_for_user(user=request.auth, pk=holding_id))


@router.post("/{holding_id}/status", response=HoldingDetailOut, summary="Change status")
def holding_status_change(request: HttpRequest, holding_id: int, data: StatusIn) -> Any:
    holding = _managed(request, holding_id)
    services.holding_status_change(
        actor=request.auth, holding=holding, status=data.status, reason=data.reason
    )
    return _detail(request, selectors.holding_get_for_user(user=request.auth, pk=holding_id))


@router.get("/{holding_id}/valuations", response=list[ValuationOut], summary="Valuation history")
def valuation_list(request: HttpRequest, holding_id: int) -> Any:
    require_permission(request.auth, VIEW_PERMISSION)
    holding = selectors.holding_get_for_user(user=request.auth, pk=holding_id)
    return list(selectors.valuation_list(user=request.auth, holding=holding))


@router.post("/{holding_id}/valuations", response={201: ValuationOut}, summary="Record a valuation")
def holding_revalue(request: HttpRequest, holding_id: int, data: ValuationIn) -> Any:
    holding = _managed(request, holding_id)
    valuation = services.holding_revalue(
        actor=request.auth,
        holding=holding,
        value_minor=data.value_minor,
        currency=data.currency,
        valued_on=data.valued_on,
        source=data.source,
    )
    return Status(201, valuation)


@router.get(
    "/{holding_id}/positions",
    response=list[PositionOut],
    summary="Portfolio positions with market value",
)
def position_list(request: HttpRequest, holding_id: int) -> Any:
    require_permission(request.auth, VIEW_PERMISSION)
    holding = selectors.holding_get_for_user(user=request.auth, pk=holding_id)
    positions = list(selectors.position_list(user=request.auth, holding=holding))
    rows = selectors.valued_positions(positions)
    return [_position(row) for row in rows]


@router.post("/{holding_id}/positions", response={201: PositionOut}, summary="Add a position")
def position_add(request: HttpRequest, holding_id: int, data: PositionIn) -> Any:
    holding = _managed(request, holding_id)
    position = services.position_add(actor=request.auth, holding=holding, data=data)
    return Status(201, _position(selectors.valued_positions([position])[0]))


@router.patch(
    "/{holding_id}/positions/{position_id}", response=PositionOut, summary="Change a position"
)
def position_change(
    request: HttpRequest, holding_id: int, position_id: int, data: PositionPatch
) -> Any:
    holding = _managed(request, holding_id)
    position = selectors.position_get_for_user(
        user=request.auth, holding=holding, pk=position_id, permission=MANAGE_PERMISSION
    )
    position = services.position_change(
        actor=request.auth, position=position, data=data.model_dump(exclude_unset=True)
    )
    return _position(selectors.valued_positions([position])[0])


@router.delete(
    "/{holding_id}/positions/{position_id}", response={204: None}, summary="Remove a position"
)
def position_remove(request: HttpRequest, holding_id: int, position_id: int) -> Any:
    holding = _managed(request, holding_id)
    position = selectors.position_get_for_user(
        user=request.auth, holding=holding, pk=position_id, permission=MANAGE_PERMISSION
    )
    services.position_remove(actor=request.auth, position=position)
    return Status(204, None)


@router.get(
    "/{holding_id}/schedule", response=list[InstalmentOut], summary="Loan repayment schedule"
)
def loan_schedule(request: HttpRequest, holding_id: int) -> Any:
    require_permission(request.auth, VIEW_PERMISSION)
    holding = selectors.holding_get_for_user(user=request.auth, pk=holding_id)
    return list(selectors.loan_schedule(user=request.auth, holding=holding))
