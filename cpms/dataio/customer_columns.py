"""The columns of the customers dataset (headers in English and Chinese, with the aliases a
file may use) and the labels each choice column accepts besides its codes."""

from __future__ import annotations

from cpms.customers.choices import CustomerKind, IdentityKind, KycStatus, RiskRating
from cpms.dataio.columns import Column

COLUMNS: tuple[Column, ...] = (
    Column("customer_number", "Customer number", "客户编号", ("客户号", "编号", "no")),
    Column(
        "kind",
        "Kind",
        "客户类型",
        ("类型", "customer type", "type"),
        required=True,
        example="individual",
    ),
    Column(
        "legal_name",
        "Legal name",
        "客户名称",
        ("姓名", "名称", "name", "客户姓名", "企业名称"),
        required=True,
        example="张三",
    ),
    Column(
        "identity_kind",
        "Identity document",
        "证件类型",
        ("document type", "id type", "identity type"),
        required=True,
        example="resident_id",
    ),
    Column(
        "identity_number",
        "Identity number",
        "证件号码",
        ("证件号", "身份证号", "身份证号码", "id number", "document number", "统一社会信用代码"),
        required=True,
        example="11010519491231002X",
    ),
    Column("identity_country", "Issuing country", "签发国家", ("country", "国家"), clearable=True),
    Column(
        "date_of_birth", "Date of birth", "出生日期", ("生日", "birth date", "dob"), clearable=True
    ),
    Column(
        "phone",
        "Phone",
        "手机号码",
        ("手机", "手机号", "电话", "联系电话", "mobile"),
        example="13800138000",
        clearable=True,
    ),
    Column(
        "email",
        "Email",
        "电子邮箱",
        ("邮箱", "email address", "e-mail"),
        example="zhang.san@example.com",
        clearable=True,
    ),
    Column(
        "address",
        "Address",
        "地址",
        ("联系地址", "住址"),
        example="杭州市西湖区文三路 1 号",
        clearable=True,
    ),
    Column("branch", "Branch", "分行", ("分行代码", "branch code", "网点")),
    Column(
        "relationship_manager",
        "Relationship manager",
        "客户经理",
        ("rm", "manager", "客户经理用户名"),
        clearable=True,
    ),
    Column("kyc_status", "KYC status", "KYC状态", ("kyc", "尽职调查状态"), example="pending"),
    Column(
        "kyc_reviewed_at", "KYC reviewed on", "KYC复核日期", ("kyc review date",), clearable=True
    ),
    Column("risk_rating", "Risk rating", "风险等级", ("risk", "风险评级"), example="low"),
    Column("segment", "Segment", "客户分层", ("细分", "客户细分", "分层"), clearable=True),
    Column("tags", "Tags", "标签", ("tag",), example="vip", clearable=True),
)

CHOICES = {
    "kind": (
        CustomerKind,
        {
            "individual": ("个人", "自然人"),
            "organisation": ("机构", "企业", "公司", "organization"),
        },
    ),
    "identity_kind": (
        IdentityKind,
        {
            "resident_id": ("身份证", "居民身份证", "id card"),
            "passport": ("护照",),
            "uscc": ("统一社会信用代码", "信用代码"),
            "other": ("其他",),
        },
    ),
    "kyc_status": (KycStatus, {}),
    "risk_rating": (RiskRating, {"low": ("低",), "medium": ("中",), "high": ("高",)}),
}

# Identity kinds as small integers, part of the in-file duplicate key of a document.
IDENTITY_ORDER = {value: position for position, value in enumerate(IdentityKind.values, 1)}
