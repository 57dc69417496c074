"""pii_reveal: permission, reason, rate limit, audit; console endpoint, template tag, API."""

from __future__ import annotations

import pytest
from django.template import Context, Template
from django.test import Client, RequestFactory

from cpms.audit.choices import AuditAction
from cpms.audit.models import AuditEntry
from cpms.core.errors import NotFound, PermissionDenied
from cpms.privacy.errors import RateLimited, ReasonRequired
from cpms.privacy.protected import ERASED, target_of
from cpms.privacy.services import data_key_destroy, pii_reveal
from cpms.users.choices import Role
from tests.privacy.conftest import CARD, PHONE, RESIDENT_ID
from tests.testapps.privacy_fixture.services import person_create

REASON = "KYC review ticket 4711"


def reveal_entries() -> list[tuple[str, str, dict, str]]:
    return list(
        AuditEntry.objects.filter(
            action__in=[AuditAction.PII_REVEALED, AuditAction.PII_REVEAL_REFUSED]
        )
        .order_by("pk")
        .values_list("action", "object_id", "after", "reason")
    )


def test_pii_reveal__returns_clear_value_and_audits_a_keyed_hash(person, revealer, audit_dump):
    value = pii_reveal(
        actor=revealer, target=target_of(person), field="identity_number", reason=REASON
    )

    assert value == RESIDENT_ID
    entry = AuditEntry.objects.get(action=AuditAction.PII_REVEALED)
    assert (entry.actor_id, entry.object_type, entry.object_id, entry.reason) == (
        revealer.pk,
        "privacy_fixture.person",
        str(person.pk),
        REASON,
    )
    assert entry.after["field"] == "identity_number"
    assert entry.after["erased"] is False
    assert entry.after["value_digest"].startswith("hmac-sha256:")
    assert len(entry.after["value_digest"]) == len("hmac-sha256:") + 64
    dump = audit_dump()
    for clear in (RESIDENT_ID, "11010119900307", "1101**********1234", PHONE, CARD):
        assert clear not in dump


def test_pii_reveal__same_value_same_digest(person, revealer, make_user):
    other = person_create(actor=None, identity_number=RESIDENT_ID)

    pii_reveal(actor=revealer, target=target_of(person), field="identity_number", reason=REASON)
    pii_reveal(actor=revealer, target=target_of(other), field="identity_number", reason=REASON)

    digests = [after["value_digest"] for _a, _o, after, _r in reveal_entries()]
    assert digests[0] == digests[1]


def test_pii_reveal__without_permission_refused_and_audited(person, make_user):
    clerk = make_user(Role.CUSTOMER_SERVICE)

    with pytest.raises(PermissionDenied):
        pii_reveal(actor=clerk, target=target_of(person), field="phone", reason=REASON)

    assert reveal_entries() == [
        (
            AuditAction.PII_REVEAL_REFUSED,
            str(person.pk),
            {"field": "phone", "refusal": "permission_denied"},
            REASON,
        )
    ]


@pytest.mark.parametrize("reason", ["", "    ", "why", "abcd", " ab  "])
def test_pii_reveal__short_reason_refused_and_audited(person, revealer, reason):
    with pytest.raises(ReasonRequired) as raised:
        pii_reveal(actor=revealer, target=target_of(person), field="phone", reason=reason)

    assert raised.value.code == "privacy.reason_required"
    assert raised.value.fields == {"reason": "At least 5 characters."}
    assert reveal_entries() == [
        (
            AuditAction.PII_REVEAL_REFUSED,
            str(person.pk),
            {"field": "phone", "refusal": "privacy.reason_required"},
            reason.strip(),
        )
    ]


def test_pii_reveal__rate_limited_per_user(person, revealer, make_user, settings):
    settings.CPMS_PII_REVEAL_LIMIT = 3
    colleague = make_user(Role.COMPLIANCE_OFFICER)
    for _ in range(3):
        pii_reveal(actor=revealer, target=target_of(person), field="phone", reason=REASON)

    with pytest.raises(RateLimited) as raised:
        pii_reveal(actor=revealer, target=target_of(person), field="phone", reason=REASON)

    assert raised.value.status == 429
    actions = [action for action, *_rest in reveal_entries()]
    assert actions == [AuditAction.PII_REVEALED] * 3 + [AuditAction.PII_REVEAL_REFUSED]
    assert reveal_entries()[-1][2] == {"field": "phone", "refusal": "privacy.rate_limited"}
    # another user has a budget of their own
    assert (
        pii_reveal(actor=colleague, target=target_of(person), field="phone", reason=REASON) == PHONE
    )


def test_pii_reveal__window_slides(person, revealer, settings):
    settings.CPMS_PII_REVEAL_LIMIT = 1
    pii_reveal(actor=revealer, target=target_of(person), field="phone", reason=REASON)
    settings.CPMS_PII_REVEAL_WINDOW_SECONDS = 0

    assert (
        pii_reveal(actor=revealer, target=target_of(person), field="phone", reason=REASON) == PHONE
    )


def test_pii_reveal__missing_or_out_of_scope_is_not_found(person, revealer):
    hidden = person_create(actor=None, branch_code="HIDDEN", phone=PHONE)

    for target in (target_of(hidden), "privacy_fixture.person:999999"):
        with pytest.raises(NotFound):
            pii_reveal(actor=revealer, target=target, field="phone", reason=REASON)

    assert [after for _a, _o, after, _r in reveal_entries()] == [
        {"field": "phone", "refusal": "not_found"}
    ] * 2
    assert not AuditEntry.objects.filter(action=AuditAction.PII_REVEALED).exists()


def test_pii_reveal__unknown_field_or_model_refused_without_entry(person, revealer):
    with pytest.raises(Exception) as raised:
        pii_reveal(actor=revealer, target=target_of(person), field="label", reason=REASON)
    assert raised.value.fields == {"field": "Not a protected field of this record."}
    with pytest.raises(NotFound):
        pii_reveal(actor=revealer, target=f"users.user:{revealer.pk}", field="email", reason=REASON)

    assert reveal_entries() == []


def test_pii_reveal__erased_subject_gives_the_marker(person, revealer):
    data_key_destroy(actor=None, subject=person, reason="erasure")

    value = pii_reveal(actor=revealer, target=target_of(person), field="phone", reason=REASON)

    assert value == ERASED
    assert reveal_entries()[-1][2] == {"field": "phone", "value_digest": None, "erased": True}


# --- console ------------------------------------------------------------------------------


def test_reveal_view__htmx_post_returns_the_clear_value_partial(person, revealer_client):
    response = revealer_client.post(
        "/privacy/reveal",
        {"target": target_of(person), "field": "phone", "reason": REASON},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    body = response.content.decode()
    assert f'<code class="pii-clear">{PHONE}</code>' in body
    assert f'id="pii-privacy_fixture-person-{person.pk}-phone"'.replace("_", "-") in body


def test_reveal_view__short_reason_rerenders_the_form(person, revealer_client):
    response = revealer_client.post(
        "/privacy/reveal",
        {"target": target_of(person), "field": "phone", "reason": "no"},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    body = response.content.decode()
    assert PHONE not in body
    assert 'role="alert"' in body and "details" in body
    assert response["HX-Retarget"] == f"#pii-privacy-fixture-person-{person.pk}-phone-form"


def test_reveal_view__without_htmx_uses_the_error_status(person, staff_client):
    response = staff_client.post(
        "/privacy/reveal", {"target": target_of(person), "field": "phone", "reason": REASON}
    )

    assert response.status_code == 403
    assert PHONE not in response.content.decode()


def test_reveal_view__get_not_allowed_and_anonymous_redirected(person):
    assert Client().post("/privacy/reveal", {"target": target_of(person)}).status_code == 302
    client = Client()
    assert client.get("/privacy/reveal").status_code in (302, 405)
    assert not AuditEntry.objects.filter(action=AuditAction.PII_REVEALED).exists()


def render_field(user, person, field):
    request = RequestFactory().get("/")
    request.user = user
    template = Template("{% load privacy %}{% pii_field person field %}")
    return template.render(
        Context({"user": user, "person": person, "field": field, "request": request})
    )


def test_pii_field_tag__masked_with_reveal_form_for_holders(person, revealer):
    html = render_field(revealer, person, "identity_number")

    assert '<span class="pii-masked">1101**********1234</span>' in html
    assert f'name="target" value="privacy_fixture.person:{person.pk}"' in html
    assert 'hx-post="/privacy/reveal"' in html
    assert RESIDENT_ID not in html


def test_pii_field_tag__masked_only_without_permission(person, staff):
    html = render_field(staff, person, "phone")

    assert '<span class="pii-masked">138****5678</span>' in html
    assert "hx-post" not in html


def test_pii_field_tag__erased(person, revealer):
    data_key_destroy(actor=None, subject=person, reason="erasure")

    html = render_field(revealer, person, "phone")

    assert 'class="pii-erased"' in html and "hx-post" not in html


def test_keys_page__for_key_managers_only(person, make_user, staff_client):
    admin = make_user(Role.ADMINISTRATOR)
    client = Client()
    client.force_login(admin)

    response = client.get("/privacy/")

    assert response.status_code == 200
    assert "<td>2</td>" in response.content.decode()  # the person's key and the index root
    assert staff_client.get("/privacy/").status_code == 403


# --- API ----------------------------------------------------------------------------------


def api(user, token_for, **kwargs) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token_for(user, **kwargs)}")


def test_reveal_api__returns_the_value(person, revealer, token_for):
    client = api(revealer, token_for, scopes=["privacy:write"])

    response = client.post(
        "/api/v1/privacy/reveal",
        {"target": target_of(person), "field": "bank_account", "reason": REASON},
        content_type="application/json",
    )

    assert response.status_code == 200
    assert response.json() == {
        "target": target_of(person),
        "field": "bank_account",
        "value": CARD,
        "erased": False,
    }


@pytest.mark.parametrize(
    ("role", "scopes", "reason", "status", "code"),
    [
        (Role.COMPLIANCE_OFFICER, ["privacy:write"], "abc", 422, "privacy.reason_required"),
        (Role.CUSTOMER_SERVICE, ["*:write"], REASON, 403, "permission_denied"),
        (Role.COMPLIANCE_OFFICER, ["*:read"], REASON, 403, "token.scope_insufficient"),
    ],
)
def test_reveal_api__refusals(person, make_user, token_for, role, scopes, reason, status, code):
    client = api(make_user(role), token_for, scopes=scopes)

    response = client.post(
        "/api/v1/privacy/reveal",
        {"target": target_of(person), "field": "phone", "reason": reason},
        content_type="application/json",
    )

    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert PHONE not in response.content.decode()
    assert not AuditEntry.objects.filter(action=AuditAction.PII_REVEALED).exists()


def test_reveal_api__rate_limited_is_429(person, revealer, token_for, settings):
    settings.CPMS_PII_REVEAL_LIMIT = 1
    client = api(revealer, token_for, scopes=["privacy:write"])
    body = {"target": target_of(person), "field": "phone", "reason": REASON}

    first = client.post("/api/v1/privacy/reveal", body, content_type="application/json")
    second = client.post("/api/v1/privacy/reveal", body, content_type="application/json")

    assert (first.status_code, second.status_code) == (200, 429)
    assert second.json()["error"]["code"] == "privacy.rate_limited"


def test_reveal_api__anonymous_401(person):
    response = Client().post(
        "/api/v1/privacy/reveal",
        {"target": target_of(person), "field": "phone", "reason": REASON},
        content_type="application/json",
    )

    assert response.status_code == 401
    assert not AuditEntry.objects.filter(action__startswith="pii.reveal").exists()
