"""The orchestrator's database tables and repositories."""
