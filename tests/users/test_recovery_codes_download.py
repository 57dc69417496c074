"""Recovery codes can be downloaded (.txt) or printed from the page that shows them once
(issue 11, item 9). The file is built in the browser from that page: the server keeps only
hashes and has no address that serves the codes again."""

from __future__ import annotations

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse

from cpms.users.choices import Role
from cpms.users.models import RecoveryCode
from cpms.users.sessions import mark_authenticated

pytestmark = pytest.mark.django_db


@pytest.fixture
def enrolled_client(make_user, enrol):
    user = make_user(Role.RELATIONSHIP_MANAGER, username="rm-codes", display_name="客户经理丙")
    enrol(user)
    client = Client()
    client.force_login(user)
    session = client.session
    mark_authenticated(session)
    session.save()
    return client, user


def test_codes_page__offers_download_and_print_from_the_page(enrolled_client):
    client, _user = enrolled_client
    response = client.post(reverse("users:recovery-codes-regenerate"))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    content = response.content.decode()
    codes = response.context["codes"]
    assert len(codes) == 10
    for code in codes:
        assert f"<li data-code><code>{code}</code></li>" in content
    assert "data-recovery-download" in content and "data-recovery-print" in content
    assert 'data-owner="rm-codes"' in content
    assert 'data-filename="cpms-recovery-codes-rm-codes-' in content
    assert "users/recovery-codes.js" in content
    # the script builds the file from the page; it asks the server for nothing
    with open(finders.find("users/recovery-codes.js"), encoding="utf-8") as handle:
        script = handle.read()
    assert "new Blob(" in script and "fetch(" not in script and "XMLHttpRequest" not in script
    # a print stylesheet shows the sheet alone
    with open(finders.find("users/users.css"), encoding="utf-8") as handle:
        css = handle.read()
    assert "@media print" in css and ".recovery-sheet" in css


def test_codes__never_stored_in_plain_text_nor_shown_again(enrolled_client):
    client, user = enrolled_client
    codes = client.post(reverse("users:recovery-codes-regenerate")).context["codes"]
    stored = list(RecoveryCode.objects.filter(user=user).values_list("code_hash", flat=True))
    assert not set(codes) & set(stored)
    session_text = str(dict(client.session.items()))
    assert not any(code in session_text for code in codes)
    account = client.get(reverse("users:account")).content.decode()
    assert not any(code in account for code in codes)
    assert client.get(reverse("users:recovery-codes-regenerate")).status_code == 405
