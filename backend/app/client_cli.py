"""`waybill orders start|get|list|signal|cancel|wake|watch`: the API over HTTP, through the
Python client (`import waybill`, from `sdk/python`), unlike `orders reprocess`, which opens
the database itself.

Exit codes: 0 done (an awaited order completed), 1 the order failed or was cancelled, 2 a
usage or API error (the message on stderr).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from backend.app.cli import console, err, orders_app

try:
    import waybill
except ImportError:  # without the SDK only these commands are missing, not `waybill dev`
    waybill = None  # type: ignore[assignment]

UrlOption = Annotated[str | None, typer.Option(
    envvar="WAYBILL_URL", help="Waybill's address (default: http://127.0.0.1:8000)",
    show_default=False)]
TokenOption = Annotated[str | None, typer.Option(envvar="WAYBILL_TOKEN", help="ADMIN_TOKEN",
                                                 show_default=False)]
JsonOption = Annotated[bool, typer.Option("--json", help="print the order (or list) as JSON")]
TimeoutOption = Annotated[float | None, typer.Option(help="give up after this many seconds")]
STATE_STYLES = {"completed": "green", "failed": "red", "cancelled": "yellow", "running": "cyan"}


def _json_value(text: str | None, what: str) -> Any:
    """`@file.json` or JSON text."""
    if text is None:
        return None
    try:
        return json.loads(Path(text[1:]).read_text() if text.startswith("@") else text)
    except (OSError, ValueError) as exc:
        raise typer.BadParameter(f"{what}: {exc}") from exc


@contextmanager
def _client(url: str | None, token: str | None) -> Iterator[waybill.Client]:
    """The client; an API or connection error ends the command with its message, exit 2."""
    if waybill is None:
        err.print("These commands need the Python client: pip install -e ./sdk/python")
        raise typer.Exit(2)
    try:
        with waybill.Client(url, token=token or "") as client:
            yield client
    except waybill.WaybillError as exc:
        err.print(Text(f"error: {exc}", style="red"))
        if isinstance(exc, waybill.Unauthorized):
            err.print("Give the admin token with --token or WAYBILL_TOKEN.")
        raise typer.Exit(2) from exc


def _styled(state: str) -> Text:
    return Text(state, style=STATE_STYLES.get(state, ""))


def _print_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, default=str))


# -- the steps of an order, live -----------------------------------------------------------


@dataclass
class _Row:
    node: str
    attempt: int
    status: str
    started: datetime | None
    finished: datetime | None = None
    lane: str | None = None

    def time(self) -> str:
        if self.started is None:
            return ""
        seconds = ((self.finished or datetime.now(UTC)) - self.started).total_seconds()
        return f"{seconds:.2f} s" if self.finished else f"{seconds:.1f} s…"


class Steps:
    """The steps of one order as the live view shows them: the step runs of the order last
    read (a snapshot, a poll, the final read), and the step events that came since."""

    def __init__(self, order_id: str) -> None:
        self.order_id = order_id
        self.state = ""
        self.order: waybill.Order | None = None
        self.rows: list[_Row] = []

    def apply(self, event: waybill.Event) -> None:
        self.state = event.state or self.state
        data = event.data
        if event.order is not None:
            self.order = event.order
            self.rows = [_Row(step.node, step.attempt, step.status, step.started_at,
                              step.finished_at, step.lane) for step in event.order.steps]
        elif event.type == "step_started":
            self.rows.append(_Row(data["node"], data["attempt"], "running", datetime.now(UTC),
                                  lane=data.get("lane")))
        elif event.type == "step_finished":
            row = self._running(data["node"], data["attempt"], data.get("lane"))
            row.status, row.finished = data["status"], datetime.now(UTC)

    def _running(self, node: str, attempt: int, lane: str | None) -> _Row:
        for row in reversed(self.rows):
            if (row.node, row.attempt, row.lane, row.status) == (node, attempt, lane, "running"):
                return row
        self.rows.append(_Row(node, attempt, "running", None, lane=lane))
        return self.rows[-1]

    def __rich__(self) -> Table:
        title = Text.assemble(self.order_id, "  ", _styled(self.state))
        table = Table(title=title, title_justify="left")
        for column in ("node", "attempt", "status", "time"):
            table.add_column(column, justify="right" if column in ("attempt", "time") else "left")
        for row in self.rows:
            node = f"{row.node} ({row.lane})" if row.lane else row.node
            table.add_row(Text(node), str(row.attempt), _styled(row.status), row.time())
        return table


def _follow(handle: waybill.OrderHandle, timeout: float | None, as_json: bool) -> None:
    """Until the order is final (live, unless --json); then its result, or exit 1."""
    if as_json:
        final = list(handle.watch(timeout))[-1].order
    else:
        steps = Steps(handle.order_id)
        try:
            with Live(steps, console=console, refresh_per_second=4, vertical_overflow="visible"):
                for event in handle.watch(timeout):
                    steps.apply(event)
        finally:
            if not console.is_terminal:  # Live leaves its last frame without a line end there
                console.line()
        final = steps.order
    assert final is not None and final.final
    _report(final, as_json)
    if final.state != "completed":
        raise typer.Exit(1)


def _report(order: waybill.Order, as_json: bool) -> None:
    if as_json:
        _print_json(order.raw)
    elif order.state == "completed":
        console.print(Text.assemble(("completed", "green"), ": result = ",
                                    json.dumps(order.result, default=str)))
    elif order.state == "failed":
        failure = waybill.OrderFailed(order)
        err.print(Text(str(failure), style="red"))
        for key in ("code", "details"):
            if key in failure.error:
                err.print(Text(f"  {key}: {json.dumps(failure.error[key], default=str)}"))
    else:
        err.print(Text(f"Order {order.order_id!r} is {order.state}.", style="yellow"))


def _show(order: waybill.Order, as_json: bool) -> None:
    if as_json:
        _print_json(order.raw)
        return
    version = f" v{order.version}" if order.version is not None else ""
    facts = Text.assemble((order.order_id, "bold"), f"  {order.blueprint}{version}  ",
                          _styled(order.state))
    where = Text(f"current node: {order.current_node or '-'}   "
                 f"failed node: {order.failed_node or '-'}")
    steps = Steps(order.order_id)
    steps.apply(waybill.Event("snapshot", order.raw, order))
    parts: list[Any] = [facts, where, steps] if order.steps else [facts, where]
    if order.result is not None:
        parts.append(Text(f"result: {json.dumps(order.result, default=str)}"))
    if order.error:
        parts.append(Text(f"error: {json.dumps(order.error, default=str)}", style="red"))
    console.print(Group(*parts))


# -- the commands ----------------------------------------------------------------------------


@orders_app.command("start")
def orders_start(
    blueprint: str,
    order_id: Annotated[str | None, typer.Option("--id", help="default: a new uuid")] = None,
    input: Annotated[str | None, typer.Option(help="the order's input: JSON or @file.json")]
    = None,
    wait: Annotated[bool, typer.Option("--wait", help="follow it until it is final")] = False,
    timeout: TimeoutOption = None,
    url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False,
) -> None:
    """Start an order on the blueprint's latest published version (through the API)."""
    payload = _json_value(input, "--input")
    if payload is not None and not isinstance(payload, dict):
        raise typer.BadParameter("--input: a JSON object is needed")
    with _client(url, token) as client:
        handle = client.start(blueprint, order_id=order_id, input=payload)
        if wait:
            _follow(handle, timeout, as_json)
        else:
            assert handle.order is not None
            _show(handle.order, as_json)


@orders_app.command("get")
def orders_get(order_id: str, url: UrlOption = None, token: TokenOption = None,
               as_json: JsonOption = False) -> None:
    """An order with its steps."""
    with _client(url, token) as client:
        _show(client.get(order_id), as_json)


@orders_app.command("list")
def orders_list(
    state: Annotated[str | None, typer.Option(help="e.g. failed")] = None,
    blueprint: Annotated[str | None, typer.Option()] = None,
    failed_node: Annotated[str | None, typer.Option()] = None,
    limit: Annotated[int, typer.Option(min=1, help="at most this many, newest first")] = 50,
    url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False,
) -> None:
    """Orders, newest first."""
    with _client(url, token) as client:
        orders = client.orders(page_size=min(limit, 100), state=state, blueprint=blueprint,
                               failed_node=failed_node)
        found = list(itertools.islice(orders, limit))
    if as_json:
        _print_json([order.raw for order in found])
        return
    table = Table("order", "blueprint", "state", "node", "updated")
    for order in found:
        version = f" v{order.version}" if order.version is not None else ""
        table.add_row(order.order_id, order.blueprint + version, _styled(order.state),
                      order.failed_node or order.current_node or "",
                      f"{order.updated_at:%Y-%m-%d %H:%M:%S}" if order.updated_at else "")
    console.print(table)


def _acted(order: waybill.Order, what: str, as_json: bool) -> None:
    if as_json:
        _print_json(order.raw)
    else:
        console.print(Text.assemble(f"{what} {order.order_id}: now ", _styled(order.state)))


@orders_app.command("signal")
def orders_signal(
    order_id: str, name: str,
    payload: Annotated[str | None, typer.Option(help="JSON or @file.json")] = None,
    url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False,
) -> None:
    """Deliver a signal to an order (a waiting one resumes)."""
    value = _json_value(payload, "--payload")
    with _client(url, token) as client:
        _acted(client.handle(order_id).signal(name, value), f"signalled {name!r} to", as_json)


@orders_app.command("cancel")
def orders_cancel(order_id: str, url: UrlOption = None, token: TokenOption = None,
                  as_json: JsonOption = False) -> None:
    """Stop an order before its next step."""
    with _client(url, token) as client:
        _acted(client.handle(order_id).cancel(), "cancelled", as_json)


@orders_app.command("wake")
def orders_wake(order_id: str, url: UrlOption = None, token: TokenOption = None,
                as_json: JsonOption = False) -> None:
    """End an order's sleep (or retry delay) now."""
    with _client(url, token) as client:
        _acted(client.handle(order_id).wake(), "woke", as_json)


@orders_app.command("watch")
def orders_watch(order_id: str, timeout: TimeoutOption = None, url: UrlOption = None,
                 token: TokenOption = None, as_json: JsonOption = False) -> None:
    """Follow an order's steps live until it is final; exit 1 if it failed or was cancelled."""
    with _client(url, token) as client:
        _follow(client.handle(order_id), timeout, as_json)
