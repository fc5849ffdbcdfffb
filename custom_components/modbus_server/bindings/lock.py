"""lock: locked = 1; a written 1 calls lock.lock, 0 calls lock.unlock."""

from __future__ import annotations

from .base import DomainBinding, register


@register
class LockBinding(DomainBinding):
    """A lock; 'jammed' (neither locked nor unlocked) reads as unavailable."""

    domain = "lock"
    is_binary = True
    on_states = frozenset({"locked"})
    off_states = frozenset({"unlocked", "locking", "unlocking", "open", "opening"})
    turn_on_service = "lock"
    turn_off_service = "unlock"
    settled_states = frozenset({"locked", "unlocked"})  # not while moving, open or jammed
