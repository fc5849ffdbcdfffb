"""Device profiles: published register maps served from slot values, no Home Assistant.

Each module declares one vendor's map (`sunspec`, `eastron`, `chint`, `carlo_gavazzi`,
`shelly`); `compile.ProfileTable` turns a profile and its options into a `RegisterMap` the
core serves. The runtime binds entities to slots and feeds `counters.SlotValues`.
"""

from __future__ import annotations

from typing import Final

from . import carlo_gavazzi, chint, eastron, shelly, sunspec
from .model import Profile

PROFILES: Final[dict[str, Profile]] = {
    **sunspec.PROFILES,
    **eastron.PROFILES,
    **chint.PROFILES,
    **carlo_gavazzi.PROFILES,
    **shelly.PROFILES,
}

__all__ = ["PROFILES"]
