"""Typed async client of the Zequenze Control API: models, errors, and the client itself.

``client`` is the public surface (``ControlApiClient``), ``transport`` turns one call into HTTP attempts and
typed errors, ``pages`` reads DRF pages into operations, ``models`` and ``errors`` are what callers handle.
"""

from bot.control.client import ControlApiClient
from bot.control.errors import (
    ControlApiError,
    ControlApiUnavailable,
    DeviceNotFound,
    InvalidRequest,
    OperationNotFound,
    Unauthorized,
    UnexpectedAnswer,
)
from bot.control.models import CreateOperationRequest, DeviceStatus, Operation

__all__ = [
    "ControlApiClient",
    "ControlApiError",
    "ControlApiUnavailable",
    "CreateOperationRequest",
    "DeviceNotFound",
    "DeviceStatus",
    "InvalidRequest",
    "Operation",
    "OperationNotFound",
    "Unauthorized",
    "UnexpectedAnswer",
]
