"""Several devices behind one server: dispatch by unit id, unknown units, live replacement."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from custom_components.modbus_server.modbus import (
    Area,
    Device,
    DeviceIdentification,
    Request,
    Server,
    UnknownUnit,
    pdu as P,
)

from .client import RawClient, frame


class Table:
    """A device's data: every holding register reads `base + address`; writes recorded."""

    def __init__(self, base: int) -> None:
        self.base = base
        self.writes: list[tuple[int, int, list[int], int | None]] = []

    def on_read(self, request: Request, area: Area, address: int, count: int) -> list[int]:
        return [(self.base + address + i) & 0xFFFF for i in range(count)]

    def on_write(self, request: Request, area: Area, address: int, values: list[Any]) -> None:
        self.writes.append((request.unit_id, address, [int(v) for v in values], request.mask))

    def device(self, *units: int, name: str = "") -> Device:
        return Device(
            on_read=self.on_read,
            on_write=self.on_write,
            unit_ids=frozenset(units),
            identification=DeviceIdentification(product_name=name or f"table {self.base}"),
            name=name or f"table {self.base}",
        )


async def read_one(client: RawClient, unit_id: int, address: int = 0) -> int:
    response = await client.request(P.encode_read_request(3, address, 1), unit_id=unit_id)
    assert response[0] == 3, response.hex()
    return P.decode_read_registers_response(response)[0]


async def test_each_unit_id_reaches_its_own_device() -> None:
    meter, inverter = Table(1000), Table(2000)
    devices = [meter.device(1), inverter.device(2, 255)]
    async with Server(host="127.0.0.1", port=0, devices=devices) as server:
        client = await RawClient.connect(server.port)
        assert await read_one(client, 1, 5) == 1005
        assert await read_one(client, 2, 5) == 2005
        assert await read_one(client, 255, 5) == 2005
        await client.request(P.encode_write_single_register_request(7, 42), unit_id=2)
        await client.close()
    assert meter.writes == []
    assert inverter.writes == [(2, 7, [42], None)]


async def test_unknown_unit_answers_0x0b_by_default() -> None:
    async with Server(host="127.0.0.1", port=0, devices=[Table(0).device(1)]) as server:
        client = await RawClient.connect(server.port)
        for unit in (0, 2, 255):
            response = await client.request(P.encode_read_request(3, 0, 1), unit_id=unit)
            assert response == bytes((0x83, 0x0B))
        await client.close()


async def test_unknown_unit_can_be_left_unanswered_and_the_connection_stays() -> None:
    server = Server(
        host="127.0.0.1", port=0, devices=[Table(0).device(1)], unknown_unit=UnknownUnit.SILENT
    )
    async with server:
        client = await RawClient.connect(server.port)
        await client.send(frame(P.encode_read_request(3, 0, 1), transaction_id=1, unit_id=9))
        await client.send(frame(P.encode_read_request(3, 3, 1), transaction_id=2, unit_id=1))
        tid, _, uid, pdu = await client.receive()
        # the request for unit 9 got nothing; the next one on the same connection is answered
        assert (tid, uid, P.decode_read_registers_response(pdu)) == (2, 1, [3])
        assert server.stats.counters.unknown_unit == 1
        await client.close()


async def test_each_device_identifies_itself() -> None:
    devices = [Table(0).device(1, name="meter"), Table(0).device(2, name="inverter")]
    async with Server(host="127.0.0.1", port=0, devices=devices) as server:
        client = await RawClient.connect(server.port)
        names = []
        for unit in (1, 2):
            # individual access (read code 4) to object 4, the product name
            response = await client.request(P.encode_device_id_request(4, 4), unit_id=unit)
            names.append(P.decode_device_id_response(response)[3])
        await client.close()
    assert [dict(objects)[4] for objects in names] == [b"meter", b"inverter"]


@pytest.mark.parametrize(
    ("units", "message"),
    [
        ([(1,), (1, 2)], "unit id 1 is answered by both"),
        ([(), (2,)], "only device"),
        ([(256,)], "outside 0..255"),
    ],
)
def test_unit_id_rules_are_enforced(units: list[tuple[int, ...]], message: str) -> None:
    devices = [
        Device(on_read=Table(0).on_read, unit_ids=frozenset(u) if u else None) for u in units
    ]
    with pytest.raises(ValueError, match=message):
        Server(devices=devices)


async def test_devices_are_replaced_between_requests_without_closing_connections() -> None:
    old, new = Table(1000), Table(5000)
    async with Server(host="127.0.0.1", port=0, devices=[old.device(1)]) as server:
        client = await RawClient.connect(server.port)
        assert await read_one(client, 1) == 1000
        server.devices = [new.device(1), old.device(3)]
        assert await read_one(client, 1) == 5000
        assert await read_one(client, 3) == 1000
        with pytest.raises(ValueError, match="both"):
            server.devices = [new.device(1), old.device(1)]
        assert await read_one(client, 1) == 5000  # a refused replacement changed nothing
        assert server.stats.connections_total == 1
        await client.close()


async def test_an_awaited_request_finishes_on_the_device_it_started_on() -> None:
    release = asyncio.Event()
    old, new = Table(1000), Table(5000)

    async def slow_read(request: Request, area: Area, address: int, count: int) -> list[int]:
        await release.wait()
        return old.on_read(request, area, address, count)

    device = Device(on_read=slow_read, unit_ids=frozenset({1}))
    async with Server(host="127.0.0.1", port=0, devices=[device]) as server:
        client = await RawClient.connect(server.port)
        await client.send(frame(P.encode_read_request(3, 0, 2), transaction_id=1))
        await asyncio.sleep(0.05)
        server.devices = [new.device(1)]
        release.set()
        _, _, _, pdu = await client.receive()
        assert P.decode_read_registers_response(pdu) == [1000, 1001]
        assert await read_one(client, 1) == 5000
        await client.close()


async def test_mask_write_tells_the_callback_which_bits_the_masks_write() -> None:
    table = Table(0b1010_0000)
    async with Server(host="127.0.0.1", port=0, devices=[table.device(1)]) as server:
        client = await RawClient.connect(server.port)
        # AND 0xFFF0 keeps bits 4..15; OR 0x0005 sets bits 0 and 2 of the low nibble
        response = await client.request(P.encode_mask_write_request(0, 0xFFF0, 0x0005))
        assert response == P.encode_mask_write_request(0, 0xFFF0, 0x0005)
        await client.close()
    assert table.writes == [(1, 0, [0b1010_0101], 0x000F)]
