"""API for customers, mounted at /api/v1/customers/ by cpms.config.api. Personal data is always
masked here; a clear value needs POST /api/v1/privacy/reveal (permission, reason, audited)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.http import HttpRequest
from ninja import Field as NinjaField
from ninja import Query, Router, Schema, Status

from cpms.access.checks import require_permission, user_has_permission
from cpms.core.pagination import DEFAULT_LIMIT, MAX_LIMIT, keyset_page
from cpms.customers import selectors, services
from cpms.customers.choices import CustomerKind, CustomerStatus
from cpms.customers.models import (
    CONFIGURE_PERMISSION,
    MANAGE_PERMISSION,
    VIEW_PERMISSION,
    Customer,
)
from cpms.customers.schemas import (
    ConsentIn,
    ConsentOut,
    ConsentWithdrawIn,
    CustomerData,
    CustomerOut,
    CustomerPage,
    CustomerPatch,
    CustomFieldDefinitionIn,
    CustomFieldDefinitionOut,
    CustomFieldDefinitionPatch,
    KycVerificationIn,
    KycVerificationOut,
    StatusChangeIn,
)

router = Router(tags=["customers"])
ORDERING = ("-pk",)


class CustomerFilters(Schema):
    q: str | None = NinjaField(
        None, description="Name, pinyin, customer number, or an exact ID number, phone or email."
    )
    status: CustomerStatus | None = None
    kind: CustomerKind | None = None
    branch: int | None = None
    limit: int = NinjaField(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Page size.")
    cursor: str | None = NinjaField(None, description="next_cursor of the previous page.")


def _out(rows: Sequence[Customer]) -> list[dict[str, Any]]:
    masked = selectors.customer_masked(rows)
    items = []
    for customer, pii in zip(rows, masked, strict=True):
        item = {
            name: getattr(customer, name)
            for name in CustomerOut.model_fields
            if name not in pii and name != "id"
        }
        item.update(id=customer.pk, **pii)
        items.append(item)
    return items


@router.get("", response=CustomerPage, summary="List customers")
def customer_list(request: HttpRequest, filters: Query[CustomerFilters]) -> Any:
    """Keyset-paginated like every list (`limit`, `cursor`, `next_cursor`); the page is built
    here rather than by @paginate so its personal data is masked with one key query."""
    require_permission(request.auth, VIEW_PERMISSION)
    customers = selectors.customer_list(
        user=request.auth,
        q=filters.q,
        status=filters.status,
        branch=filters.branch,
        kind=filters.kind,
    )
    rows, next_cursor = keyset_page(
        customers, limit=filters.limit, cursor=filters.cursor, ordering=ORDERING
    )
    return {"items": _out(rows), "next_cursor": next_cursor}


@router.post("", response={201: CustomerOut}, summary="Register a customer")
def customer_register(request: HttpRequest, data: CustomerData) -> Any:
    """409 `customers.duplicate_identity`: the identity document is registered already
    (`error.existing.customer_number` when that customer is in your scope). 409
    `customers.possible_duplicate`: customers look like the same person (`error.candidates`:
    their customer numbers within your scope; `error.candidates_elsewhere`: how many others);
    send again with `confirm_possible_duplicate: true` and a `duplicate_reason`. 409
    `customers.kyc_needs_approval`: KYC verified is requested afterwards (kyc-verification)."""
    require_permission(request.auth, MANAGE_PERMISSION)
    customer = services.customer_register(actor=request.auth, data=data)
    return Status(201, _out([customer])[0])


class CustomFieldFilters(Schema):
    kind: CustomerKind | None = None
    active: bool | None = None


@router.get(
    "/custom-fields", response=list[CustomFieldDefinitionOut], summary="Custom field definitions"
)
def custom_field_list(request: HttpRequest, filters: Query[CustomFieldFilters]) -> Any:
    """The fields administrators defined per kind of customer (few: not paginated). Readable
    with customers.view or customers.configure."""
    if not user_has_permission(request.auth, CONFIGURE_PERMISSION):
        require_permission(request.auth, VIEW_PERMISSION)
    return list(
        selectors.custom_field_list(user=request.auth, kind=filters.kind, active=filters.active)
    )


@router.post(
    "/custom-fields",
    response={201: CustomFieldDefinitionOut},
    summary="Define a custom field",
)
def custom_field_define(request: HttpRequest, data: CustomFieldDefinitionIn) -> Any:
    require_permission(request.auth, CONFIGURE_PERMISSION)
    return Status(201, services.custom_field_define(actor=request.auth, data=data))


@router.patch(
    "/custom-fields/{definition_id}",
    response=CustomFieldDefinitionOut,
    summary="Change a custom field definition",
)
def custom_field_update(
    request: HttpRequest, definition_id: int, data: CustomFieldDefinitionPatch
) -> Any:
    require_permission(request.auth, CONFIGURE_PERMISSION)
    definition = selectors.custom_field_get(user=request.auth, pk=definition_id)
    return services.custom_field_update(actor=request.auth, definition=definition, data=data)


@router.get("/{customer_id}", response=CustomerOut, summary="One customer")
def customer_get(request: HttpRequest, customer_id: int) -> Any:
    require_permission(request.auth, VIEW_PERMISSION)
    return _out([selectors.customer_get_for_user(user=request.auth, pk=customer_id)])[0]


@router.patch("/{customer_id}", response=CustomerOut, summary="Change a customer")
def customer_update(request: HttpRequest, customer_id: int, data: CustomerPatch) -> Any:
    require_permission(request.auth, MANAGE_PERMISSION)
    customer = selectors.customer_get_for_user(
        user=request.auth, pk=customer_id, permission=MANAGE_PERMISSION
    )
    return _out([services.customer_update(actor=request.auth, customer=customer, data=data)])[0]


@router.post("/{customer_id}/status", response=CustomerOut, summary="Change a customer's status")
def customer_status_change(request: HttpRequest, customer_id: int, data: StatusChangeIn) -> Any:
    require_permission(request.auth, MANAGE_PERMISSION)
    customer = selectors.customer_get_for_user(
        user=request.auth, pk=customer_id, permission=MANAGE_PERMISSION
    )
    customer = services.customer_status_change(
        actor=request.auth, customer=customer, status=data.status, reason=data.reason
    )
    return _out([customer])[0]


@router.post(
    "/{customer_id}/kyc-verification",
    response={200: KycVerificationOut, 202: KycVerificationOut},
    summary="Request KYC verification",
)
def kyc_verification(request: HttpRequest, customer_id: int, data: KycVerificationIn) -> Any:
    """Mark the customer's KYC as verified through maker-checker: answers 202 with the pending
    approval request (a second person holding `approvals.decide` approves it; the maker cannot),
    or 200 when the `customers.kyc_verify` policy is disabled and the change was made at once.
    409 `customers.kyc_request_pending` while a request is waiting."""
    require_permission(request.auth, MANAGE_PERMISSION)
    customer = selectors.customer_get_for_user(
        user=request.auth, pk=customer_id, permission=MANAGE_PERMISSION
    )
    outcome = services.kyc_verify_request(actor=request.auth, customer=customer, reason=data.reason)
    if isinstance(outcome, Customer):
        return Status(200, {"status": "verified", "customer_number": outcome.customer_number})
    return Status(
        202,
        {
            "status": "pending",
            "approval_request_id": outcome.pk,
            "customer_number": customer.customer_number,
        },
    )


@router.get("/{customer_id}/consents", response=list[ConsentOut], summary="Consent history")
def consent_list(request: HttpRequest, customer_id: int) -> Any:
    require_permission(request.auth, VIEW_PERMISSION)
    customer = selectors.customer_get_for_user(user=request.auth, pk=customer_id)
    return list(selectors.consent_list(user=request.auth, customer=customer))


@router.post("/{customer_id}/consents", response={201: ConsentOut}, summary="Record a consent")
def consent_grant(request: HttpRequest, customer_id: int, data: ConsentIn) -> Any:
    require_permission(request.auth, MANAGE_PERMISSION)
    customer = selectors.customer_get_for_user(
        user=request.auth, pk=customer_id, permission=MANAGE_PERMISSION
    )
    consent = services.consent_grant(
        actor=request.auth,
        customer=customer,
        purpose=data.purpose,
        channel=data.channel,
        granted_at=data.granted_at,
    )
    return Status(201, consent)


@router.post(
    "/{customer_id}/consents/{consent_id}/withdraw",
    response=ConsentOut,
    summary="Withdraw a consent",
)
def consent_withdraw(
    request: HttpRequest, customer_id: int, consent_id: int, data: ConsentWithdrawIn
) -> Any:
    require_permission(request.auth, MANAGE_PERMISSION)
    customer = selectors.customer_get_for_user(
        user=request.auth, pk=customer_id, permission=MANAGE_PERMISSION
    )
    consent = selectors.consent_get_for_user(user=request.auth, customer=customer, pk=consent_id)
    return services.consent_withdraw(
        actor=request.auth, consent=consent, channel=data.channel, reason=data.reason
    )
