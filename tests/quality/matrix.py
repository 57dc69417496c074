"""Permission-matrix declarations of the data-quality pages and endpoints
(see tests/permission_rules.py)."""

from __future__ import annotations

from tests.permission_rules import Rule

REVIEW = ("quality.review",)

CONSOLE = {
    "quality:queue": Rule(REVIEW),
    "quality:candidate": Rule(REVIEW, scoped=True),
    "quality:candidate-dismiss": Rule(REVIEW, "POST", scoped=True),
    "quality:candidate-merge": Rule(REVIEW, "POST", scoped=True),
    "quality:scan": Rule(REVIEW, "POST"),
    "quality:completeness": Rule(REVIEW),
    "quality:stale": Rule(REVIEW),
    "quality:summaries": Rule(REVIEW),
}

API = {
    ("GET", "/api/v1/quality/candidates"): Rule(REVIEW),
    ("GET", "/api/v1/quality/candidates/{candidate_id}"): Rule(REVIEW, scoped=True),
    ("POST", "/api/v1/quality/candidates/{candidate_id}/dismiss"): Rule(
        REVIEW, "POST", scoped=True
    ),
    ("POST", "/api/v1/quality/candidates/{candidate_id}/merge"): Rule(REVIEW, "POST", scoped=True),
    ("POST", "/api/v1/quality/scan"): Rule(REVIEW, "POST"),
    ("GET", "/api/v1/quality/completeness"): Rule(REVIEW),
    ("GET", "/api/v1/quality/completeness/{customer_id}"): Rule(REVIEW, scoped=True),
    ("GET", "/api/v1/quality/stale"): Rule(REVIEW),
    ("GET", "/api/v1/quality/summaries"): Rule(REVIEW),
    ("GET", "/api/v1/quality/overview"): Rule(REVIEW),
    ("GET", "/api/v1/quality/merges"): Rule(REVIEW),
}

WRITE_BODIES = {
    "/api/v1/quality/candidates/{candidate_id}/dismiss": {"reason": "matrix"},
    "/api/v1/quality/candidates/{candidate_id}/merge": {"survivor_id": 1, "reason": "matrix"},
}

PLACEHOLDERS = {
    "{candidate_id}": lambda world: str(world["quality_candidate"].pk),
}


def build(world: dict) -> None:
    """A second registration of the matrix customer (same USCC, the same relationship manager)
    and the pair the system's scan finds."""
    from cpms.customers.services import customer_register
    from cpms.quality.models import DuplicateCandidate
    from cpms.quality.services import duplicate_scan
    from tests.customers.legacy import legacy_registration

    manager = world["users"]["relationship_manager"]
    with legacy_registration():  # a duplicate from before the registry refused them
        twin = customer_register(
            actor=manager,
            data={
                "kind": "organisation",
                "legal_name": "矩阵测试",
                "identity_kind": "uscc",
                "identity_number": "91350100M000100Y43",
                "relationship_manager_id": manager.pk,
            },
        )
    duplicate_scan(actor=None)
    world["quality_candidate"] = DuplicateCandidate.objects.get(
        customer_a=world["customer"], customer_b=twin
    )


def console_kwargs(name: str, world: dict) -> dict | None:
    if name.startswith("quality:candidate"):
        return {"pk": world["quality_candidate"].pk}
    return None


def state(world: dict) -> tuple:
    from cpms.quality.models import CustomerMerge, DuplicateCandidate, QualitySummary

    return (
        tuple(DuplicateCandidate.objects.order_by("pk").values_list("status", flat=True)),
        CustomerMerge.objects.count(),
        QualitySummary.objects.count(),
    )
