import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from cpms.users.choices import Role


@pytest.mark.django_db
def test_migrate__creates_every_default_role():
    assert set(Group.objects.values_list("name", flat=True)) >= set(Role.values)
    assert len(Role.values) == 8


def test_user_model__is_the_custom_model():
    assert get_user_model()._meta.label == "users.User"


@pytest.mark.django_db
def test_passwords__hashed_with_argon2(staff):
    assert staff.password.startswith("argon2$")
