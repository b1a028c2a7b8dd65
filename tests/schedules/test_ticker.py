"""The ticker, driven with chosen times: one order per tick however many passes run at once,
none made twice after a restart (and the missed ticks caught up, at most 10), none while a
schedule is off; a tick that cannot be an order says why and is not tried again."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import update
from sqlmodel import col, select

from backend.core import db
from backend.core.config import Settings
from backend.orders.models import Order
from backend.schedules import service, ticker
from backend.schedules.models import Schedule
from backend.schedules.schemas import ScheduleCreate
from tests.api.helpers import expect
from tests.orders.builders import linear

BP = "tick-bp"
T0 = datetime(2026, 12, 3, 10, 2, tzinfo=UTC)
TICK_INPUT = {"tick": "{{ schedule.tick }}", "name": "{{ schedule.name }}",
              "blueprint": "{{ schedule.blueprint }}"}


def at(hour: int, minute: int, second: float = 0, day: int = 3) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC) + timedelta(seconds=second)


async def _blueprint(client: httpx.AsyncClient, blueprint_id: str = BP, *, publish: bool = True,
                     **fields: Any) -> None:
    await expect(client.post("/api/blueprints", json=linear(blueprint_id, **fields)), 201)
    if publish:
        await expect(client.post(f"/api/blueprints/{blueprint_id}/publish"), 201)


async def _schedule(sessions: Any, name: str = "every5", cron: str = "*/5 * * * *", *,
                    blueprint: str = BP, now: datetime = T0, **fields: Any) -> Schedule:
    body = ScheduleCreate(name=name, cron=cron, **({"input": TICK_INPUT} | fields))
    async with sessions() as session:
        return await service.create_schedule(session=session, blueprint_id=blueprint, body=body,
                                             now=now)


async def _pass(sessions: Any, settings: Settings, now: datetime) -> int:
    return await ticker.run_pass(sessions=sessions, redis=None, settings=settings, now=now)


async def _orders(sessions: Any, prefix: str) -> dict[str, dict[str, Any]]:
    async with sessions() as session:
        rows = await session.exec(select(Order.order_id, Order.input).where(
            col(Order.order_id).startswith(prefix)).order_by(col(Order.order_id)))
        return dict(rows.all())


async def _row(sessions: Any, name: str, blueprint: str = BP) -> Schedule:
    async with sessions() as session:
        return await service.get_schedule(session=session, blueprint_id=blueprint, name=name)


def _ids(name: str, *ticks: datetime, blueprint: str = BP) -> list[str]:
    return [service.order_id_for(blueprint, name, tick) for tick in ticks]


async def test_each_tick_up_to_now_is_one_order(client: httpx.AsyncClient, sessions: Any,
                                                settings: Settings) -> None:
    await _blueprint(client)
    made = await _schedule(sessions)
    assert made.next_tick == at(10, 5)
    assert await _pass(sessions, settings, at(10, 4, 59.9)) == 0
    assert await _pass(sessions, settings, at(10, 17, 30)) == 3
    orders = await _orders(sessions, f"{BP}.every5.")
    assert list(orders) == _ids("every5", at(10, 5), at(10, 10), at(10, 15))
    assert orders[f"{BP}.every5.20261203T100500Z"] == {
        "tick": "2026-12-03T10:05:00+00:00", "name": "every5", "blueprint": BP}
    row = await _row(sessions, "every5")
    assert (row.next_tick, row.last_tick, row.last_error) == (at(10, 20), at(10, 15), None)
    assert row.last_order_id == f"{BP}.every5.20261203T101500Z"
    assert await _pass(sessions, settings, at(10, 17, 31)) == 0


async def test_two_workers_at_once_make_one_order_per_tick(
        client: httpx.AsyncClient, sessions: Any, settings: Settings) -> None:
    await _blueprint(client)
    await _schedule(sessions)
    await _schedule(sessions, "seconds", "* * * * * */15")  # 6 fields: seconds last
    other = db.make_engine(settings.resolved_database_url)
    try:
        worker_b = db.make_sessionmaker(other)
        made = await asyncio.gather(*(_pass(sessions_, settings, at(10, 17, 30))
                                      for sessions_ in (sessions, worker_b, sessions, worker_b)))
    finally:
        await other.dispose()
    seconds = [at(10, 2, 15) + timedelta(seconds=15 * n) for n in range(62)]
    assert sum(made) == 3 + 10  # the seconds schedule owes 62 ticks: the last 10 are made
    assert list(await _orders(sessions, f"{BP}.every5.")) == _ids(
        "every5", at(10, 5), at(10, 10), at(10, 15))
    assert list(await _orders(sessions, f"{BP}.seconds.")) == _ids("seconds", *seconds[-10:])
    assert (await _row(sessions, "seconds")).next_tick == at(10, 17, 45)


async def test_after_a_restart_no_tick_is_made_twice_and_missed_ones_are_caught_up(
        client: httpx.AsyncClient, sessions: Any, settings: Settings) -> None:
    await _blueprint(client)
    await _schedule(sessions)
    assert await _pass(sessions, settings, at(10, 17, 30)) == 3
    async with sessions() as session:  # a worker that died after the orders, before the tick moved
        await session.exec(update(Schedule).values(next_tick=at(10, 5)))  # type: ignore[call-overload]
        await session.commit()

    restarted = db.make_engine(settings.resolved_database_url)
    try:
        assert await _pass(db.make_sessionmaker(restarted), settings, at(10, 31)) == 3
    finally:
        await restarted.dispose()
    ticks = [at(10, 5 * n) for n in range(1, 7)]
    assert list(await _orders(sessions, f"{BP}.every5.")) == _ids("every5", *ticks)
    row = await _row(sessions, "every5")
    assert (row.next_tick, row.last_order_id) == (at(10, 35), _ids("every5", at(10, 30))[0])


async def test_catch_up_is_capped_at_ten_ticks(client: httpx.AsyncClient, sessions: Any,
                                               settings: Settings) -> None:
    await _blueprint(client)
    await _schedule(sessions, "minutely", "* * * * *", now=at(10, 0, 30))
    assert await _pass(sessions, settings, at(12, 0, 30)) == 10  # 120 ticks missed
    kept = [at(11, 51 + n) for n in range(9)] + [at(12, 0)]
    assert list(await _orders(sessions, f"{BP}.minutely.")) == _ids("minutely", *kept)
    row = await _row(sessions, "minutely")
    assert row.next_tick == at(12, 1)
    assert row.last_error is not None and row.last_error["code"] == "missed_ticks"
    first, last = (datetime.fromisoformat(row.last_error[key]) for key in ("first", "last"))
    assert (first, last) == (at(10, 1), at(11, 50))
    assert await _pass(sessions, settings, at(12, 1, 0)) == 1
    assert (await _row(sessions, "minutely")).last_error is None


async def test_a_schedule_that_is_off_makes_no_orders(client: httpx.AsyncClient, sessions: Any,
                                                      settings: Settings) -> None:
    await _blueprint(client)
    await _schedule(sessions, "never", enabled=False)
    await _schedule(sessions, "paused")
    async with sessions() as session:
        await service.set_enabled(session=session, blueprint_id=BP, name="paused", enabled=False,
                                  now=at(10, 3))
    assert await _pass(sessions, settings, at(23, 0)) == 0
    assert await _orders(sessions, f"{BP}.") == {}
    async with sessions() as session:  # on again: from the next tick; the ticks while off are gone
        row = await service.set_enabled(session=session, blueprint_id=BP, name="paused",
                                        enabled=True, now=at(23, 1))
    assert row.next_tick == at(23, 5)
    assert await _pass(sessions, settings, at(23, 5)) == 1


async def test_the_tick_is_in_the_zone_and_the_order_id_in_utc(
        client: httpx.AsyncClient, sessions: Any, settings: Settings) -> None:
    await _blueprint(client)
    await _schedule(sessions, "morning", "0 9 * * *", timezone="Europe/Berlin")
    assert await _pass(sessions, settings, at(8, 0, 0.5, day=4)) == 1
    orders = await _orders(sessions, f"{BP}.morning.")
    assert orders == {f"{BP}.morning.20261204T080000Z": {
        "tick": "2026-12-04T09:00:00+01:00", "name": "morning", "blueprint": BP}}


async def test_a_tick_that_cannot_be_an_order_says_why_and_moves_on(
        client: httpx.AsyncClient, sessions: Any, settings: Settings) -> None:
    schema = {"type": "object", "required": ["day"]}
    await _blueprint(client, "draft-bp", publish=False, input_schema=schema)
    await expect(client.put("/api/variables/shop", json={"value": "s-1"}))
    await _schedule(sessions, blueprint="draft-bp", input={"shop": "{{ variables.shop }}"})
    assert await _pass(sessions, settings, at(10, 6)) == 0
    row = await _row(sessions, "every5", "draft-bp")
    assert row.last_error is not None and row.last_error["code"] == "not_runnable"
    assert row.last_error["tick"] == at(10, 5).isoformat()
    assert row.next_tick == at(10, 10)  # not tried again and again

    await expect(client.post("/api/blueprints/draft-bp/publish"), 201)
    assert await _pass(sessions, settings, at(10, 11)) == 0
    row = await _row(sessions, "every5", "draft-bp")
    assert row.last_error is not None and row.last_error["code"] == "invalid_input"
    assert row.last_error["errors"][0]["code"] == "input_schema"

    assert (await client.delete("/api/variables/shop")).status_code == 204
    assert await _pass(sessions, settings, at(10, 16)) == 0
    row = await _row(sessions, "every5", "draft-bp")
    assert row.last_error is not None and row.last_error["code"] == "render_failed"
    assert (row.next_tick, row.last_order_id) == (at(10, 20), None)
    assert await _orders(sessions, "draft-bp.") == {}
