"""The floor: a Python asyncio server that only answers canned bytes, for the benchmark.

Issue 15 asks how close the real server is to what Python on this event loop can do at all.
This server does the least any Modbus TCP server must: cut MBAP frames out of each segment,
look the request PDU up in a dict of ready-made response PDUs (computed once per distinct
request, from the same data as ours_server.py), put the transaction id in front and write all
responses of a segment at once. No validation, no callbacks, no counters: what is left is the
loop, the transport and the syscalls. Prints ``PORT <n>`` once listening; stops on
SIGTERM/SIGINT. Only reads (FC 01-04) are served; anything else closes the connection.
"""

from __future__ import annotations

import asyncio
import signal
import struct
import sys

_MBAP = struct.Struct(">HHHB")


def _answer(pdu: bytes, size: int) -> bytes:
    function, address, count = struct.unpack(">BHH", pdu[:5])
    if function in (1, 2):
        bits = [(i ^ (i >> 3)) & 1 for i in range(address, address + count)]
        packed = bytearray((count + 7) // 8)
        for i, bit in enumerate(bits):
            packed[i // 8] |= bit << (i % 8)
        return bytes((function, len(packed))) + bytes(packed)
    if function in (3, 4):
        values = [i & 0xFFFF for i in range(address, address + count)]
        return bytes((function, 2 * count)) + struct.pack(f">{count}H", *values)
    raise ValueError(f"function {function} not served by the floor server (size {size})")


class _Floor(asyncio.Protocol):
    def __init__(self, canned: dict[bytes, bytes], size: int) -> None:
        self._canned = canned
        self._size = size
        self._buffer = b""
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        assert self._transport is not None
        data = self._buffer + data if self._buffer else data
        out: list[bytes] = []
        pos, end = 0, len(data)
        while end - pos >= 7:
            tid, _, length, unit = _MBAP.unpack_from(data, pos)
            frame_end = pos + 6 + length
            if frame_end > end:
                break
            pdu = data[pos + 7 : frame_end]
            pos = frame_end
            response = self._canned.get(pdu)
            if response is None:
                try:
                    response = self._canned[pdu] = _answer(pdu, self._size)
                except ValueError, struct.error:
                    self._transport.close()
                    return
            out.append(_MBAP.pack(tid, 0, len(response) + 1, unit) + response)
        self._buffer = data[pos:]
        if out:
            self._transport.write(b"".join(out))


async def main(size: int) -> None:
    canned: dict[bytes, bytes] = {}
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    server = await loop.create_server(lambda: _Floor(canned, size), "127.0.0.1", 0)
    print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 10000))
