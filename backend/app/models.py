"""Every table, imported once so that SQLModel.metadata (and Alembic) sees them all."""

from backend.api_calls.models import ApiCall
from backend.blueprints.models import Blueprint, BlueprintVersion
from backend.core.meta import AppMeta
from backend.credentials.models import Credential
from backend.orders.models import AuditEntry, Order, Signal, StepRun
from backend.schedules.models import Schedule
from backend.security.login_sessions import LoginSession
from backend.variables.models import Variable

__all__ = [
    "ApiCall", "AppMeta", "AuditEntry", "Blueprint", "BlueprintVersion", "Credential", "LoginSession",
    "Order",
    "Schedule", "Signal", "StepRun", "Variable",
]
