"""Issue 11: possible-duplicate confirmations on the customer, identity claims (one per identity
document, unique: two registrations of the same document cannot both commit) filled from the
register (the first customer of each document keeps its claim), and the default approval policy
of KYC verification (a second person approves; administrators may change or disable it)."""

import django.db.models.deletion
from django.db import migrations, models

KYC_VERIFY_ACTION = "customers.kyc_verify"


def claim_existing(apps, schema_editor):
    Customer = apps.get_model("customers", "Customer")
    IdentityClaim = apps.get_model("customers", "IdentityClaim")
    seen = set()
    batch = []
    rows = (
        Customer.objects.exclude(identity_number_index="")
        .order_by("pk")
        .values_list("pk", "identity_kind", "identity_country", "identity_number_index")
    )
    for pk, kind, country, index in rows.iterator(chunk_size=2000):
        key = f"{kind}:{country or ''}:{index}"
        if key in seen:
            continue
        seen.add(key)
        batch.append(IdentityClaim(key=key, customer_id=pk))
        if len(batch) >= 1000:
            IdentityClaim.objects.bulk_create(batch)
            batch = []
    if batch:
        IdentityClaim.objects.bulk_create(batch)


def create_policy(apps, schema_editor):
    ApprovalPolicy = apps.get_model("approvals", "ApprovalPolicy")
    ApprovalPolicy.objects.get_or_create(
        action=KYC_VERIFY_ACTION,
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
    dependencies = [
        ("customers", "0002_custom_fields"),
        ("approvals", "0002_default_policies"),
    ]

    operations = [
        migrations.AddField(
            model_name="customer",
            name="duplicate_confirmation",
            field=models.JSONField(
                blank=True, default=dict, verbose_name="possible duplicate confirmed"
            ),
        ),
        migrations.CreateModel(
            name="IdentityClaim",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("key", models.CharField(max_length=120, unique=True, verbose_name="identity key")),
                (
                    "customer",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="identity_claims",
                        to="customers.customer",
                    ),
                ),
            ],
            options={
                "verbose_name": "identity claim",
                "verbose_name_plural": "identity claims",
            },
        ),
        migrations.RunPython(claim_existing, migrations.RunPython.noop),
        migrations.RunPython(create_policy, migrations.RunPython.noop),
    ]
