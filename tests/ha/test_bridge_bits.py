"""Coils and discrete inputs over a real socket: the bridge's bit view is one byte per bit.

A pymodbus client reads blocks of bits from a real Server whose `on_read` is the bridge; each
bit is compared with the state of its entity, across a gap, a failing point and state changes,
so a wrong byte anywhere in the bytearray view shows as a wrong bit on the wire.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

import pytest
from homeassistant.core import HomeAssistant
from pymodbus.client import AsyncModbusTcpClient

from custom_components.modbus_server.bridge import Bridge
from custom_components.modbus_server.modbus import Area
from custom_components.modbus_server.registermap import UnmappedPolicy

from .bridge_helpers import bridge, point, serving

COIL = Area.COIL
DI = Area.DISCRETE_INPUT
SIZE = 300  # not a multiple of 8: the last byte of a full read is partly padding
GAP = 100  # no point here
FAILING = 150  # its source goes unavailable and it has no unavailable value
FALLBACK = 200  # unavailable reads as 1 here (unavailable_value)


def pattern(index: int) -> bool:
    return bool((index ^ index >> 3) & 1)


def entity(area: Area, index: int) -> str:
    return f"{'switch' if area is COIL else 'binary_sensor'}.b{index}"


def expected(hass: HomeAssistant, area: Area, address: int, count: int) -> list[bool]:
    """What the bits must read as, from the entities' states."""
    bits = []
    for index in range(address, address + count):
        state = hass.states.get(entity(area, index))
        if index == FALLBACK and (state is None or state.state == "unavailable"):
            bits.append(True)
        else:
            bits.append(state is not None and state.state == "on")
    return bits


async def serve(
    hass: HomeAssistant, *, unavailable: tuple[str, ...] = (), **options: object
) -> AsyncGenerator[tuple[Bridge, AsyncModbusTcpClient]]:
    """Set the states (pattern; `unavailable` entities unavailable), the bridge, a client."""
    points = []
    for area in (COIL, DI):
        for index in range(SIZE):
            on = pattern(index)
            state = "unavailable" if entity(area, index) in unavailable else "on" if on else "off"
            hass.states.async_set(entity(area, index), state)
            if index != GAP:
                extra = {"unavailable_value": 1} if index == FALLBACK else {}
                points.append(point(entity(area, index), area, index, **extra))
    b = bridge(hass, *points, **options)
    async with serving(b) as client:
        yield b, client


@pytest.fixture
async def served(
    hass: HomeAssistant, socket_enabled: None
) -> AsyncGenerator[tuple[Bridge, AsyncModbusTcpClient]]:
    """300 coils and 300 discrete inputs, one entity each; coil/input 100 unmapped."""
    async for pair in serve(hass):
        yield pair


@pytest.fixture
async def served_zero(
    hass: HomeAssistant, socket_enabled: None
) -> AsyncGenerator[tuple[Bridge, AsyncModbusTcpClient]]:
    """The same under the `zero` policy: the gap reads as 0."""
    async for pair in serve(hass, unmapped=UnmappedPolicy.ZERO):
        yield pair


async def read(client: AsyncModbusTcpClient, area: Area, address: int, count: int) -> object:
    if area is COIL:
        return await client.read_coils(address, count=count)
    return await client.read_discrete_inputs(address, count=count)


async def bits(client: AsyncModbusTcpClient, area: Area, address: int, count: int) -> list[bool]:
    response = await read(client, area, address, count)
    assert not response.isError(), response  # type: ignore[attr-defined]
    return list(response.bits[:count])  # type: ignore[attr-defined]


async def code(client: AsyncModbusTcpClient, area: Area, address: int, count: int) -> int:
    response = await read(client, area, address, count)
    assert response.isError(), response  # type: ignore[attr-defined]
    return int(response.exception_code)  # type: ignore[attr-defined]


@pytest.mark.parametrize("area", [COIL, DI])
async def test_bit_blocks_read_the_states_across_a_gap_and_a_failing_point(
    hass: HomeAssistant, served: tuple[Bridge, AsyncModbusTcpClient], area: Area
) -> None:
    _, client = served
    assert await bits(client, area, 0, GAP) == expected(hass, area, 0, GAP)
    assert await bits(client, area, GAP + 1, SIZE - GAP - 1) == expected(
        hass, area, GAP + 1, SIZE - GAP - 1
    )
    assert await code(client, area, GAP - 5, 10) == 2  # the gap: IllegalDataAddress
    assert await code(client, area, SIZE - 1, 2) == 2  # past the last point

    hass.states.async_set(entity(area, FAILING), "unavailable")
    assert await code(client, area, GAP + 1, SIZE - GAP - 1) == 4  # ServerDeviceFailure
    assert await code(client, area, FAILING, 1) == 4
    # The blocks on either side of the failing point still read, bit for bit.
    assert await bits(client, area, GAP + 1, FAILING - GAP - 1) == expected(
        hass, area, GAP + 1, FAILING - GAP - 1
    )
    assert await bits(client, area, FAILING + 1, 49) == expected(hass, area, FAILING + 1, 49)

    hass.states.async_set(entity(area, FALLBACK), "unavailable")  # reads as its fallback 1
    assert await bits(client, area, FAILING + 1, 60) == expected(hass, area, FAILING + 1, 60)

    # Every state flips: the view follows each change, no byte left behind.
    for index in range(SIZE):
        if index not in (GAP, FAILING, FALLBACK):
            hass.states.async_set(entity(area, index), "off" if pattern(index) else "on")
    hass.states.async_set(entity(area, FAILING), "on")  # back: the hole closes
    hass.states.async_set(entity(area, FALLBACK), "off")
    assert await bits(client, area, 0, GAP) == expected(hass, area, 0, GAP)
    assert await bits(client, area, GAP + 1, SIZE - GAP - 1) == expected(
        hass, area, GAP + 1, SIZE - GAP - 1
    )
    assert (await bits(client, area, FAILING, 1)) == [True]
    # The other area kept its own bits.
    other = DI if area is COIL else COIL
    assert await bits(client, other, 0, GAP) == [pattern(i) for i in range(GAP)]


async def test_a_point_unavailable_at_start_is_a_hole_until_it_reports(
    hass: HomeAssistant, socket_enabled: None
) -> None:
    async for b, client in serve(hass, unavailable=(entity(COIL, FAILING),)):
        assert await code(client, COIL, GAP + 1, SIZE - GAP - 1) == 4
        hass.states.async_set(entity(COIL, FAILING), "on")
        assert await bits(client, COIL, GAP + 1, SIZE - GAP - 1) == expected(
            hass, COIL, GAP + 1, SIZE - GAP - 1
        )
        # Served from the view again (the register map's fallback answers a list).
        assert isinstance(b.on_read(None, COIL, GAP + 1, SIZE - GAP - 1), bytearray)


async def test_a_gap_reads_as_zero_under_the_zero_policy(
    hass: HomeAssistant, served_zero: tuple[Bridge, AsyncModbusTcpClient]
) -> None:
    _, client = served_zero
    want = expected(hass, DI, 0, SIZE)
    want[GAP] = False
    assert await bits(client, DI, 0, SIZE) == want
    hass.states.async_set(entity(DI, GAP - 1), "off" if pattern(GAP - 1) else "on")
    hass.states.async_set(entity(DI, GAP + 1), "off" if pattern(GAP + 1) else "on")
    want = expected(hass, DI, 0, SIZE)
    want[GAP] = False
    assert await bits(client, DI, 0, SIZE) == want
    hass.states.async_set(entity(DI, FAILING), "unavailable")  # a failing point still fails
    assert await code(client, DI, 0, SIZE) == 4


async def test_the_bit_view_is_one_byte_per_bit(
    hass: HomeAssistant, served: tuple[Bridge, AsyncModbusTcpClient]
) -> None:
    # What the core packs without a conversion (pack_bits's fast path); registers stay lists.
    b, _ = served
    block = b.on_read(None, COIL, 0, 16)
    assert isinstance(block, bytearray)
    assert list(block) == [int(bit) for bit in expected(hass, COIL, 0, 16)]
