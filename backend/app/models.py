"""Every table, imported once so that SQLModel.metadata (and Alembic) sees them all."""

from backend.api_calls.models import ApiCall
from backend.blueprints.models import Blueprint, BlueprintVersion
from backend.core.meta import AppMeta
from backend.credentials.models import Credential
from backend.orders.models import Order, Signal, StepRun
from backend.security.login_sessions import LoginSession
from backend.variables.models import Variable

__all__ = [
    "ApiCall", "AppMeta", "Blueprint", "BlueprintVersion", "Credential", "LoginSession", "Order",
    "Signal", "StepRun", "Variable",
]
