"""The transform's asset watcher (`LandedSlotTrigger`): one event per landed slot, heard from the real landing through
the real PostgreSQL's LISTEN/NOTIFY, and still heard after the warehouse restarts.

The trigger runs as the triggerer runs it (its async generator on an event loop, here in a thread of the test), on
the Airflow connection `crypto_warehouse` given as AIRFLOW_CONN_CRYPTO_WAREHOUSE.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from datetime import datetime, timedelta

import pytest
from tests.integration.landing_helpers import current_slot, lander_for

from crypto_insights.airflow.triggers import LandedSlotTrigger
from crypto_insights.postgres.connection import endpoint

pytestmark = pytest.mark.e2e


class RunningTrigger:
    """The trigger's events, as they come, from a loop in a thread of its own."""

    def __init__(self, trigger: LandedSlotTrigger) -> None:
        self.events: queue.Queue = queue.Queue()
        self.loop = asyncio.new_event_loop()
        self.task: asyncio.Task | None = None
        self.thread = threading.Thread(target=self._run, args=(trigger,), daemon=True)
        self.thread.start()

    def _run(self, trigger: LandedSlotTrigger) -> None:
        async def consume() -> None:
            async for event in trigger.run():
                self.events.put(datetime.fromisoformat(event.payload["slot_at"]))

        self.task = self.loop.create_task(consume())
        try:
            self.loop.run_until_complete(self.task)
        except asyncio.CancelledError:
            pass

    def next(self, timeout: float = 10.0) -> datetime:
        return self.events.get(timeout=timeout)

    def quiet(self, seconds: float = 2.5) -> bool:
        time.sleep(seconds)
        return self.events.empty()

    def stop(self) -> None:
        if self.task is not None:
            self.loop.call_soon_threadsafe(self.task.cancel)
        self.thread.join(10)


@pytest.fixture
def watcher(exchange, warehouse_db, monkeypatch):
    monkeypatch.setenv("COINBASE_API_URL", exchange.url)
    monkeypatch.setenv("AIRFLOW_CONN_CRYPTO_WAREHOUSE", endpoint("loader", warehouse_db).url())
    lander = lander_for(warehouse_db)
    started: list[RunningTrigger] = []

    def start() -> RunningTrigger:
        running = RunningTrigger(LandedSlotTrigger(warehouse_conn_id="crypto_warehouse", wait_s=0.2))
        started.append(running)
        time.sleep(1.0)  # listening
        return running

    yield lander, start
    for running in started:
        running.stop()
    lander.close()


def test_each_landed_slot_fires_once_and_an_older_one_never(watcher) -> None:
    lander, start = watcher
    before = current_slot() - timedelta(seconds=30)
    lander.land(before, now=before)  # landed before the watcher started: not announced again
    running = start()
    assert running.quiet()
    slot = current_slot()
    lander.land(slot, now=slot)
    assert running.next() == slot
    lander.land(slot, now=slot)  # landed again (a retried window): nothing new
    later = slot + timedelta(seconds=10)
    lander.land(later, now=later)
    assert running.next() == later
    older = slot - timedelta(seconds=10)
    lander.land(older, now=older)  # a late slot is taken in by the next run anyway
    assert running.quiet()


def test_a_slot_with_no_book_landed_is_not_announced(watcher, exchange) -> None:
    lander, start = watcher
    running = start()
    exchange.faults.add("/products/*/book", "server_error", status=503)
    slot = current_slot()
    report = lander.land(slot, now=slot)
    assert report.books == 0 and report.errors > 0
    assert running.quiet()


def test_the_watcher_hears_slots_again_after_the_warehouse_restarts(watcher, pg) -> None:
    lander, start = watcher
    running = start()
    slot = current_slot()
    lander.land(slot, now=slot)
    assert running.next() == slot
    pg.stop()
    pg.start()
    later = slot + timedelta(seconds=10)
    lander.land(later, now=later)  # maybe before the watcher is back: it checks what landed when it reconnects
    assert running.next(timeout=40) == later
    latest = later + timedelta(seconds=10)
    lander.land(latest, now=latest)
    assert running.next() == latest
