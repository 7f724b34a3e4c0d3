"""Metrics and logging of the long-running processes."""
