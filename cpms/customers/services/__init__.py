"""Every write of the customer registry, by sub-domain:

- `register`: register, update, assign a customer;
- `identity`: identity-document claims and possible duplicates;
- `kyc`: KYC verification with four eyes;
- `consent`: consents granted and withdrawn;
- `field_definitions`: custom field definitions;
- `lifecycle`: the status lifecycle;
- `merge`: the customers' side of a merge (moving every relation, filling the survivor,
  closing the merged customer), called by the data-quality app;
- `derived`: values derived from what was entered (pinyin, next KYC review).

Each function checks the actor's permission and scope, validates (identifiers through
`customers.validators`), writes, encrypts personal data onto the row (`privacy.services.pii_assign`)
and records its audit entry, all in one transaction. Callers outside the app import from here;
callers inside may import from the sub-module."""

from cpms.customers.services._common import (
    ASSIGNMENT_FIELDS,
    AUDITED_FIELDS,
    KYC_VERIFY_ACTION,
    OBJECT_TYPE,
    PROTECTED,
)
from cpms.customers.services.consent import consent_grant, consent_withdraw
from cpms.customers.services.derived import add_years, kyc_next_review, name_pinyin
from cpms.customers.services.field_definitions import (
    CUSTOM_FIELD_OBJECT_TYPE,
    DEFINITION_FIELDS,
    custom_field_define,
    custom_field_update,
)
from cpms.customers.services.identity import (
    DUPLICATE_BLOCK,
    identity_claim,
    identity_key,
    possible_duplicates,
)
from cpms.customers.services.kyc import (
    kyc_pending_request,
    kyc_verification_needs_approval,
    kyc_verify_describe,
    kyc_verify_execute,
    kyc_verify_request,
)
from cpms.customers.services.lifecycle import customer_status_change
from cpms.customers.services.merge import (
    MergeApplied,
    customer_merge_apply,
    customer_relations_move,
    register_clash_rule,
)
from cpms.customers.services.register import customer_assign, customer_register, customer_update
from cpms.customers.services.validation import CONTACT_CHECKS

__all__ = [
    "ASSIGNMENT_FIELDS",
    "AUDITED_FIELDS",
    "CONTACT_CHECKS",
    "CUSTOM_FIELD_OBJECT_TYPE",
    "DEFINITION_FIELDS",
    "DUPLICATE_BLOCK",
    "KYC_VERIFY_ACTION",
    "OBJECT_TYPE",
    "PROTECTED",
    "MergeApplied",
    "add_years",
    "consent_grant",
    "consent_withdraw",
    "custom_field_define",
    "custom_field_update",
    "customer_assign",
    "customer_merge_apply",
    "customer_register",
    "customer_relations_move",
    "customer_status_change",
    "customer_update",
    "identity_claim",
    "identity_key",
    "kyc_next_review",
    "kyc_pending_request",
    "kyc_verification_needs_approval",
    "kyc_verify_describe",
    "kyc_verify_execute",
    "kyc_verify_request",
    "name_pinyin",
    "possible_duplicates",
    "register_clash_rule",
]
