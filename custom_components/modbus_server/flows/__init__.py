"""The subentry flows of a server: its devices and their tables (the UI only, see planning.py)."""

from __future__ import annotations

from homeassistant.config_entries import ConfigSubentryFlow

from ..const import (
    SUBENTRY_BULK,
    SUBENTRY_CLIENT_CERTIFICATE,
    SUBENTRY_DEVICE,
    SUBENTRY_IMPORT,
    SUBENTRY_POINT,
)
from .bulk import BulkSubentryFlow
from .client_certificate import ClientCertificateSubentryFlow
from .device import DeviceSubentryFlow
from .row import PointSubentryFlow
from .table_import import ImportSubentryFlow

SUBENTRY_FLOWS: dict[str, type[ConfigSubentryFlow]] = {
    SUBENTRY_DEVICE: DeviceSubentryFlow,
    SUBENTRY_POINT: PointSubentryFlow,
    SUBENTRY_BULK: BulkSubentryFlow,
    SUBENTRY_IMPORT: ImportSubentryFlow,
}
"""Devices, and their rows: one at a time, many entities at once, or an import."""

TLS_SUBENTRY_FLOWS: dict[str, type[ConfigSubentryFlow]] = {
    **SUBENTRY_FLOWS,
    SUBENTRY_CLIENT_CERTIFICATE: ClientCertificateSubentryFlow,
}
"""A TLS server's: also issuing client certificates from its generated CA."""
