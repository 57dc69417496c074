"""Demo customers of both profiles (product.md: a financial services firm and a retailer).

Customers tagged `demo-finance` (individuals and organisations: private banking, wealth,
corporate) and `demo-retail` (members, a few corporate buyers), with valid generated resident
IDs (GB 11643) and Unified Social Credit Codes (GB 32100), mobile numbers, emails and Chinese
names; consents; spread over the demo branches BJ01 / SH01 / SZ01 and assigned to the demo
relationship managers rm1 and rm2; a few custom fields (defined by the demo administrator) with
values. `cpms demo --customers N` (default 40) sets how many.

Deterministic and idempotent: customer i is generated from (seed, i) alone, so a larger N keeps
the first customers and adds the rest; a customer whose identity number is already registered
(found through the blind index) is skipped. Everything goes through the services, audited."""

from __future__ import annotations

import datetime
import random
from typing import Any

from django.contrib.auth import get_user_model
from pypinyin import lazy_pinyin
from stdnum.cn import ric, uscc

from cpms.access.checks import user_has_permission
from cpms.approvals.services import approval_approve
from cpms.customers import services, validators
from cpms.customers.choices import CustomerKind, KycStatus
from cpms.customers.models import CONFIGURE_PERMISSION, Customer, CustomFieldDefinition
from cpms.privacy.protected import blind_root_or_none, index_of
from cpms.users.models import Branch

DEFAULT_COUNT = 40
FINANCE_TAG = "demo-finance"
RETAIL_TAG = "demo-retail"
BRANCH_CODES = ("BJ01", "SH01", "SZ01")
MANAGERS = ("rm1", "rm2")
ADMINISTRATOR = "admin"
KYC_CHECKER = "compliance1"  # approves the demo's KYC verifications (four eyes)
TODAY = datetime.date(2026, 11, 1)  # fixed, so the data does not depend on the day it is loaded

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董袁潘蒋蔡余"
    "杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙"
    "史黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红娥玲芬燕彬鹏辉建国志文斌宇"
    "浩凯晨阳欣怡梓涵子轩思远佳琪嘉"
)
# (region code, city, first birth year) of real county-level divisions: IDs born from that year
# on pass the region check against the division table of their birth year without a warning
REGIONS = (
    ("110101", "北京", 1950),
    ("110105", "北京", 1950),
    ("110108", "北京", 1950),
    ("310101", "上海", 1950),
    ("310104", "上海", 1950),
    ("310115", "上海", 1992),
    ("440303", "深圳", 1983),
    ("440304", "深圳", 1983),
    ("440305", "深圳", 1983),
    ("330106", "杭州", 1983),
    ("320102", "南京", 1983),
    ("510104", "成都", 1992),
    ("420102", "武汉", 1983),
    ("350102", "福州", 1983),
)
ORGANISATION_WORDS = [
    "华信",
    "联创",
    "鼎盛",
    "宏远",
    "金桥",
    "中科",
    "博源",
    "瑞丰",
    "恒泰",
    "东方",
    "新元",
    "海川",
    "嘉禾",
    "天成",
    "汇通",
    "启明",
]
FINANCE_SUFFIXES = ("投资管理有限公司", "资产管理有限公司", "实业集团有限公司", "科技股份有限公司")
RETAIL_SUFFIXES = ("商贸有限公司", "餐饮管理有限公司", "贸易有限公司")
MAIL_DOMAINS = ("example.com", "example.cn", "example.net")
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"

CUSTOM_FIELDS: tuple[dict[str, Any], ...] = (
    {
        "customer_kind": CustomerKind.INDIVIDUAL,
        "key": "occupation",
        "label": "职业",
        "field_type": "text",
        "order": 10,
    },
    {
        "customer_kind": CustomerKind.INDIVIDUAL,
        "key": "income_band",
        "label": "年收入区间",
        "help_text": "客户自报，单位：人民币",
        "field_type": "choice",
        "choices": ["10万以下", "10万-50万", "50万-200万", "200万以上"],
        "order": 20,
    },
    {
        "customer_kind": CustomerKind.INDIVIDUAL,
        "key": "member_since",
        "label": "会员起始日",
        "field_type": "date",
        "order": 30,
    },
    {
        "customer_kind": CustomerKind.INDIVIDUAL,
        "key": "paperless",
        "label": "电子对账单",
        "field_type": "boolean",
        "order": 40,
    },
    {
        "customer_kind": CustomerKind.ORGANISATION,
        "key": "industry",
        "label": "行业",
        "field_type": "choice",
        "choices": ["制造业", "批发和零售业", "信息技术", "金融业", "房地产业", "餐饮业"],
        "order": 10,
    },
    {
        "customer_kind": CustomerKind.ORGANISATION,
        "key": "employees",
        "label": "员工人数",
        "field_type": "integer",
        "order": 20,
    },
    {
        "customer_kind": CustomerKind.ORGANISATION,
        "key": "registered_capital",
        "label": "注册资本（万元）",
        "field_type": "decimal",
        "order": 30,
    },
)
OCCUPATIONS = ("教师", "工程师", "医生", "会计", "设计师", "律师", "个体经营", "公务员", "退休")


def load(*, rng: random.Random, options: dict[str, Any]) -> list[str]:
    """Create the demo customers that are missing; return a line per row created."""
    count = options.get("customers")
    count = DEFAULT_COUNT if count is None else max(0, int(count))
    users = get_user_model()._default_manager
    managers = [users.filter(username=name, is_active=True).first() for name in MANAGERS]
    branches = list(Branch.objects.filter(code__in=BRANCH_CODES).order_by("code"))
    if None in managers or len(branches) != len(BRANCH_CODES):
        return []  # the users demo (branches, rm1, rm2) did not run
    created = _definitions(users.filter(username=ADMINISTRATOR, is_active=True).first())
    checker = users.filter(username=KYC_CHECKER, is_active=True).first()
    defined = set(CustomFieldDefinition.objects.filter(active=True).values_list("key", flat=True))
    base = rng.getrandbits(64)
    specs = _unique(
        [make_spec(random.Random(f"{base}:{index}"), index) for index in range(count)]  # noqa: S311
    )
    present = _registered(spec["identity_number"] for spec in specs)
    for index, spec in enumerate(specs):
        if spec["identity_number"] in present:
            continue
        manager = managers[(index // len(branches)) % len(managers)]
        branch = branches[index % len(branches)]
        created.extend(
            _register(spec, manager=manager, branch=branch, defined=defined, checker=checker)
        )
    return created


def _definitions(administrator: Any) -> list[str]:
    if administrator is None or not user_has_permission(administrator, CONFIGURE_PERMISSION):
        return []
    created = []
    for definition in CUSTOM_FIELDS:
        if CustomFieldDefinition.objects.filter(
            customer_kind=definition["customer_kind"], key=definition["key"]
        ).exists():
            continue
        services.custom_field_define(actor=administrator, data=definition)
        created.append(f"custom field {definition['customer_kind']}.{definition['key']}")
    return created


def _registered(numbers: Any) -> set[str]:
    """Which of these identity numbers are registered already (through the blind index)."""
    root = blind_root_or_none()
    numbers = list(numbers)
    if root is None or not numbers:
        return set()
    by_index = {index_of(Customer, "identity_number", number, root): number for number in numbers}
    found: set[str] = set()
    keys = list(by_index)
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        found.update(
            by_index[index]
            for index in Customer.objects.filter(identity_number_index__in=chunk).values_list(
                "identity_number_index", flat=True
            )
        )
    return found


def _unique(specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: set[str] = set()
    kept = []
    for spec in specs:
        if spec["identity_number"] not in seen:
            seen.add(spec["identity_number"])
            kept.append(spec)
    return kept


def _register(
    spec: dict[str, Any], *, manager: Any, branch: Any, defined: set[str], checker: Any = None
) -> list[str]:
    data = {key: value for key, value in spec.items() if not key.startswith("_")}
    data["custom_fields"] = {key: value for key, value in spec["_custom"].items() if key in defined}
    data.update(branch_id=branch.pk, relationship_manager_id=manager.pk)
    verified = data["kyc_status"] == KycStatus.VERIFIED
    if verified:
        # KYC verification has four eyes: registered pending, then requested by the manager and
        # approved by the demo compliance officer, with the demo's review date
        data.update(kyc_status=KycStatus.PENDING, kyc_reviewed_at=None)
    customer = services.customer_register(actor=manager, data=data)
    lines = [f"customer {customer.customer_number}"]
    if verified:
        lines.extend(_verify(customer, spec["kyc_reviewed_at"], manager=manager, checker=checker))
    for purpose, channel, granted in spec["_consents"]:
        services.consent_grant(
            actor=manager, customer=customer, purpose=purpose, channel=channel, granted_at=granted
        )
        lines.append(f"consent {customer.customer_number} {purpose}")
    return lines


def _verify(customer: Customer, reviewed_on: Any, *, manager: Any, checker: Any) -> list[str]:
    outcome = services.kyc_verify_request(
        actor=manager,
        customer=customer,
        reason="已在网点核验身份证件和地址证明（演示）",
        reviewed_on=reviewed_on,
    )
    if isinstance(outcome, Customer):
        return [f"kyc {customer.customer_number} verified"]
    if checker is None:
        return [f"kyc {customer.customer_number} requested"]
    approval_approve(actor=checker, request_id=outcome.pk, reason="demo")
    return [f"kyc {customer.customer_number} verified (approved)"]


# --- generated values ---------------------------------------------------------------------


def resident_id(rng: random.Random, region: str, birth: datetime.date) -> str:
    """A valid 18-digit resident ID (GB 11643) born on `birth` in `region`."""
    body = f"{region}{birth:%Y%m%d}{rng.randint(1, 999):03d}"
    return body + ric.calc_check_digit(body + "0")  # stdnum wants a placeholder check digit


def social_credit_code(rng: random.Random) -> str:
    """A valid Unified Social Credit Code (GB 32100): a company (91) in a real region."""
    while True:
        region, _city, _year = rng.choice(REGIONS)
        body = "91" + region + "".join(rng.choice(USCC_ALPHABET) for _ in range(9))
        number = body + uscc.calc_check_digit(body)
        try:
            validators.check_uscc(number)
        except validators.IdentifierInvalid:
            continue
        return number


def mobile(rng: random.Random) -> str:
    prefix = rng.choice(("130", "135", "136", "138", "139", "150", "152", "158", "186", "188"))
    return f"{prefix}{rng.randint(0, 99_999_999):08d}"


def person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))


def make_spec(rng: random.Random, index: int) -> dict[str, Any]:
    """Customer number `index` of the demo: every other one a financial-firm customer, the
    others the retailer's; about one in four of the firm's and one in twelve of the
    retailer's is an organisation."""
    finance = index % 2 == 0
    organisation = rng.random() < (0.25 if finance else 0.08)
    risk = rng.choices(("low", "medium", "high"), weights=(6, 3, 1))[0]
    verified = rng.random() < 0.8
    reviewed = TODAY - datetime.timedelta(days=rng.randint(10, 900)) if verified else None
    spec: dict[str, Any] = {
        "kyc_status": "verified" if verified else "pending",
        "kyc_reviewed_at": reviewed,
        "risk_rating": risk,
        "tags": [FINANCE_TAG if finance else RETAIL_TAG],
    }
    if organisation:
        suffix = rng.choice(FINANCE_SUFFIXES if finance else RETAIL_SUFFIXES)
        city = rng.choice(REGIONS)[1]
        name = f"{city}{rng.choice(ORGANISATION_WORDS)}{suffix}"
        spec.update(
            kind="organisation",
            legal_name=name,
            identity_kind="uscc",
            identity_number=social_credit_code(rng),
            phone=f"0{rng.choice(('10', '21', '755'))}{rng.randint(20_000_000, 89_999_999)}",
            email=f"contact{rng.randint(100, 999)}@{rng.choice(MAIL_DOMAINS)}",
            address=f"{city}市{rng.choice(ORGANISATION_WORDS)}路{rng.randint(1, 999)}号",
            segment="corporate" if finance else "corporate buyer",
        )
        spec["_custom"] = {
            "industry": rng.choice(CUSTOM_FIELDS[4]["choices"]),
            "employees": rng.randint(5, 5000),
            "registered_capital": f"{rng.randint(100, 50_000)}.00",
        }
    else:
        region, _city, first_year = rng.choice(REGIONS)
        birth = datetime.date(rng.randint(first_year, 2004), rng.randint(1, 12), rng.randint(1, 28))
        name = person_name(rng)
        pinyin = "".join(lazy_pinyin(name))
        spec.update(
            kind="individual",
            legal_name=name,
            identity_kind="resident_id",
            identity_number=resident_id(rng, region, birth),
            phone=mobile(rng),
            email=f"{pinyin}{rng.randint(1, 9999)}@{rng.choice(MAIL_DOMAINS)}",
            address=f"{rng.choice(REGIONS)[1]}市{rng.choice(ORGANISATION_WORDS)}小区"
            f"{rng.randint(1, 30)}栋{rng.randint(101, 2505)}室",
            segment=rng.choice(("private banking", "wealth", "mass affluent"))
            if finance
            else rng.choice(("member", "silver member", "gold member")),
        )
        custom: dict[str, Any] = {"occupation": rng.choice(OCCUPATIONS)}
        if finance:
            custom["income_band"] = rng.choice(CUSTOM_FIELDS[1]["choices"])
            custom["paperless"] = rng.random() < 0.6
        else:
            since = TODAY - datetime.timedelta(days=rng.randint(30, 3000))
            custom["member_since"] = since.isoformat()
        spec["_custom"] = custom
    granted = datetime.datetime(2026, 1, 1, 9, tzinfo=datetime.UTC) + datetime.timedelta(
        minutes=rng.randint(0, 300 * 24 * 60)
    )
    consents = [("service", rng.choice(("branch", "online", "paper")), granted)]
    if rng.random() < 0.5:
        consents.append(("marketing", rng.choice(("online", "phone")), granted))
    if not finance and rng.random() < 0.3:
        consents.append(("profiling", "online", granted))
    spec["_consents"] = consents
    return spec
