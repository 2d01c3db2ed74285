"""Helpers the suites share."""
