"""The orchestrator's HTTP API: workflows, executions and triggers, scoped by the caller's
tenant. Every change to an execution is a command on `flowbus.commands`, as for any producer."""
