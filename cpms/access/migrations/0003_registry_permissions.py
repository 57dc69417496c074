"""Permissions of the customer and property registry (issue 4) added to the built-in roles.
Frozen here on purpose: later changes to the defaults must not rewrite history."""

from django.db import migrations

ADDED = {
    "relationship_manager": (
        "holdings.view",
        "holdings.manage",
        "custody.operate",
        "documents.view",
        "documents.manage",
        "retail.view",
        "retail.manage",
        "data.import",
        "data.export",
        "quality.review",
    ),
    "finance_officer": ("holdings.view", "documents.view", "retail.view"),
    "compliance_officer": (
        "holdings.view",
        "documents.view",
        "retail.view",
        "data.export",
        "quality.review",
    ),
    "auditor": ("holdings.view", "documents.view", "retail.view", "data.export"),
    "customer_service": ("holdings.view", "retail.view", "retail.manage"),
}


def forwards(apps, schema_editor):
    Role = apps.get_model("access", "Role")
    RolePermission = apps.get_model("access", "RolePermission")
    for code, permissions in ADDED.items():
        role = Role.objects.filter(code=code).first()
        if role is None:
            continue
        for permission in permissions:
            RolePermission.objects.get_or_create(role=role, code=permission)


class Migration(migrations.Migration):
    dependencies = [("access", "0002_default_roles")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
