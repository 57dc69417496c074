"""How a registry service uses the privacy layer: create the row, then encrypt onto it."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from cpms.privacy.services import pii_assign
from tests.testapps.privacy_fixture.models import Household, Person


def person_create(*, actor: Any, label: str = "", branch_code: str = "", **values: str) -> Person:
    with transaction.atomic():
        person = Person.objects.create(label=label, branch_code=branch_code)
        changed = pii_assign(actor=actor, instance=person, values=values)
        person.save(update_fields=changed)
    return person


def person_update(*, actor: Any, person: Person, **values: str | None) -> Person:
    with transaction.atomic():
        changed = pii_assign(actor=actor, instance=person, values=values)
        person.save(update_fields=changed)
    return person


def household_create(*, actor: Any, person: Person, address: str) -> Household:
    with transaction.atomic():
        household = Household.objects.create(person=person)
        changed = pii_assign(actor=actor, instance=household, values={"address": address})
        household.save(update_fields=changed)
    return household
