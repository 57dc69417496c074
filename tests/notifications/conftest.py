from tests.audit.helpers import audit_log  # noqa: F401 (fixture)
