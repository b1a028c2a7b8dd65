"""`POST /webhooks/{blueprint_id}`: an order from any JSON body. Signed with the blueprint's
`webhook.credential` when it has one; else, with ADMIN_TOKEN set, it needs the admin token as
a bearer token (see `backend.orders.webhooks`)."""

from typing import Annotated

from fastapi import APIRouter, Header, Path, Request, status

from backend.app.deps import BearerDep, SessionDep, SettingsDep, StateDep
from backend.engine.format import ID_PATTERN
from backend.orders import service, webhooks
from backend.orders.schemas import OrderPublic
from backend.security import auth

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


@router.post("/{blueprint_id}", status_code=status.HTTP_202_ACCEPTED,
             openapi_extra={"requestBody": {"content": {"application/json": {"schema": {
                 "type": "object"}}}, "required": True}})
async def receive(
    blueprint_id: Annotated[str, Path(pattern=ID_PATTERN)],
    request: Request,
    session: SessionDep,
    state: StateDep,
    settings: SettingsDep,
    credentials: BearerDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
    x_waybill_timestamp: Annotated[str | None, Header()] = None,
    x_waybill_signature: Annotated[str | None, Header()] = None,
) -> OrderPublic:
    """Create the order, or return the existing one for a repeated delivery (senders retry).
    A signature covers `"<timestamp>.<Idempotency-Key or empty>.<raw body>"`."""
    admin = credentials is not None and auth.token_matches(settings, credentials.credentials)
    order = await webhooks.receive(
        session=session, redis=state.redis, settings=settings, blueprint_id=blueprint_id,
        raw=await request.body(), idempotency_key=idempotency_key,
        signature=webhooks.Signature(x_waybill_timestamp, x_waybill_signature), admin=admin)
    return service.public(order, [])
