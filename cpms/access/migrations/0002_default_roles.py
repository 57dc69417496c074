"""Built-in roles with their default permissions and scopes, the default segregation-of-duties
conflicts, and grants for users who already had a role group. The constants are frozen here on
purpose: later changes to the defaults must not rewrite history."""

from django.db import migrations

ROLES = {
    "administrator": (
        "Administrator",
        (
            "users.view",
            "users.manage",
            "users.unlock",
            "roles.manage",
            "tokens.manage",
            "approvals.configure",
            "keys.manage",
            "audit.verify",
        ),
    ),
    "relationship_manager": (
        "Relationship manager",
        ("customers.view", "customers.manage", "approvals.request"),
    ),
    "finance_officer": (
        "Finance officer",
        ("customers.view", "ledger.view", "ledger.post", "approvals.request", "approvals.decide"),
    ),
    "compliance_officer": (
        "Compliance officer",
        (
            "customers.view",
            "ledger.view",
            "pii.reveal",
            "audit.view",
            "audit.export",
            "audit.verify",
            "approvals.decide",
            "approvals.configure",
        ),
    ),
    "auditor": (
        "Auditor",
        (
            "users.view",
            "customers.view",
            "ledger.view",
            "audit.view",
            "audit.export",
            "audit.verify",
        ),
    ),
    "customer_service": ("Customer service", ("customers.view",)),
    "trainer": ("Trainer / support", ()),
    "customer": ("Customer (portal)", ()),
}
SCOPES = {
    "administrator": "all",
    "relationship_manager": "assigned",
    "finance_officer": "branch",
    "compliance_officer": "all",
    "auditor": "all",
    "customer_service": "all",
    "trainer": "all",
    "customer": "self",
}
CONFLICTS = (("audit.export", "ledger.post"), ("approvals.decide", "roles.manage"))


def forwards(apps, schema_editor):
    Role = apps.get_model("access", "Role")
    RolePermission = apps.get_model("access", "RolePermission")
    PermissionConflict = apps.get_model("access", "PermissionConflict")
    Grant = apps.get_model("access", "Grant")
    User = apps.get_model("users", "User")
    for code, (name, permissions) in ROLES.items():
        role, _ = Role.objects.get_or_create(code=code, defaults={"name": name, "builtin": True})
        for permission in permissions:
            RolePermission.objects.get_or_create(role=role, code=permission)
    for first, second in CONFLICTS:
        PermissionConflict.objects.get_or_create(first=first, second=second)
    for user in User.objects.prefetch_related("groups"):
        for group in user.groups.all():
            if group.name not in ROLES:
                continue
            scope = SCOPES[group.name]
            if scope == "branch" and user.branch_id is None:
                scope = "all"
            Grant.objects.get_or_create(
                user=user,
                role=Role.objects.get(code=group.name),
                scope=scope,
                branch_id=user.branch_id if scope == "branch" else None,
                revoked_at=None,
            )


class Migration(migrations.Migration):
    dependencies = [("access", "0001_initial"), ("users", "0002_default_roles")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
