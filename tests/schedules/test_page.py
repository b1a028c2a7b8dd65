"""The editor's Schedules section as HTML (the browser test drives it in Chromium): it loads
itself from the blueprint panel, adds with problems beside their fields, switches and deletes."""

from __future__ import annotations

import json
import re

import httpx

from tests.api.helpers import expect
from tests.orders.builders import linear

BP = "page-bp"
SECTION = f"/blueprints/{BP}/schedules"
HTMX = {"HX-Request": "true"}


async def test_the_section_adds_switches_and_deletes(client: httpx.AsyncClient) -> None:
    await expect(client.post("/api/blueprints", json=linear(BP)), 201)
    panel = await client.post(f"/blueprints/{BP}/panel/blueprint",
                              data={"blueprint": json.dumps({"id": BP, "name": BP})})
    assert f'hx-get="{SECTION}" hx-trigger="load"' in panel.text

    empty = await client.get(SECTION, headers=HTMX)
    assert empty.status_code == 200 and "No schedules yet" in empty.text

    refused = await client.post(SECTION, headers=HTMX, data={
        "name": "nightly", "cron": "0 9 * * *", "timezone": "Mars/Base", "input": "[1]"})
    assert refused.status_code == 422
    assert "Write a JSON object" in refused.text and 'value="Mars/Base"' in refused.text
    refused = await client.post(SECTION, headers=HTMX, data={
        "name": "nightly", "cron": "0 9 * * *", "timezone": "Mars/Base", "input": "{}"})
    assert refused.status_code == 422 and "is not an IANA time zone" in refused.text
    assert refused.text.count('aria-invalid="true"') == 1

    added = await client.post(SECTION, headers=HTMX, data={
        "name": "nightly", "cron": "0 9 * * *", "timezone": "Europe/Berlin",
        "input": '{"day": "{{ schedule.tick[:10] }}"}'})
    assert added.status_code == 200 and "Added “nightly”." in added.text
    assert added.text.count('<li><time datetime="') == 3
    assert len(re.findall(r", 09:00 \+0[12]:00</time>", added.text)) == 3
    twice = await client.post(SECTION, headers=HTMX, data={"name": "nightly", "cron": "* * * * *"})
    assert twice.status_code == 422 and "already exists" in twice.text

    off = await client.post(f"{SECTION}/nightly/enabled", headers=HTMX, data={"enabled": "false"})
    assert 'aria-checked="false"' in off.text and "Off: no orders" in off.text
    stored = await expect(client.get(f"/api/blueprints/{BP}/schedules/nightly"))
    assert stored["enabled"] is False and stored["input"] == {"day": "{{ schedule.tick[:10] }}"}

    gone = await client.delete(f"{SECTION}/nightly", headers=HTMX)
    assert "Deleted “nightly”." in gone.text and "No schedules yet" in gone.text
    missing = await client.get("/blueprints/no-such-bp/schedules", headers=HTMX)
    assert missing.status_code == 404 and "No blueprint" in missing.text
