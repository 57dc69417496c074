import pytest


@pytest.mark.django_db
def test_request_id__generated_when_absent(client):
    response = client.get("/healthz")
    assert len(response["X-Request-ID"]) == 32


@pytest.mark.django_db
@pytest.mark.parametrize("supplied", ["short", "bad id with spaces", "x" * 65])
def test_request_id__untrusted_values_replaced(client, supplied):
    response = client.get("/healthz", HTTP_X_REQUEST_ID=supplied)
    assert response["X-Request-ID"] != supplied
    assert len(response["X-Request-ID"]) == 32


@pytest.mark.django_db
def test_request_id__well_formed_value_propagated(client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="lb-0123456789abcdef")
    assert response["X-Request-ID"] == "lb-0123456789abcdef"
