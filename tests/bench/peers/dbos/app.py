"""The DBOS application under test: a FastAPI app served by uvicorn on loopback, with DBOS in-process, as
DBOS's own docs build one. The benchmark's runner drives it over HTTP, the way a DBOS user's clients would:
`/run` calls a workflow inline and answers with its result; `/start` starts one in the background under a
given workflow ID; `/result`, `/send`, `/fork` and `/steps` wrap the DBOS calls of the same names.

Run with the DBOS venv's python: app.py --port P --database-url URL --step-record FILE --fail-flag FILE
"""

from __future__ import annotations

import argparse
import importlib.metadata
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import uvicorn
import workflows
from dbos import DBOS, DBOSConfig, SetWorkflowID, WorkflowHandleAsync
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

# Handles of the workflows this process started: awaiting one waits on the running task, no polling.
HANDLES: dict[str, WorkflowHandleAsync[Any]] = {}
RESULT_POLL_SECONDS = 0.1  # for workflows this process did not start (recovered, forked elsewhere)


class RunRequest(BaseModel):
    args: dict[str, Any] = {}


class StartRequest(BaseModel):
    id: str
    args: dict[str, Any] = {}


class SendRequest(BaseModel):
    message: Any


class ForkRequest(BaseModel):
    start_step: int


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    DBOS.launch()  # also recovers this executor's workflows left PENDING by a killed process
    yield
    DBOS.destroy()


api = FastAPI(lifespan=lifespan)


def workflow_named(name: str) -> Any:
    if name not in workflows.WORKFLOWS:
        raise HTTPException(404, f"no workflow {name!r}")
    return workflows.WORKFLOWS[name]


@api.get("/health")
async def health() -> dict[str, str]:
    return {"version": importlib.metadata.version("dbos")}


@api.post("/run/{name}")
async def run(name: str, request: RunRequest) -> dict[str, Any]:
    return {"result": await workflow_named(name)(**request.args)}


@api.post("/start/{name}")
async def start(name: str, request: StartRequest) -> dict[str, Any]:
    with SetWorkflowID(request.id):
        handle = await DBOS.start_workflow_async(workflow_named(name), **request.args)
    HANDLES[request.id] = handle
    return {"id": request.id, "at": time.time()}  # start_workflow_async returns once the start is durable


@api.get("/result/{workflow_id}")
async def result(workflow_id: str) -> dict[str, Any]:
    handle = HANDLES.pop(workflow_id, None)
    if handle is None:
        handle = await DBOS.retrieve_workflow_async(workflow_id)
    try:
        return {"result": await handle.get_result(polling_interval_sec=RESULT_POLL_SECONDS)}
    # A workflow that failed is an answer too (the fork workload needs it), whatever it raised.
    except Exception as error:  # noqa: BLE001
        return {"error": f"{type(error).__name__}: {error}"}


@api.post("/send/{workflow_id}")
async def send(workflow_id: str, request: SendRequest) -> dict[str, bool]:
    await DBOS.send_async(workflow_id, request.message, topic=workflows.APPROVAL_TOPIC)
    return {"sent": True}


@api.post("/fork/{workflow_id}")
async def fork(workflow_id: str, request: ForkRequest) -> dict[str, str]:
    handle = await DBOS.fork_workflow_async(workflow_id, request.start_step)
    return {"id": handle.get_workflow_id()}


@api.get("/steps/{workflow_id}")
async def steps(workflow_id: str) -> list[dict[str, Any]]:
    return [
        {"function_id": s["function_id"], "name": s["function_name"], "output": s["output"]}
        for s in await DBOS.list_workflow_steps_async(workflow_id)
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--step-record", type=Path, required=True)
    parser.add_argument("--fail-flag", type=Path, required=True)
    options = parser.parse_args()
    workflows.STEP_RECORD = options.step_record
    workflows.FAIL_FLAG = options.fail_flag
    config: DBOSConfig = {
        "name": "flowbus-bench",
        "system_database_url": options.database_url,
        "log_level": "WARNING",
    }
    DBOS(config=config)
    uvicorn.run(api, host="127.0.0.1", port=options.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
