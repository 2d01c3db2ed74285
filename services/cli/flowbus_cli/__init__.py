"""The `flowbus` command line."""
