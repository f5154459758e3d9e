"""Kotopolku — client information system for municipal integration services."""
