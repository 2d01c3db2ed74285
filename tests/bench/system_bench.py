"""The whole system on this machine: the four services as `flowbus serve` processes on Kafka and
PostgreSQL (prepared with the CLI, as the end-to-end suite does), the remote services as loopback
doubles, and the customer-support workflow started by plain JSON triggers. With 1, 2 and 4 executor
processes in one consumer group: triggers/s for a burst, and end-to-end latency (trigger published
-> `execution.completed` read from the execution-events topic) one at a time and within the burst.

The workflow runs its longest path (NLU, routing, Asana and an email in parallel, the follow-up
delay, the ticket-status call, routing, the survey email): 9 steps, 5 remote calls; its 24-hour
delay is set to 0 s (the timer still goes through the database and its poller)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from flowbus_shared.settings import FlowbusSettings
from tests.bench.stats import ms, percentile
from tests.support.e2e_doubles import remote_doubles
from tests.support.e2e_kafka import ExecutionEvents, PlainProducer
from tests.support.e2e_llm import llm_double
from tests.support.e2e_system import E2ESystem
from tests.support.e2e_workflows import execution_of, register, shortened, trigger

WORKFLOW = "customer_support_automation"
SEQUENTIAL = 15
BURST = 120
EXECUTORS = (1, 2, 4)


def cpu_seconds(system: E2ESystem) -> dict[str, float]:
    """CPU time (user + system) each service's processes have used so far, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    used: dict[str, float] = {}
    for service, processes in system.processes.items():
        for process in processes:
            assert process.process is not None
            fields = Path(f"/proc/{process.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
            used[service] = used.get(service, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return used


class Driver:
    def __init__(
        self, system: E2ESystem, producer: PlainProducer, events: ExecutionEvents, tickets: str
    ) -> None:
        self.system = system
        self.producer = producer
        self.events = events
        self.tickets = tickets

    async def publish(self) -> tuple[str, float]:
        """One trigger; its execution id and when it was sent."""
        key = uuid.uuid4().hex
        body = trigger(
            "support_ticket_created",
            {
                "text": f"Ticket {key}: cannot log in. priority=normal; category=general",
                "customer_email": f"{key[:12]}@example.com",
                "ticket_status_url": f"{self.tickets}/tickets/{key[:12]}",
            },
        )
        sent = time.monotonic()
        await self.producer.send(self.system.topic("triggers"), body, key=body["idempotency_key"])
        return execution_of(body, WORKFLOW), sent

    async def finished(self, ids: list[str], within: float = 300.0) -> None:
        deadline = time.monotonic() + within
        while not all(i in self.events.finished_at for i in ids):
            if time.monotonic() > deadline:
                missing = [i for i in ids if i not in self.events.finished_at]
                raise RuntimeError(f"{len(missing)} executions did not finish, e.g. {missing[0]}")
            await asyncio.sleep(0.005)
        failed = [i for i in ids if self.events.statuses[i] != "completed"]
        if failed:
            raise RuntimeError(f"{len(failed)} executions did not complete, e.g. {failed[0]}")

    async def one_at_a_time(self, count: int) -> list[float]:
        latencies = []
        for _ in range(count):
            execution_id, sent = await self.publish()
            await self.finished([execution_id])
            latencies.append(self.events.finished_at[execution_id] - sent)
        return latencies

    async def burst(self, count: int) -> tuple[float, list[float]]:
        """(triggers/s from the first publish to the last completion, latencies)."""
        started = [await self.publish() for _ in range(count)]
        ids = [execution_id for execution_id, _ in started]
        await self.finished(ids)
        first = started[0][1]
        last = max(self.events.finished_at[i] for i in ids)
        return count / (last - first), [self.events.finished_at[i] - sent for i, sent in started]


async def system_figures(bootstrap: str, database_url: str) -> list[dict[str, Any]]:
    figures = []
    with remote_doubles() as doubles, llm_double() as llm, tempfile.TemporaryDirectory() as workdir:
        system = E2ESystem(
            workdir=Path(workdir),
            prefix=f"bench{uuid.uuid4().hex[:10]}",
            database_url=database_url,
            bootstrap=bootstrap,
            doubles=doubles,
            llm=llm,
            pool_size=FlowbusSettings.model_fields["database_pool_size"].default,  # as shipped
        )
        producer = PlainProducer(bootstrap)
        events = ExecutionEvents(bootstrap, system.topic("execution-events"))
        async with contextlib.AsyncExitStack() as cleanup:
            cleanup.push_async_callback(system.shutdown)
            await system.prepare()
            await system.start_all()
            await producer.start()
            cleanup.push_async_callback(producer.stop)
            cleanup.push_async_callback(events.stop)
            await events.start()
            await register(system, shortened(WORKFLOW, delay_seconds=0))
            driver = Driver(system, producer, events, doubles.apis.url)
            for executors in EXECUTORS:
                while len(system.processes["executor"]) < executors:
                    await system.add_executor()
                await driver.one_at_a_time(3)  # warm-up after the group settled
                sequential = await driver.one_at_a_time(SEQUENTIAL)
                before = cpu_seconds(system)
                rate, burst = await driver.burst(BURST)
                after = cpu_seconds(system)
                cpu = {name: (after[name] - before.get(name, 0.0)) / BURST for name in after}
                figure = {"executors": executors, "rate": rate, "sequential": sequential, "burst": burst}
                figures.append({**figure, "cpu": cpu})
    return figures


def system_rows(figures: list[dict[str, Any]]) -> list[str]:
    rows = []
    for figure in figures:
        one, many = figure["sequential"], figure["burst"]
        rows.append(
            f"| customer support end to end (4 service processes, {figure['executors']} executor"
            f"{'s' if figure['executors'] > 1 else ''}): burst of {BURST}, triggers/s; latency p50 / p99 "
            f"one at a time; p50 / p99 in the burst | {figure['rate']:,.1f}/s; "
            f"{ms(percentile(one, 0.5))} / {ms(percentile(one, 0.99))}; "
            f"{ms(percentile(many, 0.5))} / {ms(percentile(many, 0.99))} |"
        )
    for figure in figures:
        spent = ", ".join(f"{name} {ms(seconds)}" for name, seconds in sorted(figure["cpu"].items()))
        rows.append(f"| CPU per workflow in the burst, {figure['executors']} executor(s) | {spent} |")
    return rows
