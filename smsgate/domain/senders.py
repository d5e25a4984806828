"""Sender (``from``) rules from the seeds: alphanumeric 3 to 11 characters, numeric 3 to 16 digits."""

from __future__ import annotations


def sender_problem(sender: str) -> str | None:
    """Why this sender is not acceptable, or None when it is."""
    value = sender.removeprefix("+")
    if value.isdigit():
        if not 3 <= len(value) <= 16:
            return "numeric sender must be between 3 and 16 digits"
        return None
    if not 3 <= len(sender) <= 11:
        return "alphanumeric sender must be between 3 and 11 characters"
    if not sender.isprintable():
        return "sender must contain printable characters only"
    return None
