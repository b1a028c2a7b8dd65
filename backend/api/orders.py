"""Orders: create, list, read, cancel, signal, wake, reprocess, live events (SSE)."""

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request, status
from fastapi.sse import EventSourceResponse, ServerSentEvent

from backend.app.deps import SessionDep, SettingsDep, StateDep
from backend.core import events
from backend.core.errors import Conflict
from backend.orders import service
from backend.orders.schemas import (
    ORDER_ID_PATTERN,
    CancelAnswer,
    CancelRequest,
    OrderCreate,
    OrderList,
    OrderPublic,
    OrderQuery,
    ReprocessAnswer,
    ReprocessRequest,
    RerunRequest,
)

router = APIRouter(prefix="/orders", tags=["orders"])
OrderId = Annotated[str, Path(pattern=ORDER_ID_PATTERN)]
SignalName = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_order(body: OrderCreate, session: SessionDep, state: StateDep,
                       settings: SettingsDep) -> OrderPublic:
    order = await service.create_order(session=session, redis=state.redis, settings=settings,
                                       order_id=body.order_id, blueprint_id=body.blueprint,
                                       payload=body.input)
    return service.public(order, [])


@router.get("")
async def list_orders(session: SessionDep, query: Annotated[OrderQuery, Query()]) -> OrderList:
    rows, next_cursor = await service.list_orders(session=session, where=query.where(),
                                                  limit=query.limit, cursor=query.cursor)
    return OrderList(data=[service.summary(row) for row in rows], next_cursor=next_cursor)


@router.post("/cancel")
async def cancel_orders(body: CancelRequest, session: SessionDep, state: StateDep) -> CancelAnswer:
    """Cancel active orders by ids or by filter (the same filter as the list); dry run first."""
    return await service.cancel_orders(session=session, redis=state.redis, request=body)


@router.post("/reprocess")
async def reprocess(body: ReprocessRequest, session: SessionDep,
                    state: StateDep) -> ReprocessAnswer:
    return await service.reprocess(session=session, redis=state.redis, request=body)


@router.post("/{order_id}/reprocess")
async def rerun_order(order_id: OrderId, body: RerunRequest, session: SessionDep,
                      state: StateDep) -> OrderPublic:
    """Run a finished order again, from its failed step or the start, optionally with its
    input replaced; the change is recorded on its timeline."""
    await service.rerun(session=session, redis=state.redis, order_id=order_id, request=body,
                        actor="API")
    return await service.get_order(session=session, order_id=order_id)


@router.get("/{order_id}")
async def get_order(order_id: OrderId, session: SessionDep) -> OrderPublic:
    return await service.get_order(session=session, order_id=order_id)


@router.post("/{order_id}/cancel")
async def cancel_order(order_id: OrderId, session: SessionDep, state: StateDep) -> OrderPublic:
    await service.cancel_order(session=session, redis=state.redis, order_id=order_id)
    return await service.get_order(session=session, order_id=order_id)


@router.post("/{order_id}/wake")
async def wake_order(order_id: OrderId, session: SessionDep, state: StateDep) -> OrderPublic:
    """End a sleep or retry delay now."""
    await service.wake_now(session=session, redis=state.redis, order_id=order_id)
    return await service.get_order(session=session, order_id=order_id)


@router.post("/{order_id}/signals/{name}", status_code=status.HTTP_202_ACCEPTED)
async def send_signal(order_id: OrderId, name: SignalName, session: SessionDep, state: StateDep,
                      payload: Annotated[Any, Body()] = None) -> OrderPublic:
    await service.send_signal(session=session, redis=state.redis, order_id=order_id, name=name,
                              payload=payload)
    return await service.get_order(session=session, order_id=order_id)


async def _subscribed(order_id: OrderId, session: SessionDep,
                      state: StateDep) -> AsyncIterator[events.Subscription]:
    """Subscribed before the snapshot is read, so no event falls between the two; a missing
    order or Redis is a 4xx before the stream starts."""
    if state.redis is None:
        raise Conflict("Live events need Redis (REDIS_URL).")
    await service.get_order_row(session, order_id)
    async with events.subscription(state.redis, events.order_channel(order_id)) as subscription:
        yield subscription


@router.get("/{order_id}/events", response_class=EventSourceResponse)
async def order_events(order_id: OrderId, request: Request, session: SessionDep,
                       subscription: Annotated[events.Subscription, Depends(_subscribed)],
                       ) -> AsyncIterator[ServerSentEvent]:
    """Step events as they happen; the first event (`snapshot`) is the order as it is then."""
    order = await service.get_order(session=session, order_id=order_id)
    yield ServerSentEvent(data=order.model_dump(mode="json"), event="snapshot")
    async for event in subscription:
        yield ServerSentEvent(data=event, event=event["type"])
        if await request.is_disconnected():
            break
