"""An administrator runs staff administration in the console, without the command line
(issue 11, items 6 and 9): they download their recovery codes, add a staff member picking the
branch by name, reset a colleague's password after confirming who they are, deactivate them
and find them in the staff list with its totals. The new person must choose a password."""

from __future__ import annotations

import re
import time

import pytest
from django.contrib.sessions.backends.db import SessionStore

from cpms.access import staff as access_staff
from cpms.audit.choices import AuditAction
from cpms.audit.models import AuditEntry
from cpms.users import mfa
from cpms.users import services as user_services
from cpms.users.choices import Role
from cpms.users.models import User
from tests.browser.conftest import sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.usefixtures("audit_flushable", "reseeded"),
]

PASSWORD = "browser-password-2026"


def _forget_recent_sign_in(page) -> None:
    """Make the console ask for re-authentication again (as if minutes had passed)."""
    cookie = next(c for c in page.context.cookies() if c["name"] == "sessionid")
    session = SessionStore(session_key=cookie["value"])
    session["cpms_auth_at"] = 0
    session.save()


def test_administrator_adds_resets_and_deactivates_staff(live_server, page, enrol, shoot):
    # given an administrator with two-factor sign-in, two branches and a colleague
    shanghai = user_services.branch_ensure(actor=None, code="SH01", name="上海分行", city="上海")
    user_services.branch_ensure(actor=None, code="BJ01", name="北京分行", city="北京")
    admin = access_staff.user_create(
        actor=None,
        username="admin-b",
        password=PASSWORD,
        display_name="系统管理员",
        roles=[Role.ADMINISTRATOR.value],
        branch=shanghai,
    )
    secret = enrol(admin)
    colleague = access_staff.user_create(
        actor=None,
        username="wang.wu",
        password=PASSWORD,
        display_name="王五",
        roles=[Role.RELATIONSHIP_MANAGER.value],
        branch=shanghai,
    )
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page, f"{live_server.url}/users/account/", "admin-b", PASSWORD, secret)

    # when they renew their recovery codes, they can download them as a text file
    page.locator("form[action$='/mfa/recovery-codes/'] button[type=submit]").click()
    page.locator("[data-recovery-download]").wait_for()
    codes = [c.strip() for c in page.locator(".recovery-codes code").all_inner_texts()]
    assert len(codes) == 10
    shoot(page, "recovery-codes")
    with page.expect_download() as caught:
        page.locator("[data-recovery-download]").click()
    download = caught.value
    assert download.suggested_filename.startswith("cpms-recovery-codes-admin-b-")
    with open(download.path(), encoding="utf-8") as handle:
        text = handle.read()
    assert all(code in text for code in codes) and "admin-b" in text

    # when they add a staff member, picking the branch by its name
    page.goto(f"{live_server.url}/users/staff/new/")
    page.locator("#id_username").fill("zhao.liu")
    page.locator("#id_display_name").fill("赵六")
    page.locator("#id_branch").select_option(label="北京分行 (BJ01)")
    page.locator("input[name=roles][value=customer_service]").check()
    page.locator("#id_reason").fill("新入职")
    shoot(page, "add-form")
    page.locator("form.staff-form button[type=submit]").click()
    shown = page.locator("[data-one-time-password]")
    shown.wait_for()
    one_time = shown.inner_text().strip()
    created = User.objects.get(username="zhao.liu")
    assert created.branch.name == "北京分行" and created.check_password(one_time)
    assert "赵六" in page.content()
    shoot(page, "added")

    # when they reset the colleague's password, the console first asks who they are
    _forget_recent_sign_in(page)
    page.goto(f"{live_server.url}/users/staff/{colleague.pk}/password-reset/")
    page.wait_for_url(re.compile(r"/users/reauth/"))
    assert page.locator("#id_password").is_visible()
    page.locator("#id_password").fill(PASSWORD)
    page.locator("#id_code").fill(mfa.totp_code(secret, at=time.time() + 30))  # a fresh step
    shoot(page, "reauth")
    page.get_by_role("button", name="确认").click()
    page.wait_for_url(re.compile(rf"/users/staff/{colleague.pk}/password-reset/"))
    page.locator("#id_reason").fill("忘记密码")
    page.locator("article form button[type=submit]").click()
    page.locator("[data-one-time-password]").wait_for()
    reset_password = page.locator("[data-one-time-password]").inner_text().strip()
    colleague.refresh_from_db()
    assert colleague.check_password(reset_password) and colleague.password_change_required
    assert "王五" in page.content()
    shoot(page, "password-reset")

    # and deactivates them
    page.goto(f"{live_server.url}/users/staff/{colleague.pk}/deactivate/")
    page.locator("#id_reason").fill("离职")
    page.locator("article form button[type=submit]").click()
    page.wait_for_url(re.compile(rf"/users/staff/{colleague.pk}/$"))
    shoot(page, "deactivated")

    # then the list shows them among the inactive staff, with totals
    page.goto(f"{live_server.url}/users/staff/")
    total = page.locator(".list-total").inner_text()
    assert re.search(r"\b3\b", total)  # the administrator, 王五 and 赵六
    page.locator("select[name=active]").select_option("0")
    page.locator("form.staff-filter button[type=submit]").click()
    page.wait_for_url(re.compile(r"active=0"))
    rows = page.locator("table.staff-table tbody tr")
    assert rows.count() == 1 and "王五" in rows.first.inner_text()
    assert re.search(r"\b1\b", page.locator(".list-total").inner_text())
    shoot(page, "inactive-list")
    page.goto(f"{live_server.url}/users/staff/")
    shoot(page, "staff-list")

    # and every change left its audit entry by the administrator
    by_admin = set(AuditEntry.objects.filter(actor_id=admin.pk).values_list("action", flat=True))
    assert {
        AuditAction.USER_CREATED,
        AuditAction.PASSWORD_RESET,
        AuditAction.USER_DEACTIVATED,
        AuditAction.REAUTHENTICATED,
        AuditAction.RECOVERY_CODES_REGENERATED,
    } <= by_admin

    # and the new staff member must choose their own password at the first sign-in
    other = page.context.browser.new_context(locale="zh-CN")
    newcomer = other.new_page()
    sign_in(newcomer, f"{live_server.url}/customers/", "zhao.liu", one_time)
    newcomer.wait_for_url(re.compile(r"/users/password/"))
    newcomer.locator("input[name=old]").fill(one_time)
    newcomer.locator("input[name=new]").fill("zhao-liu-own-passphrase")
    newcomer.locator("input[name=confirm]").fill("zhao-liu-own-passphrase")
    newcomer.locator("main form button[type=submit]").click()
    newcomer.wait_for_url(re.compile(r"/users/account/"))
    created.refresh_from_db()
    assert not created.password_change_required
    other.close()


def test_administrator_sees_permission_names_and_why_a_grant_is_refused(
    live_server, page, enrol, shoot
):
    # given an administrator and a finance officer
    shanghai = user_services.branch_ensure(actor=None, code="SH01", name="上海分行", city="上海")
    admin = access_staff.user_create(
        actor=None,
        username="admin-c",
        password=PASSWORD,
        display_name="系统管理员",
        roles=[Role.ADMINISTRATOR.value],
        branch=shanghai,
    )
    secret = enrol(admin)
    finance = access_staff.user_create(
        actor=None,
        username="fin-c",
        password=PASSWORD,
        display_name="财务甲",
        roles=[Role.FINANCE_OFFICER.value],
        branch=shanghai,
    )
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page, f"{live_server.url}/access/roles/", "admin-c", PASSWORD, secret)

    # then roles list their permissions by name, with the code in small text
    row = page.locator("table tbody tr", has_text="finance_officer")
    assert "查看客户" in row.inner_text() and "customers.view" in row.inner_text()
    shoot(page, "roles")
    page.goto(f"{live_server.url}/access/conflicts/")
    assert "ledger.post" in page.locator("table").inner_text()
    shoot(page, "conflicts")

    # when they grant the auditor role to the finance officer, the refusal names both duties
    page.goto(f"{live_server.url}/access/staff/{finance.pk}/")
    page.locator("#id_role").select_option("auditor")
    page.locator("#id_scope").select_option("all")
    page.locator("#id_reason").fill("临时顶岗")
    page.locator("main form:not(.inline-form) button[type=submit]").last.click()
    alert = page.locator("p.form-error")
    alert.wait_for()
    text = alert.inner_text()
    assert "fin-c" in text and "audit.export + ledger.post" in text
    shoot(page, "sod-refused")
