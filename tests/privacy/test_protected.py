"""Protected fields on a model: encrypt + index on write, masked and clear reads, search."""

from __future__ import annotations

import pytest

from cpms.audit.choices import AuditAction
from cpms.core import crypto
from cpms.privacy import keys
from cpms.privacy.errors import IntegrityFailed, SubjectErased
from cpms.privacy.models import DataKey
from cpms.privacy.protected import (
    ERASED,
    pii_filter,
    pii_masked,
    pii_masked_many,
    pii_read,
    pii_read_many,
    resolve_target,
    target_of,
)
from cpms.privacy.services import data_key_destroy, pii_assign
from tests.privacy.conftest import CARD, EMAIL, NAME, PHONE, RESIDENT_ID
from tests.testapps.privacy_fixture.models import Household, Person
from tests.testapps.privacy_fixture.services import household_create, person_create, person_update


def test_pii_assign__stores_only_ciphertext_and_index(person):
    row = Person.objects.filter(pk=person.pk).values().get()

    for clear in (RESIDENT_ID, PHONE, EMAIL, NAME, CARD, EMAIL.lower()):
        assert clear not in str(row)
    assert row["identity_number_encrypted"].startswith("v1.")
    assert len(row["identity_number_index"]) == 64
    data_key = DataKey.objects.get(subject_type="privacy_fixture.person", subject_id=str(person.pk))
    assert crypto.token_key_id(row["phone_encrypted"]) == data_key.key_id
    assert data_key.master_key_id == keys.master_keyring().current_id


def test_pii_assign__creates_one_data_key_per_subject_and_audits_it(db, audit_actions):
    first = person_create(actor=None, phone=PHONE, email=EMAIL)
    person_update(actor=None, person=first, name=NAME)
    second = person_create(actor=None, phone=PHONE)

    assert DataKey.objects.filter(subject_type="privacy_fixture.person").count() == 2
    assert DataKey.objects.filter(subject_type="privacy.blind_index").count() == 1
    assert audit_actions() == [AuditAction.DATA_KEY_CREATED] * 3  # first, index root, second
    assert first.phone_encrypted != second.phone_encrypted
    assert first.phone_index == second.phone_index


def test_pii_read__round_trip(person):
    fresh = Person.objects.get(pk=person.pk)

    assert pii_read_many(
        [fresh], ["identity_number", "phone", "email", "name", "bank_account"]
    ) == [
        {
            "identity_number": RESIDENT_ID,
            "phone": PHONE,
            "email": EMAIL,
            "name": NAME,
            "bank_account": CARD,
        }
    ]


def test_pii_read__empty_field_is_none(db):
    person = person_create(actor=None, phone=PHONE)

    assert pii_read(person, "email") is None
    assert pii_masked(person, "email") == ""
    assert person.email_index == ""


def test_pii_assign__none_clears_value_and_index(person):
    person_update(actor=None, person=person, phone=None)
    fresh = Person.objects.get(pk=person.pk)

    assert (fresh.phone_encrypted, fresh.phone_index) == ("", "")
    assert pii_read(fresh, "phone") is None


def test_pii_masked__every_kind(person):
    assert pii_masked_many(
        [person], ["identity_number", "phone", "email", "name", "bank_account"]
    ) == [
        {
            "identity_number": "1101**********1234",
            "phone": "138****5678",
            "email": "Z***@Example.com",
            "name": "欧阳**",
            "bank_account": "6222 **** **** 1234",
        }
    ]


def test_pii_read_many__one_key_query_for_a_page(db, django_assert_num_queries):
    people = [person_create(actor=None, phone=f"1381234{index:04d}") for index in range(5)]
    fresh = list(Person.objects.order_by("pk"))
    keys.forget_cached_keys()

    with django_assert_num_queries(1):
        masked = pii_masked_many(fresh, ["phone", "email"])

    assert [row["phone"] for row in masked] == [f"138****{index:04d}" for index in range(5)]
    assert len(people) == 5


def test_pii_read__ciphertext_copied_to_another_row_refused(db):
    first = person_create(actor=None, phone=PHONE)
    second = person_create(actor=None, phone="13900000000")
    Person.objects.filter(pk=second.pk).update(phone_encrypted=first.phone_encrypted)

    with pytest.raises(IntegrityFailed):
        pii_read(Person.objects.get(pk=second.pk), "phone")


def test_pii_read__ciphertext_copied_to_another_column_refused(person):
    Person.objects.filter(pk=person.pk).update(email_encrypted=person.phone_encrypted)

    with pytest.raises(IntegrityFailed):
        pii_read(Person.objects.get(pk=person.pk), "email")


def test_pii_read__tampered_value_refused(person):
    token = person.phone_encrypted
    body = token.split(".")[2]
    flipped = body[:20] + ("A" if body[20] != "A" else "B") + body[21:]
    Person.objects.filter(pk=person.pk).update(phone_encrypted=token.replace(body, flipped))

    with pytest.raises(IntegrityFailed):
        pii_read(Person.objects.get(pk=person.pk), "phone")


def test_pii_read__unknown_key_id_refused(person):
    body = person.phone_encrypted.split(".")[2]
    Person.objects.filter(pk=person.pk).update(phone_encrypted=f"v1.ffffffffffffffff.{body}")

    with pytest.raises(IntegrityFailed):
        pii_read(Person.objects.get(pk=person.pk), "phone")


def test_pii_read__malformed_value_refused(person):
    Person.objects.filter(pk=person.pk).update(phone_encrypted="13812345678")

    with pytest.raises(IntegrityFailed):
        pii_read(Person.objects.get(pk=person.pk), "phone")


def test_pii_read__wrapped_key_tampered_refused(person):
    data_key = DataKey.objects.get(subject_type="privacy_fixture.person", subject_id=str(person.pk))
    other = DataKey.objects.get(subject_type="privacy.blind_index")
    DataKey.objects.filter(pk=data_key.pk).update(wrapped_key=other.wrapped_key)
    keys.forget_cached_keys()

    with pytest.raises(IntegrityFailed):
        pii_read(Person.objects.get(pk=person.pk), "phone")


def test_household__shares_the_person_subject_key(person):
    household = household_create(actor=None, person=person, address="浙江省杭州市文三路 1 号")

    data_key = DataKey.objects.get(subject_type="privacy_fixture.person", subject_id=str(person.pk))
    assert crypto.token_key_id(household.address_encrypted) == data_key.key_id
    assert pii_read(Household.objects.get(pk=household.pk), "address") == "浙江省杭州市文三路 1 号"


def test_pii_filter__exact_search_through_normalised_index(person, db):
    other = person_create(actor=None, identity_number="11010119900307123X", phone="13900000000")
    people = Person.objects.all()

    assert list(pii_filter(people, "identity_number", "110101 19900307 1234")) == [person]
    assert list(pii_filter(people, "identity_number", "11010119900307123x")) == [other]
    assert list(pii_filter(people, "phone", "+86 138-1234-5678")) == [person]
    assert list(pii_filter(people, "email", "zhang.san@example.COM")) == [person]
    assert list(pii_filter(people, "name", " 欧阳娜娜 ")) == [person]
    assert list(pii_filter(people, "phone", "13812345679")) == []
    assert list(pii_filter(people, "phone", "")) == []
    assert list(pii_filter(people, "phone", "n/a")) == []


def test_pii_filter__before_anything_is_indexed_finds_nothing(db):
    assert list(pii_filter(Person.objects.all(), "phone", PHONE)) == []
    assert DataKey.objects.count() == 0


def test_pii_filter__field_without_index_refused(person):
    with pytest.raises(ValueError):
        pii_filter(Person.objects.all(), "bank_account", CARD)


def test_pii_assign__unknown_field_refused(person):
    with pytest.raises(ValueError):
        pii_assign(actor=None, instance=person, values={"label": "x"})


def test_pii_assign__unsaved_row_refused(db):
    with pytest.raises(ValueError):
        pii_assign(actor=None, instance=Person(), values={"phone": PHONE})
    assert DataKey.objects.count() == 0


def test_data_key_destroy__crypto_shreds_every_table(person, audit_actions):
    household = household_create(actor=None, person=person, address="文三路 1 号")
    before = audit_actions()

    data_key_destroy(actor=None, subject=person, reason="PIPL erasure request #12")

    fresh = Person.objects.get(pk=person.pk)
    assert pii_read(fresh, "phone") == ERASED
    assert pii_masked(fresh, "identity_number") == ERASED
    assert pii_read(Household.objects.get(pk=household.pk), "address") == ERASED
    data_key = DataKey.objects.get(subject_type="privacy_fixture.person", subject_id=str(person.pk))
    assert (data_key.wrapped_key, data_key.master_key_id) == ("", "")
    assert data_key.destroyed_at is not None
    assert audit_actions()[len(before) :] == [AuditAction.DATA_KEY_DESTROYED]


def test_data_key_destroy__new_data_for_the_subject_refused(person):
    data_key_destroy(actor=None, subject=person, reason="erasure")
    before = Person.objects.filter(pk=person.pk).values().get()

    with pytest.raises(SubjectErased):
        person_update(actor=None, person=Person.objects.get(pk=person.pk), phone="13900000000")
    assert Person.objects.filter(pk=person.pk).values().get() == before


def test_data_key_destroy__subject_without_key_gets_a_tombstone(db, audit_actions):
    data_key_destroy(actor=None, subject=("privacy_fixture.person", "999"), reason="erasure")

    row = DataKey.objects.get(subject_type="privacy_fixture.person", subject_id="999")
    assert row.is_destroyed and row.wrapped_key == ""
    assert audit_actions() == [AuditAction.DATA_KEY_DESTROYED]


def test_data_key_destroy__twice_changes_nothing(person, audit_actions):
    data_key_destroy(actor=None, subject=person, reason="erasure")
    count = len(audit_actions())

    data_key_destroy(actor=None, subject=person, reason="erasure again")

    assert len(audit_actions()) == count


def test_data_key_destroy__reason_required(person, audit_actions):
    count = len(audit_actions())

    with pytest.raises(Exception) as raised:
        data_key_destroy(actor=None, subject=person, reason="  ")

    assert raised.value.fields == {"reason": "A reason is required."}
    assert len(audit_actions()) == count
    assert pii_read(Person.objects.get(pk=person.pk), "phone") == PHONE


def test_data_key_destroy__blind_index_root_refused(person):
    with pytest.raises(Exception) as raised:
        data_key_destroy(actor=None, subject=keys.BLIND_INDEX_SUBJECT, reason="no")

    assert raised.value.code == "validation_failed"
    assert not DataKey.objects.filter(destroyed_at__isnull=False).exists()


def test_resolve_target__only_models_with_protected_fields(person):
    assert resolve_target(target_of(person)) == (Person, str(person.pk))
    for target in (
        "users.user:1",
        "privacy_fixture.person",
        "nope.model:1",
        "privacy_fixture.person:x",
    ):
        with pytest.raises(Exception) as raised:
            resolve_target(target)
        assert raised.value.code == "not_found"
