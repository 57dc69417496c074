"""Fixture models for bench/audit.py: the same row written plain, audited, or with
django-simple-history."""

from django.db import models
from simple_history.models import HistoricalRecords


class PlainItem(models.Model):
    code = models.CharField(max_length=32)
    name = models.CharField(max_length=100)
    amount_minor = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return self.code


class HistoryItem(models.Model):
    code = models.CharField(max_length=32)
    name = models.CharField(max_length=100)
    amount_minor = models.BigIntegerField(default=0)
    history = HistoricalRecords()

    def __str__(self) -> str:
        return self.code
