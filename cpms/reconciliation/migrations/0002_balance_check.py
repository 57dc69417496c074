from django.db import migrations, models


def _from_consistent(apps, schema_editor):
    """Statements imported before the field existed: adds up when `consistent`."""
    statement = apps.get_model("reconciliation", "BankStatement")
    statement.objects.filter(consistent=True).update(balance_check="adds_up")


class Migration(migrations.Migration):
    dependencies = [
        ("reconciliation", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="bankstatement",
            name="balance_check",
            field=models.CharField(
                choices=[
                    ("adds_up", "Adds up"),
                    ("does_not_add_up", "Does not add up"),
                    ("not_checkable", "Balance not checkable"),
                ],
                default="does_not_add_up",
                max_length=16,
                verbose_name="balance check",
            ),
        ),
        migrations.RunPython(_from_consistent, migrations.RunPython.noop),
    ]
