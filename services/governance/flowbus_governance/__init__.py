"""flowbus governance: agent maturity, permission decisions, approvals and audit."""
