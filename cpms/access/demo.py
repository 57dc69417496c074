"""Demo branches and one staff user per default role. Idempotent: existing rows are kept."""

from __future__ import annotations

import random
from typing import Any

from django.conf import settings

from cpms.access import staff as access_staff
from cpms.users import services
from cpms.users.choices import Role
from cpms.users.models import Branch, User

BRANCHES = (
    ("BJ01", "北京分行", "北京"),
    ("SH01", "上海分行", "上海"),
    ("SZ01", "深圳分行", "深圳"),
)

STAFF = (
    ("admin", "系统管理员", Role.ADMINISTRATOR),
    ("rm1", "客户经理一", Role.RELATIONSHIP_MANAGER),
    ("rm2", "客户经理二", Role.RELATIONSHIP_MANAGER),
    ("finance1", "财务一", Role.FINANCE_OFFICER),
    ("finance2", "财务二", Role.FINANCE_OFFICER),
    ("finance3", "财务三", Role.FINANCE_OFFICER),
    ("compliance1", "合规一", Role.COMPLIANCE_OFFICER),
    ("auditor1", "审计一", Role.AUDITOR),
    ("service1", "客服一", Role.CUSTOMER_SERVICE),
    ("trainer1", "培训一", Role.TRAINER),
)


def load(*, rng: random.Random, options: dict[str, Any]) -> list[str]:
    """Create what is missing; return a line per row created."""
    created: list[str] = []
    branches: list[Branch] = []
    for code, name, city in BRANCHES:
        existed = Branch.objects.filter(code=code).exists()
        branches.append(services.branch_ensure(actor=None, code=code, name=name, city=city))
        if not existed:
            created.append(f"branch {code}")
    # rm1 and rm2 sit in different branches so branch scope can be seen at work; one finance
    # officer per branch, so every branch's customers get a ledger and holds have a checker
    home = {
        "rm1": branches[0],
        "rm2": branches[1],
        "finance1": branches[0],
        "finance2": branches[1],
        "finance3": branches[2],
    }
    for username, display_name, role in STAFF:
        branch = home.get(username) or rng.choice(branches)
        if User.objects.filter(username=username).exists():
            continue
        access_staff.user_create(
            actor=None,
            username=username,
            password=settings.CPMS_DEMO_PASSWORD,
            display_name=display_name,
            email=f"{username}@demo.cpms.invalid",
            roles=[role.value],
            branch=branch,
            is_superuser=False,
        )
        created.append(f"user {username}")
    return created


def logins() -> list[tuple[str, str]]:
    return [(username, str(role.label)) for username, _name, role in STAFF]
