"""A stand-in for the customer registry: a person with every kind of protected field."""

from django.db import models

from cpms.privacy.choices import PiiKind
from cpms.privacy.protected import PiiField, ProtectedFields


class Household(models.Model):
    """A second table whose rows belong to a Person's subject (like a customer's contacts)."""

    person = models.ForeignKey("Person", on_delete=models.CASCADE, related_name="households")
    address_encrypted = models.TextField(blank=True, default="")

    pii = ProtectedFields(
        fields={"address": PiiField(PiiKind.TEXT, "address_encrypted")},
        subject=lambda household: ("privacy_fixture.person", str(household.person_id)),
    )

    def __str__(self) -> str:
        return f"household {self.pk}"


class Person(models.Model):
    label = models.CharField(max_length=50, blank=True)
    branch_code = models.CharField(max_length=16, blank=True)
    identity_number_encrypted = models.TextField(blank=True, default="")
    identity_number_index = models.CharField(max_length=64, blank=True, default="", db_index=True)
    phone_encrypted = models.TextField(blank=True, default="")
    phone_index = models.CharField(max_length=64, blank=True, default="", db_index=True)
    email_encrypted = models.TextField(blank=True, default="")
    email_index = models.CharField(max_length=64, blank=True, default="", db_index=True)
    name_encrypted = models.TextField(blank=True, default="")
    name_index = models.CharField(max_length=64, blank=True, default="", db_index=True)
    bank_account_encrypted = models.TextField(blank=True, default="")

    pii = ProtectedFields(
        fields={
            "identity_number": PiiField(
                PiiKind.IDENTITY, "identity_number_encrypted", "identity_number_index"
            ),
            "phone": PiiField(PiiKind.PHONE, "phone_encrypted", "phone_index"),
            "email": PiiField(PiiKind.EMAIL, "email_encrypted", "email_index"),
            "name": PiiField(PiiKind.NAME, "name_encrypted", "name_index"),
            "bank_account": PiiField(PiiKind.BANK_ACCOUNT, "bank_account_encrypted"),
        },
        # people of another branch are out of scope for staff of a branch (tests the hook)
        scope=lambda user, queryset: queryset.exclude(branch_code="HIDDEN"),
    )

    def __str__(self) -> str:
        return self.label or f"person {self.pk}"
