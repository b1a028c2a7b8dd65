"""The `waybill` command: dev, web, worker, blueprints validate|import|export."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console

from backend.core.config import Settings, get_settings, is_loopback
from backend.core.errors import WaybillError

app = typer.Typer(help="Waybill: visual workflow designer for order automation.",
                  no_args_is_help=True)
blueprints_app = typer.Typer(help="Validate, import and export blueprint files.",
                             no_args_is_help=True)
app.add_typer(blueprints_app, name="blueprints")
orders_app = typer.Typer(help="Operate on orders.", no_args_is_help=True)
app.add_typer(orders_app, name="orders")
console = Console(soft_wrap=True)  # lines are not cut at 80 columns in a pipe or a log
err = Console(stderr=True, soft_wrap=True)
T = TypeVar("T")

HostOption = Annotated[str, typer.Option(help="bind address")]
PortOption = Annotated[int, typer.Option(help="port")]


def _refuse_open_bind(host: str, settings: Settings) -> None:
    if not is_loopback(host) and not settings.admin_token:
        err.print(f"[red]Refusing to bind to {host} without ADMIN_TOKEN set.[/red]")
        raise typer.Exit(2)


@app.command()
def web(host: HostOption = "127.0.0.1", port: PortOption = 8000) -> None:
    """Serve the web app and API (uvicorn)."""
    import uvicorn

    _refuse_open_bind(host, get_settings())
    uvicorn.run("backend.app.main:app", host=host, port=port, log_level="info")


@app.command()
def worker(burst: Annotated[bool, typer.Option(help="stop when the queue is empty")] = False) -> None:
    """Run an arq worker: order activations, the sweeper, the batch loop and the schedules."""
    from backend.app.worker import make_worker

    settings = get_settings()
    if not settings.redis_url:
        err.print("[red]REDIS_URL is not set (`waybill dev` starts an embedded Redis).[/red]")
        raise typer.Exit(2)
    with contextlib.suppress(ImportError):  # uvicorn[standard] brings uvloop (not on Windows)
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())  # before arq takes the loop
    make_worker(settings, burst=burst).run()


@app.command()
def dev(host: HostOption = "127.0.0.1", port: PortOption = 8000) -> None:
    """Web + worker + embedded Redis (unless REDIS_URL) + demo services, stopped together."""
    from backend.core import embedded_redis

    settings = get_settings()
    _refuse_open_bind(host, settings)
    env = dict(os.environ, DEMO_SERVICES="true", DEMO_URL=f"http://127.0.0.1:{port}/demo")
    env["OUTBOUND_ALLOW"] = ",".join([*settings.outbound_allow, f"127.0.0.1:{port}"])
    children: list[subprocess.Popen[bytes]] = []
    if not settings.redis_url:
        redis_process, env["REDIS_URL"] = embedded_redis.start(settings.data_dir / "redis")
        children.append(redis_process)
    waybill = [sys.executable, "-m", "backend.app.cli"]
    web_process = subprocess.Popen([*waybill, "web", "--host", host, "--port", str(port)], env=env)
    children.append(web_process)
    local = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    # the worker starts only once what its first orders call answers (web, demo services)
    try:
        _wait_answering([f"{local}/healthz", f"{local}/demo/refunds"], web_process)
    except (KeyboardInterrupt, TimeoutError) as exc:
        _stop(children)
        raise typer.Exit(1) from exc
    children.append(subprocess.Popen([*waybill, "worker"], env=env))
    console.print(f"[bold green]Waybill[/bold green] on {local}  (Ctrl+C stops all)")
    _supervise(children)


def _wait_answering(urls: list[str], process: subprocess.Popen[bytes],
                    timeout_s: float = 60) -> None:
    """Until every URL answers (any status below 500); TimeoutError if `process` exits or
    the time runs out first."""
    import httpx

    deadline = time.monotonic() + timeout_s
    for url in urls:
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                err.print(f"[red]{url} did not answer; stopping.[/red]")
                raise TimeoutError(url)
            try:
                if httpx.get(url, timeout=2).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)


def _supervise(children: list[subprocess.Popen[bytes]]) -> None:
    """Wait until any child exits or Ctrl+C/SIGTERM, then stop them all."""
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        _stop(children)


def _stop(children: list[subprocess.Popen[bytes]]) -> None:
    for child in reversed(children):
        if child.poll() is None:
            child.terminate()
    for child in children:
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()


def _run(factory: Callable[..., Awaitable[T]], *args: object) -> T:
    try:
        return asyncio.run(factory(*args))
    except WaybillError as exc:
        err.print(f"[red]{exc.detail}[/red]")
        for item in exc.errors:
            err.print(f"  {item}")
        raise typer.Exit(1) from exc


async def _with_session(work: Callable[..., Awaitable[T]]) -> T:
    from backend.core import db

    settings = get_settings()
    engine = db.make_engine(settings.resolved_database_url)
    try:
        await db.upgrade(engine)
        async with db.make_sessionmaker(engine)() as session:
            return await work(session)
    finally:
        await engine.dispose()


@blueprints_app.command("validate")
def blueprints_validate(files: list[Path]) -> None:
    """Validate blueprint files against the API calls beside them and in the database."""
    from backend.blueprints.cli import validate_files

    problems = _run(_with_session, lambda session: validate_files(session, files, err))
    raise typer.Exit(1 if problems else 0)


@blueprints_app.command("import")
def blueprints_import(
    files: list[Path],
    publish: Annotated[bool, typer.Option(help="publish each valid blueprint")] = False,
) -> None:
    """Import blueprint files (and the API calls beside them) into the database."""
    from backend.blueprints.cli import import_files

    _run(_with_session, lambda session: import_files(session, files, publish, console))


@blueprints_app.command("export")
def blueprints_export(
    blueprint_id: str,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="file (default: stdout)")]
    = None,
) -> None:
    """Write a blueprint's draft as a file."""
    from backend.blueprints.cli import export_blueprint

    text = _run(_with_session, lambda session: export_blueprint(session, blueprint_id))
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text)
        console.print(f"wrote {output}")


@orders_app.command("reprocess")
def orders_reprocess(
    ids: Annotated[list[str] | None, typer.Argument(help="order ids (or use the filter options)")]
    = None,
    state: Annotated[str | None, typer.Option(help="e.g. failed")] = None,
    blueprint: Annotated[str | None, typer.Option()] = None,
    version: Annotated[int | None, typer.Option()] = None,
    failed_node: Annotated[str | None, typer.Option()] = None,
    start_from: Annotated[str, typer.Option(
        "--from", help="failed (restart at the failed step) or start (every step again, API "
                       "calls that already succeeded included)")] = "failed",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="count only")] = False,
) -> None:
    """Run finished orders again, from their failed step (the default) or from the start."""
    from backend.orders.cli import reprocess

    where = {"state": state, "blueprint": blueprint, "version": version,
             "failed_node": failed_node}
    answer = _run(_with_session, lambda session: reprocess(
        session, get_settings(), ids, where, start_from, dry_run))
    verb = "would run again" if answer.dry_run else "queued again"
    console.print(f"{answer.count} order(s) {verb}; restarting at: {answer.steps}")


from backend.app import client_cli  # noqa: E402, F401  (orders start|get|list|... over the API)

if __name__ == "__main__":
    app()
