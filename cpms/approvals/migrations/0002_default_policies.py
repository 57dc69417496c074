"""Default approval policies for the built-in actions. Existing rows are kept as they are."""

from django.db import migrations

# action, approvers required, threshold (minor units), currency, expiry (hours)
DEFAULT_POLICIES = (
    ("ledger.transfer", 1, 5_000_000, "CNY", 24),
    ("holdings.dispose", 1, None, "", 72),
    ("customers.merge", 1, None, "", 72),
    ("access.role_grant", 1, None, "", 72),
    ("monitoring.rule_change", 1, None, "", 72),
    ("privacy.bulk_export", 1, None, "", 24),
)


def create_policies(apps, schema_editor):
    ApprovalPolicy = apps.get_model("approvals", "ApprovalPolicy")
    for action, approvers, threshold, currency, hours in DEFAULT_POLICIES:
        ApprovalPolicy.objects.get_or_create(
            action=action,
            defaults={
                "enabled": True,
                "approvers_required": approvers,
                "threshold_minor": threshold,
                "currency": currency,
                "expiry_hours": hours,
                "approver_permission": "approvals.decide",
            },
        )


class Migration(migrations.Migration):
    dependencies = [("approvals", "0001_initial")]

    operations = [migrations.RunPython(create_policies, migrations.RunPython.noop)]
