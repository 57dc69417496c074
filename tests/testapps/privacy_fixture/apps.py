from django.apps import AppConfig


class PrivacyFixtureConfig(AppConfig):
    """Models that exercise the PII primitives in tests (installed via CPMS_EXTRA_APPS)."""

    name = "tests.testapps.privacy_fixture"
    label = "privacy_fixture"
