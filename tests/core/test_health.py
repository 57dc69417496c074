from __future__ import annotations

import pytest
from django.db.utils import OperationalError

from cpms import __version__


@pytest.mark.django_db
def test_healthz__ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "version": __version__}
    assert response["Cache-Control"].startswith("max-age=0")


def test_healthz__database_down_is_503_with_the_reason(client, monkeypatch):
    # given a database that cannot be reached
    def refuse(self, *args, **kwargs):
        raise OperationalError('connection to server at "127.0.0.1", port 5432 failed')

    monkeypatch.setattr(
        "django.db.backends.base.base.BaseDatabaseWrapper.ensure_connection", refuse
    )
    # when
    response = client.get("/healthz")
    # then
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["database"].startswith("OperationalError: connection to server")
    assert body["version"] == __version__


@pytest.mark.django_db
def test_healthz__needs_no_authentication_and_only_get(client):
    assert client.post("/healthz").status_code == 405
