"""`customers.configure` (define custom customer fields) added to the built-in administrator
role. Frozen here on purpose: later changes to the defaults must not rewrite history."""

from django.db import migrations

ADDED = {"administrator": ("customers.configure",)}


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
    dependencies = [("access", "0003_registry_permissions")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
