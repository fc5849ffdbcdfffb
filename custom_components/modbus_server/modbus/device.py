"""Devices behind one server, and the request a device's callbacks are given.

A server answers for one or more *devices*, each reached by its unit id(s) and each with its
own callbacks and FC43 identification. The core picks the device for every request, so every
transport (TCP, UDP, serial) gets the same dispatch; the callbacks are told which unit was
asked and which client asked (instead of an ambient context variable), which is what a
per-device table, an audit trail and per-client permissions need.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from .area import Area
from .device_id import DeviceIdentification
from .pdu import FunctionCode
from .stats import ClientInfo

type Values = Sequence[int] | Sequence[bool]
type ReadCallback = Callable[[Request, Area, int, int], Values | Awaitable[Values]]
type WriteCallback = Callable[[Request, Area, int, list[int] | list[bool]], Awaitable[None] | None]


class Request:
    """What a callback knows about the request it serves.

    `mask` is set for FC22 (mask write register) only: the bits of the register the client's
    masks write (1 = written). The value handed to `on_write` carries the current value in
    every other bit, so a callback that maps single bits to entities can leave those alone.
    """

    __slots__ = ("client", "function_code", "mask", "unit_id")

    def __init__(
        self, client: ClientInfo, unit_id: int, function_code: int, mask: int | None = None
    ) -> None:
        """Hold the request's facts; built by the server for every request."""
        self.client = client
        self.unit_id = unit_id
        self.function_code = function_code
        self.mask = mask

    def __repr__(self) -> str:
        """Show unit, function and client, for logs and test failures."""
        return (
            f"Request(unit_id={self.unit_id}, function_code={self.function_code:#04x}, "
            f"client={self.client.host}:{self.client.port}, mask={self.mask})"
        )


class UnknownUnit(StrEnum):
    """What a request for a unit id that no device answers gets."""

    EXCEPTION = "exception"
    """Exception 0x0B (gateway target device failed to respond): the TCP convention."""
    SILENT = "silent"
    """No answer at all: what a serial slave does, and what some probing consumers expect."""


class Rights(StrEnum):
    """What a client role may do on a device (Modbus/TCP Security role-based authorization)."""

    NONE = "none"
    READ = "read"
    READ_WRITE = "read-write"


_READS = frozenset(
    {
        FunctionCode.READ_COILS,
        FunctionCode.READ_DISCRETE_INPUTS,
        FunctionCode.READ_HOLDING_REGISTERS,
        FunctionCode.READ_INPUT_REGISTERS,
        FunctionCode.DIAGNOSTICS,  # return query data: an echo, changes nothing
        FunctionCode.ENCAPSULATED_INTERFACE,  # read device identification
    }
)
FUNCTIONS_ALLOWED: Mapping[Rights, frozenset[int]] = {
    Rights.NONE: frozenset(),
    Rights.READ: _READS,
    Rights.READ_WRITE: frozenset(FunctionCode),
}
"""The function codes each right allows; FC23 (read/write) needs read-write."""


@dataclass(frozen=True, slots=True)
class Device:
    """One device behind the server: its unit ids, callbacks, identification and rights.

    `unit_ids=None` answers every unit id; it is only allowed when the server has a single
    device. Without `on_write` every write function answers IllegalFunction (01).

    `rights` maps a client's role (`request.client.role`: from its TLS certificate; None is
    the NULL role of a certificate without one, and of every plain TCP client) to what it may
    do here; a role not in the mapping has no rights. A request its rights do not allow is
    answered IllegalFunction (01, MB-TCP-Security R-31) before any callback runs, checked on
    every request. `rights=None`: no role-based authorization (everything is allowed).
    """

    on_read: ReadCallback
    on_write: WriteCallback | None = None
    unit_ids: frozenset[int] | None = None
    identification: DeviceIdentification | None = None
    name: str = ""
    rights: Mapping[str | None, Rights] | None = None


def index_devices(devices: Iterable[Device]) -> tuple[dict[int, Device], Device | None]:
    """Map unit ids to devices; raise ValueError for a clash or a misplaced 'any unit id'."""
    devices = list(devices)
    by_unit: dict[int, Device] = {}
    any_unit: Device | None = None
    for device in devices:
        if device.unit_ids is None:
            if len(devices) > 1:
                raise ValueError(
                    f"device {device.name or '?'} answers any unit id, which needs it to be "
                    "the only device of its server"
                )
            any_unit = device
            continue
        for unit_id in device.unit_ids:
            if not 0 <= unit_id <= 255:
                raise ValueError(f"unit id {unit_id} outside 0..255")
            other = by_unit.setdefault(unit_id, device)
            if other is not device:
                raise ValueError(
                    f"unit id {unit_id} is answered by both {other.name or '?'} "
                    f"and {device.name or '?'}"
                )
    return by_unit, any_unit
