from django.db import migrations

DEFAULT_ROLES = (
    "relationship_manager",
    "finance_officer",
    "compliance_officer",
    "auditor",
    "customer_service",
    "trainer",
    "administrator",
    "customer",
)


def create_roles(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in DEFAULT_ROLES:
        Group.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    dependencies = [("users", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
