"""Layout in a real browser: the menu in four groups opens as dropdowns at 1366 px and hides
behind one button at 390 px; pages keep their words whole (screenshots of both widths)."""

from __future__ import annotations

import pytest

from cpms.access import staff as access_staff
from cpms.customers.services import customer_register
from cpms.users import services as user_services
from cpms.users.choices import Role
from tests.browser.conftest import sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.usefixtures("audit_flushable", "reseeded"),
]

PASSWORD = "browser-password-2026"


def _user(username, role, branch, **kwargs):
    return access_staff.user_create(
        actor=None, username=username, password=PASSWORD, roles=[role], branch=branch, **kwargs
    )


@pytest.fixture
def people(db):
    branch = user_services.branch_ensure(actor=None, code="GZ01", name="广州分行", city="广州")
    manager = _user("rm-layout", Role.RELATIONSHIP_MANAGER, branch, display_name="客户经理丙")
    customer = customer_register(
        actor=manager,
        data={
            "kind": "individual",
            "legal_name": "欧阳娜娜",
            "identity_kind": "resident_id",
            "identity_number": "11010519491231002X",
            "phone": "13800138000",
            "relationship_manager_id": manager.pk,
        },
    )
    finance = _user("fin-layout", Role.FINANCE_OFFICER, branch, display_name="财务乙")
    auditor = _user("aud-layout", Role.AUDITOR, branch, display_name="审计丁")
    return {"branch": branch, "rm": manager, "customer": customer, "fin": finance, "aud": auditor}


def _no_one_character_lines(page) -> list[str]:
    """Buttons, badges, table headers and menu entries whose text wrapped to a column one
    character wide (their height is several lines while their text is longer than one)."""
    return page.evaluate(
        """() => Array.from(document.querySelectorAll(
            'button, [role=button], .badge, .tag, th, .console-nav summary, .console-nav a'))
          .filter(el => el.offsetParent !== null && el.innerText.trim().length > 2)
          .filter(el => {
            const style = getComputedStyle(el);
            const line = parseFloat(style.lineHeight) || parseFloat(style.fontSize) * 1.5;
            return el.getBoundingClientRect().height > line * 3.2 && el.clientWidth < 40;
          })
          .map(el => el.innerText.trim())"""
    )


def test_menu_collapses_behind_one_button_on_a_phone(live_server, page, people, shoot):
    sign_in(page, f"{live_server.url}/customers/", "rm-layout", PASSWORD)
    # at 1366 px the groups are dropdowns; the current one is marked
    page.set_viewport_size({"width": 1366, "height": 900})
    assert page.locator(".nav-toggle").is_hidden()
    current = page.locator(".nav-group.nav-current")
    assert current.get_attribute("data-group") == "customers"
    current.locator("summary").click()
    assert current.locator('a[href="/customers/"]').is_visible()
    shoot(page, "customers-menu-open")
    # at 390 px one button hides the whole menu
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    toggle = page.locator(".nav-toggle")
    assert toggle.is_visible()
    assert page.locator("#console-menu").is_hidden()
    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "true"
    assert page.locator("#console-menu").is_visible()
    page.locator('.nav-group[data-group="customers"] summary').click()
    assert page.locator('#console-menu a[href="/custody/"]').is_visible()
    shoot(page, "phone-menu-open")
    toggle.click()
    assert page.locator("#console-menu").is_hidden()


def test_pages_at_both_widths(live_server, browser, people, shoot, enrol):
    customer = people["customer"]
    pages = [
        (
            "rm-layout",
            None,
            [
                ("dashboard", "/"),
                ("customers", "/customers/"),
                ("customer", f"/customers/{customer.pk}/"),
            ],
        ),
        ("fin-layout", enrol(people["fin"]), [("ledger", "/ledger/")]),
        ("aud-layout", enrol(people["aud"]), [("audit", "/audit/")]),
    ]
    problems = {}
    for username, secret, urls in pages:
        context = browser.new_context(locale="zh-CN")
        page = context.new_page()
        sign_in(page, f"{live_server.url}/", username, PASSWORD, totp_secret=secret)
        for name, url in urls:
            page.goto(f"{live_server.url}{url}")
            page.wait_for_load_state("networkidle")
            for width in (1366, 390):
                page.set_viewport_size({"width": width, "height": 900})
                squeezed = _no_one_character_lines(page)
                if squeezed:
                    problems[f"{name}@{width}"] = squeezed
                # nothing but a table wrapper scrolls sideways
                assert page.evaluate(
                    "document.documentElement.scrollWidth <= window.innerWidth + 1"
                ), f"{name} overflows at {width}px"
            shoot(page, name)
        context.close()
    assert problems == {}
