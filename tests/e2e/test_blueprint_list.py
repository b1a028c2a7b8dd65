"""The blueprint list: examples shown, new, import (and its errors), delete."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.e2e.helpers import create_blueprint, linear_doc

pytestmark = pytest.mark.browser


async def test_list_shows_the_examples(page: Page) -> None:
    await page.goto("/blueprints")
    await expect(page.locator("tr[data-blueprint=returns-approved]")).to_contain_text("Return approved")
    await expect(page.locator("tr[data-blueprint=order-state-manager]")).to_contain_text("v1")
    await expect(page.locator(".nav-link.is-active")).to_have_text("Blueprints")


async def test_new_blueprint_opens_a_valid_editor(page: Page, server: str) -> None:
    async with httpx.AsyncClient(base_url=server) as http:
        await http.delete("/api/blueprints/weekly-refunds")
    await page.goto("/blueprints")
    await page.click("text=New blueprint")
    await page.fill("#new-form input[name=name]", "Weekly refunds")
    await expect(page.locator("#new-form input[name=id]")).to_have_value("weekly-refunds")
    await page.click("#new-form button[type=submit]")
    await page.wait_for_url("**/blueprints/weekly-refunds")
    await page.wait_for_selector("#editor[data-ready=true]")
    await expect(page.locator("#problem-count")).to_have_text("Valid")
    assert await page.evaluate("window.waybillEditor.graph.getNodes().length") == 2


async def test_new_blueprint_with_a_taken_id_says_so(page: Page, server: str) -> None:
    await create_blueprint(server, linear_doc("taken-id"))
    await page.goto("/blueprints")
    await page.click("text=New blueprint")
    await page.fill("#new-form input[name=name]", "Something")
    await page.fill("#new-form input[name=id]", "taken-id")
    await page.click("#new-form button[type=submit]")
    await expect(page.locator("#new-form .form-errors")).to_contain_text("already exists")


async def test_import_then_conflict_then_delete(page: Page, tmp_path: Path) -> None:
    file = tmp_path / "imported.json"
    file.write_text(json.dumps(linear_doc("imported-e2e", name="Imported <b>flow</b>")))
    page.on("dialog", lambda dialog: dialog.accept())

    await page.goto("/blueprints")
    await page.click("text=Import")
    await page.set_input_files("#import-form input[type=file]", str(file))
    await page.click("#import-form button[type=submit]")
    await page.wait_for_url("**/blueprints/imported-e2e")
    await expect(page.locator("#blueprint-name")).to_have_text("Imported <b>flow</b>")

    await page.goto("/blueprints")
    await page.click("text=Import")
    await page.set_input_files("#import-form input[type=file]", str(file))
    await page.click("#import-form button[type=submit]")
    await expect(page.locator("#import-form .form-errors")).to_contain_text("already exists")
    await page.click("#import-dialog [aria-label=Close]")

    row = page.locator("tr[data-blueprint=imported-e2e]")
    await expect(row.locator(".bp-name")).to_have_text("Imported <b>flow</b>")
    await row.locator("button", has_text="Delete").click()
    await expect(row).to_have_count(0)
