"""CPMS — Customer Property Management System (客户财产管理系统)."""

__version__ = "0.1.0"
