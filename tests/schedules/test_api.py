"""/api/blueprints/{id}/schedules: create, read, list, replace, switch off, delete; each
answer with its next runs in the schedule's zone; every bad schedule refused with nothing
written."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from backend.blueprints.models import Blueprint
from backend.schedules import service
from backend.schedules.schemas import ScheduleCreate
from tests.api.helpers import assert_error, expect
from tests.orders.builders import linear

BP = "sched-bp"
BASE = f"/api/blueprints/{BP}/schedules"
SCHEMA = {"type": "object", "required": ["day"],
          "properties": {"day": {"type": "string"}, "shop": {"type": "string"}}}
NIGHTLY = {"name": "nightly", "cron": "0 9 * * *", "timezone": "Europe/Berlin",
           "input": {"day": "{{ schedule.tick[:10] }}", "shop": "{{ variables.shop }}"}}


async def _blueprint(client: httpx.AsyncClient, *, publish: bool = True,
                     blueprint_id: str = BP) -> None:
    await expect(client.post("/api/blueprints", json=linear(blueprint_id, input_schema=SCHEMA)),
                 201)
    if publish:
        await expect(client.post(f"/api/blueprints/{blueprint_id}/publish"), 201)
    await expect(client.put("/api/variables/shop", json={"value": "s-1"}))


def _at_nine_in_berlin(runs: list[str]) -> None:
    for run in runs:
        moment = datetime.fromisoformat(run)
        assert (moment.hour, moment.minute, moment.second) == (9, 0, 0), run
        assert moment.utcoffset() == ZoneInfo("Europe/Berlin").utcoffset(moment.replace(tzinfo=None))


async def test_create_read_list_replace_switch_off_delete(client: httpx.AsyncClient) -> None:
    await _blueprint(client)
    made = await expect(client.post(BASE, json=NIGHTLY), 201)
    assert {key: made[key] for key in NIGHTLY} == NIGHTLY
    assert made["blueprint"] == BP and made["enabled"] is True
    assert len(made["next_runs"]) == 5
    _at_nine_in_berlin(made["next_runs"])
    assert datetime.fromisoformat(made["next_tick"]) == datetime.fromisoformat(made["next_runs"][0])
    assert (made["last_tick"], made["last_order_id"], made["last_error"]) == (None, None, None)
    assert await expect(client.get(f"{BASE}/nightly")) == made
    assert (await expect(client.get(BASE)))["data"] == [made]

    hourly = NIGHTLY | {"cron": "30  *  * * *", "timezone": "UTC"}
    replaced = await expect(client.put(f"{BASE}/nightly", json=hourly))
    assert replaced["cron"] == "30 * * * *"  # spaces tidied
    assert all(run.endswith(":30:00+00:00") for run in replaced["next_runs"])
    assert replaced["created_at"] == made["created_at"]

    off = await expect(client.put(f"{BASE}/nightly", json=hourly | {"enabled": False}))
    assert (off["enabled"], off["next_tick"], off["next_runs"]) == (False, None, [])
    on = await expect(client.put(f"{BASE}/nightly", json=hourly | {"name": "nightly"}))
    assert on["enabled"] and len(on["next_runs"]) == 5

    assert (await client.delete(f"{BASE}/nightly")).status_code == 204
    assert_error(await client.get(f"{BASE}/nightly"), 404, "not_found")
    assert (await expect(client.get(BASE)))["data"] == []


async def test_next_runs_are_in_the_zone_with_its_offset(sessions: Any) -> None:
    async with sessions() as session:
        session.add(Blueprint(id="zones", name="zones", draft={}))
        await session.commit()
        now = datetime(2026, 12, 3, 14, 0, tzinfo=UTC)
        body = ScheduleCreate(name="morning", cron="0 9 * * *", timezone="Europe/Berlin")
        row = await service.create_schedule(session=session, blueprint_id="zones", body=body,
                                            now=now)
        shown = service.public(row, now)
    assert shown.next_runs[:2] == ["2026-12-04T09:00:00+01:00", "2026-12-05T09:00:00+01:00"]
    assert row.next_tick == datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
    summer = service.public(row, datetime(2027, 6, 1, tzinfo=UTC))
    assert summer.next_runs[0] == "2027-06-01T09:00:00+02:00"
    seconds = ScheduleCreate(name="s", cron="* * * * * */20", timezone="Asia/Kolkata")
    row.cron, row.timezone = seconds.cron, seconds.timezone
    assert service.public(row, now).next_runs[:3] == [
        "2026-12-03T19:30:20+05:30", "2026-12-03T19:30:40+05:30", "2026-12-03T19:31:00+05:30"]


BAD = [
    ({"cron": "61 * * * *"}, "cron", "bad_cron"),
    ({"cron": "every day"}, "cron", "bad_cron"),
    ({"cron": "* * * * * * 2027"}, "cron", "bad_cron"),  # 7 fields: years are not for us
    ({"cron": "0 0 30 2 *"}, "cron", "bad_cron"),  # 30 February never comes
    ({"cron": "R * * * *"}, "cron", "bad_cron"),  # random: workers would disagree
    ({"timezone": "Mars/Olympus"}, "timezone", "unknown_timezone"),
    ({"timezone": "../../etc/passwd"}, "timezone", "unknown_timezone"),
    ({"input": {"day": "{{ schedule.tick"}}, "input.day", "bad_template"),
    ({"input": {"deep": [{"x": "{{ 1 + }}"}]}}, "input.deep.0.x", "bad_template"),
    ({"input": {"day": "{{ input.day }}"}}, "input.day", "unknown_name"),
    ({"input": {"day": "{{ variables.nope }}"}}, "input", "render_failed"),
    ({"input": {"shop": "x"}}, "input", "input_schema"),  # `day` is required
    ({"input": {"day": "{{ 5 }}"}}, "input", "input_schema"),  # a number, not a string
]


async def test_a_schedule_that_would_not_work_is_refused(client: httpx.AsyncClient) -> None:
    await _blueprint(client)
    for change, field, code in BAD:
        body = assert_error(await client.post(BASE, json=NIGHTLY | change), 422, "invalid")
        found = {(error["field"], error["code"]) for error in body["errors"]}
        assert (field, code) in found, (change, body)
    assert (await expect(client.get(BASE)))["data"] == []

    made = await expect(client.post(BASE, json=NIGHTLY), 201)
    for change, field, code in BAD:
        body = assert_error(await client.put(f"{BASE}/nightly", json=NIGHTLY | change), 422)
        assert (field, code) in {(e["field"], e["code"]) for e in body["errors"]}, change
    assert await expect(client.get(f"{BASE}/nightly")) == made


async def test_duplicates_unknown_blueprints_and_bad_shapes(client: httpx.AsyncClient) -> None:
    await _blueprint(client)
    first = await expect(client.post(BASE, json=NIGHTLY), 201)
    assert_error(await client.post(BASE, json=NIGHTLY | {"cron": "* * * * *"}), 409, "conflict")
    assert (await expect(client.get(BASE)))["data"] == [first]

    assert_error(await client.post("/api/blueprints/nope/schedules", json=NIGHTLY), 404)
    assert_error(await client.get("/api/blueprints/nope/schedules"), 404)
    assert_error(await client.get(f"{BASE}/missing"), 404)
    assert_error(await client.put(f"{BASE}/missing", json=NIGHTLY | {"name": "missing"}), 404)
    assert_error(await client.delete(f"{BASE}/missing"), 404)

    for body in (NIGHTLY | {"name": "has.dot"}, NIGHTLY | {"extra": 1},
                 NIGHTLY | {"input": ["not", "an object"]}, {"name": "x"},
                 NIGHTLY | {"cron": ""}, NIGHTLY | {"enabled": "maybe"}):
        assert_error(await client.post(BASE, json=body), 422, "invalid")
    assert_error(await client.put(f"{BASE}/nightly", json=NIGHTLY | {"name": "other"}), 422)
    assert_error(await client.post(BASE, content=b"{not json",
                                   headers={"content-type": "application/json"}), 400)
    assert (await expect(client.get(BASE)))["data"] == [first]


async def test_an_unpublished_blueprint_may_have_schedules(client: httpx.AsyncClient) -> None:
    await _blueprint(client, publish=False)
    made = await expect(client.post(BASE, json=NIGHTLY | {"input": {"anything": 1}}), 201)
    assert made["next_runs"]


async def test_switching_off_needs_no_working_input(client: httpx.AsyncClient) -> None:
    await _blueprint(client)
    await expect(client.post(BASE, json=NIGHTLY), 201)
    assert (await client.delete("/api/variables/shop")).status_code == 204
    off = await expect(client.put(f"{BASE}/nightly", json=NIGHTLY | {"enabled": False}))
    assert off["enabled"] is False
    body = assert_error(await client.put(f"{BASE}/nightly", json=NIGHTLY), 422)
    assert body["errors"][0]["code"] == "render_failed"


async def test_schedules_go_with_their_blueprint(client: httpx.AsyncClient) -> None:
    await _blueprint(client, publish=False)
    await expect(client.post(BASE, json=NIGHTLY | {"input": {}}), 201)
    assert (await client.delete(f"/api/blueprints/{BP}")).status_code == 204
    await _blueprint(client, publish=False)
    assert (await expect(client.get(BASE)))["data"] == []
