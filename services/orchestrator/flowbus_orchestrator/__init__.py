"""flowbus orchestrator: the event-sourced workflow engine, single writer of every execution."""
