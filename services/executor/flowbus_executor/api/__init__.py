"""The executor's HTTP API: the tenant's connections (credentials its steps use)."""
