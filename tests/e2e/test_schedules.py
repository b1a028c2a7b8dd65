"""The blueprint panel's Schedules section: add a schedule (its field errors beside the
fields), see its next runs in its zone, switch it off and on, delete it."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.e2e.helpers import create_blueprint, linear_doc, open_editor

pytestmark = pytest.mark.browser
SHOTS = Path("/tmp/shots")
BP = "e2e-schedules"


async def test_add_a_schedule_see_its_next_runs_and_switch_it_off(
        page: Page, server: str, http: httpx.AsyncClient) -> None:
    await create_blueprint(server, linear_doc(BP, "E2E schedules"))
    await open_editor(page, BP)
    section = page.locator("#schedules")
    await expect(section.locator("summary")).to_contain_text("Schedules")
    await section.locator("summary").click()
    form = section.locator("form.schedule-form")
    await form.locator("input[name=name]").fill("morning")
    await form.locator("input[name=cron]").fill("61 9 * * *")
    await form.locator("input[name=timezone]").fill("Europe/Berlin")
    await form.locator("textarea[name=input]").fill('{"ticket_id": "{{ schedule.tick }}"}')
    await form.locator("button[type=submit]").click()
    cron = section.locator("input[name=cron]")
    await expect(cron).to_have_attribute("aria-invalid", "true")
    await expect(section.locator("input[name=cron] ~ .field-msg")).to_contain_text("out of range")
    await expect(section.locator("input[name=name]")).to_have_value("morning")  # kept as typed
    SHOTS.mkdir(exist_ok=True)
    await page.locator("#panel").screenshot(path=str(SHOTS / "schedules-panel-error.png"))

    await cron.fill("0 9 * * 1-5")
    await section.locator("form.schedule-form button[type=submit]").click()
    item = section.locator("[data-schedule=morning]")
    runs = item.locator(".schedule-runs time")
    await expect(runs).to_have_count(3)
    for n in range(3):
        await expect(runs.nth(n)).to_have_text(re.compile(r"^(Mon|Tue|Wed|Thu|Fri) .* 09:00 \+0[12]:00$"))
    await expect(item).to_contain_text("0 9 * * 1-5")
    await expect(section.locator("form.schedule-form input[name=name]")).to_have_value("")
    await expect(section.locator(".flash-ok")).to_contain_text("Added")
    await section.screenshot(path=str(SHOTS / "schedules-section.png"))

    switch = item.locator("[role=switch]")
    await expect(switch).to_have_attribute("aria-checked", "true")
    await switch.click()
    await expect(section.locator("[data-schedule=morning] [role=switch]")).to_have_attribute(
        "aria-checked", "false")
    await expect(section.locator("[data-schedule=morning]")).to_contain_text("Off")
    await expect(section.locator("[data-schedule=morning] .schedule-runs")).to_have_count(0)
    stored = (await http.get(f"/api/blueprints/{BP}/schedules/morning")).json()
    assert (stored["enabled"], stored["next_runs"]) == (False, [])
    await section.screenshot(path=str(SHOTS / "schedules-section-off.png"))

    page.once("dialog", lambda dialog: dialog.accept())
    await section.locator("[data-schedule=morning] [aria-label='Delete morning']").click()
    await expect(section.locator("[data-schedule=morning]")).to_have_count(0)
    assert (await http.get(f"/api/blueprints/{BP}/schedules")).json()["data"] == []
