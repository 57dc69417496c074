"""Permission matrix declarations of the customer registry's custom fields and KYC verification
requests (see tests/permission_rules.py). The registry's original pages and endpoints are
declared in tests/test_permission_matrix.py itself."""

from __future__ import annotations

from tests.permission_rules import Rule

CONFIGURE = ("customers.configure",)
BASE = "/api/v1/customers/custom-fields"

MANAGE = ("customers.manage",)
KYC = "/api/v1/customers/{customer_id}/kyc-verification"

CONSOLE = {
    "customers:fields": Rule(CONFIGURE),
    "customers:field-edit": Rule(CONFIGURE),
    "customers:kyc-request": Rule(MANAGE, "POST", scoped=True),
}

API = {
    ("GET", BASE): Rule(("customers.view", "customers.configure")),
    ("POST", BASE): Rule(CONFIGURE, "POST"),
    ("PATCH", f"{BASE}/{{definition_id}}"): Rule(CONFIGURE, "PATCH"),
    ("POST", KYC): Rule(MANAGE, "POST", scoped=True),
}

WRITE_BODIES = {
    BASE: {
        "customer_kind": "individual",
        "key": "matrix_field",
        "label": "Matrix",
        "field_type": "text",
    },
    f"{BASE}/{{definition_id}}": {"label": "Renamed by the matrix", "active": False},
    KYC: {"reason": "matrix"},
}

PLACEHOLDERS = {"{definition_id}": lambda world: str(world["custom_field"].pk)}


def build(world: dict) -> None:
    from cpms.customers.services import custom_field_define

    world["custom_field"] = custom_field_define(
        actor=world["users"]["administrator"],
        data={
            "customer_kind": "organisation",
            "key": "industry",
            "label": "Industry",
            "field_type": "choice",
            "choices": ["retail", "finance"],
        },
    )


def console_kwargs(name: str, world: dict) -> dict | None:
    if name == "customers:field-edit":
        return {"pk": world["custom_field"].pk}
    if name == "customers:kyc-request":
        return {"pk": world["customer"].pk}
    return None


def state(world: dict) -> tuple:
    from cpms.approvals.models import ApprovalRequest
    from cpms.customers.models import Customer, CustomFieldDefinition

    return (
        *CustomFieldDefinition.objects.order_by("pk").values_list("key", "label", "active"),
        ApprovalRequest.objects.filter(action="customers.kyc_verify").count(),
        tuple(Customer.objects.order_by("pk").values_list("kyc_status", flat=True)),
    )
