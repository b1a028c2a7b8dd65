"""The editor's node config panel is drawn from the node-type catalogue: each type's fields in
order, one macro per field kind, then the type's note. A field added to the catalogue, or
relabelled, shows in the panel the server renders (`POST /blueprints/{id}/panel/node`, what the
editor asks for when a step is selected) without any template change."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from markupsafe import escape

from backend.engine.catalogue import NODE_TYPE_SPECS, NODE_TYPES, FieldSpec
from backend.web.templating import marked


async def panel(client: httpx.AsyncClient, node: dict) -> str:
    response = await client.post("/blueprints/panels/panel/node",
                                 data={"node": json.dumps(node), "cell": "cell-1"})
    assert response.status_code == 200, response.text
    return response.text


def checked_mode(html: str) -> str | None:
    match = re.search(r'name="sleep_mode" value="(\w+)" checked', html)
    return match.group(1) if match else None


async def test_a_field_added_to_the_catalogue_shows_in_the_panel(
        client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
    node = {"id": "wait", "type": "wait_signal", "signal": "go", "until": "vars.deadline_at"}
    before = await panel(client, node)
    assert "Signal name" in before and 'name="until"' not in before
    spec = NODE_TYPES["wait_signal"]
    signal, timeout, save = spec.fields
    monkeypatch.setattr(spec, "fields", [
        signal.model_copy(update={"label": "Signal to wait for", "placeholder": "shipped",
                                  "hint": "as its sender names it"}),
        timeout,
        FieldSpec(name="until", label="Give up at", kind="expression", placeholder="vars.deadline",
                  hint="an `ISO` time"),
        save,
    ])
    monkeypatch.setattr(spec, "note", "Past the deadline it takes its [failed] path.")
    after = await panel(client, node)
    assert "Signal name" not in after
    assert "Signal to wait for <small class=\"muted\">as its sender names it</small>" in after
    assert 'placeholder="shipped"' in after
    assert re.search(r'<textarea name="until"[^>]*placeholder="vars.deadline"[^>]*>vars.deadline_at'
                     r'</textarea>', after)
    assert "Give up at <small class=\"muted\">an <code>ISO</code> time</small>" in after
    assert ('<p class="panel-note">Past the deadline it takes its '
            '<span class="chip chip-bad">failed</span> path.</p>') in after
    # the fields keep the catalogue's order
    assert after.index('name="signal"') < after.index('name="timeout"') < after.index(
        'name="until"') < after.index('data-pairs="save"')


async def test_alternative_fields_share_a_toggle(client: httpx.AsyncClient,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    assert checked_mode(await panel(client, {"id": "nap", "type": "sleep"})) == "duration"
    html = await panel(client, {"id": "nap", "type": "sleep", "until": "vars.ship_by"})
    assert checked_mode(html) == "until" and "<span>Until a time</span>" in html
    spec = NODE_TYPES["sleep"]
    duration, until = spec.fields
    monkeypatch.setattr(spec, "fields", [
        duration, until.model_copy(update={"alternative": "At a moment"})])
    html = await panel(client, {"id": "nap", "type": "sleep", "until": "vars.ship_by"})
    assert "<span>At a moment</span>" in html and "Until a time" not in html


@pytest.mark.parametrize("spec", NODE_TYPE_SPECS, ids=lambda spec: spec.type)
async def test_every_type_draws_its_catalogue_entry(client: httpx.AsyncClient, spec) -> None:
    html = await panel(client, {"id": "step", "type": spec.type})
    assert f'data-node-type="{spec.type}"' in html and f">{spec.title}</div>" in html
    for field in spec.fields:
        control = {"map": f'data-pairs="{field.name}"',
                   "retry": 'name="retry.enabled"'}.get(field.kind, f'name="{field.name}"')
        assert control in html, field.name
        assert escape(field.label) in html, field.name
        assert str(marked(field.hint)) in html, field.name
        if field.placeholder:
            assert f'placeholder="{escape(field.placeholder)}"' in html, field.name
        for option in field.options:
            assert f'<option value="{option}"' in html
    if spec.note:
        assert f'<p class="panel-note">{marked(spec.note)}</p>' in html


async def test_expression_fields_are_marked_for_the_code_editor(client: httpx.AsyncClient) -> None:
    """Every expression (a field or a map's value) carries `data-check="expression"`, which the
    editor draws as a code field; a condition's may span lines, the others are one line; an API
    call's save is followed by the response tree the editor fills."""
    condition = await panel(client, {"id": "c", "type": "condition", "expression": "input.x == 1"})
    assert re.search(r'<textarea name="expression"[^>]*data-check="expression"[^>]*data-multiline',
                     condition)
    end = await panel(client, {"id": "e", "type": "end", "result": "'done'"})
    result = re.search(r'<textarea name="result"[^>]*>', end)
    assert result and 'data-check="expression"' in result[0] and "data-multiline" not in result[0]
    call = await panel(client, {"id": "a", "type": "api_call", "api_call": "x",
                                "save": {"carrier": "response.body.carrier"}})
    assert re.search(r'<input name="save.value" value="response.body.carrier"[^>]*'
                     r'data-check="expression"', call)
    assert call.index('data-pairs="save"') < call.index("data-response-tree")
    function = await panel(client, {"id": "f", "type": "function", "function": "first"})
    assert "data-response-tree" not in function  # what it saves is its result, not a response
