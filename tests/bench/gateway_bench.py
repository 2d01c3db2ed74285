"""llm-gateway overhead: the same requests sent straight to a local OpenAI double and through
the gateway (`flowbus serve llm-gateway`, its own process, on Kafka and PostgreSQL), then
through LiteLLM's proxy against the same double when it installs. Latency is one request at
a time (p50 / p99, and the added p50 / p99 over the double); throughput is requests/s with
32 in flight. Through Kafka: llm_completion steps published to `flowbus.steps.llm`, results
consumed from `flowbus.step-results`."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from pydantic import SecretStr

from flowbus_llm_gateway.keys import ProviderKeys
from flowbus_shared.auth import ApiKeys
from flowbus_shared.bus import Delivery, KafkaBus, ensure_topics
from flowbus_shared.schemas import StepRequest, StepResult
from flowbus_shared.settings import FlowbusSettings
from flowbus_shared.store import open_store
from flowbus_shared.topics import STEP_RESULTS, STEPS_LLM
from flowbus_shared.vault import ConnectionVault
from tests.bench.stats import percentile
from tests.support.processes import ServiceProcess, service_env

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / ".local" / "bench"
MASTER_KEYS = "bench:" + base64.b64encode(b"b" * 32).decode()
MESSAGES = [{"role": "user", "content": "Say something about foxes."}]
SEQUENTIAL, SATURATION, IN_FLIGHT = 300, 2000, 32

Figures = dict[str, float]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def wait_http(url: str, within: float = 120.0) -> None:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient() as client:
        while True:
            try:
                await client.get(url)
                return
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{url} did not come up") from None
                await asyncio.sleep(0.1)


@asynccontextmanager
async def process(args: list[str], env: dict[str, str], log: Path, ready_url: str) -> AsyncIterator[None]:
    with log.open("ab") as handle:
        child = await asyncio.create_subprocess_exec(*args, env=env, stdout=handle, stderr=handle, cwd=ROOT)
    try:
        await wait_http(ready_url)
        yield
    finally:
        child.terminate()
        try:
            await asyncio.wait_for(child.wait(), timeout=20)
        except TimeoutError:
            child.kill()


async def measure_http(url: str, token: str, model: str) -> Figures:
    body = {"model": model, "messages": MESSAGES, "max_tokens": 64}
    headers = {"authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=IN_FLIGHT, max_keepalive_connections=IN_FLIGHT)
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=60) as client:
        for _ in range(20):  # warm up connections, caches and the JIT-less interpreter's paths
            (await client.post("/chat/completions", json=body)).raise_for_status()
        latencies: list[float] = []
        for _ in range(SEQUENTIAL):
            started = time.perf_counter()
            (await client.post("/chat/completions", json=body)).raise_for_status()
            latencies.append(time.perf_counter() - started)
        queue = iter(range(SATURATION))

        async def worker() -> None:
            for _ in queue:
                (await client.post("/chat/completions", json=body)).raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
        elapsed = time.perf_counter() - started
    return {
        "p50": percentile(latencies, 0.5),
        "p99": percentile(latencies, 0.99),
        "per_s": SATURATION / elapsed,
    }


async def measure_kafka(settings: FlowbusSettings, tenant: str) -> Figures:
    done: dict[str, float] = {}
    arrived = asyncio.Event()
    waiting: dict[str, asyncio.Event] = {}
    wanted = 0

    async def collect(result: StepResult, _delivery: Delivery) -> None:
        if result.status != "succeeded":
            raise SystemExit(f"benchmark step failed: {result.error}")
        done[result.execution_id] = time.perf_counter()
        waiter = waiting.pop(result.execution_id, None)
        if waiter is not None:
            waiter.set()
        if len(done) >= wanted:
            arrived.set()

    observer = KafkaBus(settings, client_name="bench-results")
    observer.subscribe(STEP_RESULTS, group="bench-orchestrator", handler=collect)
    await observer.start()
    publisher = KafkaBus(settings, client_name="bench-steps")
    await publisher.start()

    def request() -> StepRequest:
        return StepRequest(
            execution_id=f"x-{uuid.uuid4().hex}",
            workflow_id="bench",
            tenant_id=tenant,
            step_id="ask",
            step_type="llm_completion",
            config={
                "prompt": MESSAGES[0]["content"],
                "provider": "openai",
                "model": "gpt-4o-mini",
                "max_tokens": 64,
                "stream": False,
            },
        )

    async def run(count: int, *, one_at_a_time: bool) -> tuple[list[float], float]:
        nonlocal wanted
        done.clear()
        arrived.clear()
        wanted = count
        sent: dict[str, float] = {}
        started = time.perf_counter()
        for _ in range(count):
            step = request()
            answered = waiting[step.execution_id] = asyncio.Event()
            sent[step.execution_id] = time.perf_counter()
            await publisher.publish(STEPS_LLM, step)
            if one_at_a_time:
                await asyncio.wait_for(answered.wait(), timeout=60)
        await asyncio.wait_for(arrived.wait(), timeout=300)
        return [done[k] - sent[k] for k in sent], time.perf_counter() - started

    try:
        await run(20, one_at_a_time=True)  # warm-up
        latencies, _ = await run(200, one_at_a_time=True)
        _, elapsed = await run(SATURATION, one_at_a_time=False)
    finally:
        await publisher.stop()
        await observer.stop()
    return {
        "p50": percentile(latencies, 0.5),
        "p99": percentile(latencies, 0.99),
        "per_s": SATURATION / elapsed,
    }


async def prepare_tenant(database_url: str, double_url: str) -> tuple[str, str]:
    store = await open_store(database_url)
    try:
        tenant = f"bench-{uuid.uuid4().hex[:6]}"
        await ProviderKeys(ConnectionVault(store.engine, MASTER_KEYS)).put(
            tenant, "openai", "sk-bench", base_url=f"{double_url}/v1"
        )
        token = (await ApiKeys(store.engine).create(tenant, "operator", "bench")).token
        return tenant, token
    finally:
        await store.close()


def litellm_python() -> Path | str:
    """The bench's own LiteLLM venv, installed from its hashed lock; a reason string if it fails."""
    venv = WORK / "litellm-venv"
    python = venv / "bin" / "python"
    lock = Path(__file__).with_name("litellm.lock")
    stamp = venv / ".installed"
    if stamp.exists() and stamp.read_text() == lock.read_text():
        return python
    try:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True, capture_output=True)
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                # The lock pins every dependency: nothing to resolve. Resolving anyway made pip look
                # past the pinned pydantic for the `pydantic[email]` extra fastapi-sso asks for.
                "--no-deps",
                "--require-hashes",
                "-r",
                str(lock),
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=900,
        )
    except subprocess.CalledProcessError as error:
        last = (error.stderr or error.stdout or "").strip().splitlines()[-1:]
        return f"LiteLLM did not install: {' '.join(last) or error}"
    except (subprocess.SubprocessError, OSError) as error:
        return f"LiteLLM did not install: {type(error).__name__}"
    stamp.write_text(lock.read_text())
    return python


async def measure_litellm(double_url: str) -> Figures | str:
    python = litellm_python()
    if isinstance(python, str):
        return python
    port, key = free_port(), f"sk-bench-{uuid.uuid4().hex}"
    config = WORK / "litellm.yaml"
    config.write_text(
        "model_list:\n  - model_name: double\n    litellm_params:\n      model: openai/double\n"
        f"      api_base: {double_url}/v1\n      api_key: sk-bench\n"
        "general_settings:\n  master_key: os.environ/LITELLM_MASTER_KEY\n"
    )
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(WORK),
        "LITELLM_MASTER_KEY": key,
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_LOCAL_ANTHROPIC_BETA_HEADERS": "True",
        "LITELLM_LOCAL_AUTOROUTER_PRESETS": "True",
        "LITELLM_LOCAL_POLICY_TEMPLATES": "True",
        "LITELLM_LOCAL_BLOG_POSTS": "True",
        "LITELLM_DONT_SHOW_FEEDBACK_BOX": "True",
    }
    litellm = Path(python).with_name("litellm")
    args = [
        str(litellm),
        "--config",
        str(config),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--num_workers",
        "1",
    ]
    async with process(args, env, WORK / "litellm.log", f"http://127.0.0.1:{port}/health/liveliness"):
        return await measure_http(f"http://127.0.0.1:{port}", key, "double")


async def gateway_figures(settings: FlowbusSettings, database_url: str) -> dict[str, Figures | str]:
    WORK.mkdir(parents=True, exist_ok=True)
    double_port, gateway_port = free_port(), free_port()
    double_url = f"http://127.0.0.1:{double_port}"
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    settings = settings.model_copy(
        update={
            "topic_prefix": prefix,
            "consumer_group_prefix": prefix,
            "database_url": database_url,
            "master_keys": SecretStr(MASTER_KEYS),
        }
    )
    await ensure_topics(settings)
    tenant, token = await prepare_tenant(database_url, double_url)
    figures: dict[str, Figures | str] = {}
    double_args = [sys.executable, "-m", "tests.bench.llm_double_server", str(double_port)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    async with process(double_args, env, WORK / "double.log", double_url):
        figures["direct"] = await measure_http(f"{double_url}/v1", "unused", "double")
        gateway_env = service_env(
            settings,
            FLOWBUS_MASTER_KEYS=MASTER_KEYS,
            FLOWBUS_LLM_HTTP_PORT=str(gateway_port),
            FLOWBUS_LOG_LEVEL="WARNING",
            FLOWBUS_API_RATE_LIMIT_PER_SECOND="0",  # one key drives all the load here
        )
        gateway = ServiceProcess("llm-gateway", gateway_env, WORK / "gateway.log")
        await gateway.start()
        try:
            await wait_http(f"http://127.0.0.1:{gateway_port}/healthz")
            figures["gateway"] = await measure_http(
                f"http://127.0.0.1:{gateway_port}/v1", token, "openai/gpt-4o-mini"
            )
            figures["kafka"] = await measure_kafka(settings, tenant)
        finally:
            await gateway.stop()
        figures["litellm"] = await measure_litellm(double_url)
    return figures
