"""The governance HTTP API: agents, checks, approvals, feedback and the audit log."""
