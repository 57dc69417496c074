"""The default earn rule (issue 5): 1 point per 1.00 CNY spent; tiers by rolling 12-month net
spend: standard 1.0x, silver 1.25x from 5,000 CNY, gold 1.5x from 20,000 CNY; lots expire
after 12 months. Frozen here on purpose: later changes go through the console (audited)."""

from django.db import migrations

TIERS = [
    {"code": "standard", "name": "Standard", "threshold_minor": 0, "multiplier": "1.0"},
    {"code": "silver", "name": "Silver", "threshold_minor": 500_000, "multiplier": "1.25"},
    {"code": "gold", "name": "Gold", "threshold_minor": 2_000_000, "multiplier": "1.5"},
]


def create_rule(apps, schema_editor):
    PointsRule = apps.get_model("points", "PointsRule")
    PointsRule.objects.get_or_create(
        currency="CNY",
        defaults={
            "name": "CNY points",
            "points_per_unit": 1,
            "unit_minor": 100,
            "category_multipliers": {},
            "tiers": TIERS,
            "expiry_months": 12,
            "active": True,
        },
    )


class Migration(migrations.Migration):
    dependencies = [("points", "0001_initial")]

    operations = [migrations.RunPython(create_rule, migrations.RunPython.noop)]
