"""Default approval policy for loyalty point adjustments (issue 5): always one approver."""

from django.db import migrations


def create_policies(apps, schema_editor):
    ApprovalPolicy = apps.get_model("approvals", "ApprovalPolicy")
    ApprovalPolicy.objects.get_or_create(
        action="points.adjust",
        defaults={
            "enabled": True,
            "approvers_required": 1,
            "threshold_minor": None,
            "currency": "",
            "expiry_hours": 72,
            "approver_permission": "approvals.decide",
        },
    )


class Migration(migrations.Migration):
    dependencies = [("approvals", "0002_default_policies")]

    operations = [migrations.RunPython(create_policies, migrations.RunPython.noop)]
