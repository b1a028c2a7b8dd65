"""A worker told to stop stops, even when the stop comes the instant it is woken: the idle
wait once used asyncio.wait_for, which on Python 3.11 drops a cancel that lands as the
awaited event is set (gh-86296), and the worker then ran on for ever (a hung test suite)."""

from __future__ import annotations

import asyncio
import contextlib
import signal

import pytest

from backend.app.worker import make_worker


async def test_a_stop_that_comes_with_a_wake_up_stops_the_worker(live_settings, live_app):
    worker = make_worker(live_settings.model_copy(update={"poll_delay_s": 5.0}), loops=False)
    task = asyncio.create_task(worker.async_run())
    try:
        await asyncio.sleep(0.5)  # started, found nothing to do: waiting to be woken
        assert worker.idle and not task.done()
        worker.wake.set()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 3)
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(task, 3)
        await worker.close()
        for number in (signal.SIGINT, signal.SIGTERM):  # arq took them over from pytest
            asyncio.get_running_loop().remove_signal_handler(number)
