"""Ledger permissions (issue 5) added to the built-in roles. Frozen here on purpose: later
changes to the defaults must not rewrite history."""

from django.db import migrations

ADDED = {
    "finance_officer": ("ledger.close", "ledger.reconcile"),
    "relationship_manager": ("points.redeem", "points.adjust"),
    "customer_service": ("points.redeem",),
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
    dependencies = [("access", "0004_customers_configure")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
