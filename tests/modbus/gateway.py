"""A serial-to-Ethernet gateway in TCP-server mode, for the dialling tests."""

from __future__ import annotations

import asyncio
import contextlib


class Gateway:
    """A gateway in TCP-server mode: our dialler connects to `port`, the master to
    `master_port`, and bytes are piped between the two unchanged."""

    def __init__(self) -> None:
        self.slave: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self.slave_connected = asyncio.Event()
        self._servers: list[asyncio.Server] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, port: int = 0) -> None:
        self._servers = [
            await asyncio.start_server(self._on_slave, "127.0.0.1", port),
            await asyncio.start_server(self._on_master, "127.0.0.1", 0),
        ]

    @property
    def port(self) -> int:
        return int(self._servers[0].sockets[0].getsockname()[1])

    @property
    def master_port(self) -> int:
        return int(self._servers[1].sockets[0].getsockname()[1])

    async def _on_slave(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.slave = (reader, writer)
        self.slave_connected.set()

    async def _on_master(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self.slave_connected.wait()
        assert self.slave is not None
        slave_reader, slave_writer = self.slave
        for source, sink in ((reader, slave_writer), (slave_reader, writer)):
            task = asyncio.get_running_loop().create_task(self._pipe(source, sink))
            self._tasks.add(task)

    @staticmethod
    async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await source.read(4096):
                sink.write(data)
                await sink.drain()

    def drop_slave(self) -> None:
        """Cut our dialler's connection, as a gateway restarting does."""
        assert self.slave is not None
        self.slave[1].transport.abort()
        self.slave = None
        self.slave_connected.clear()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for server in self._servers:
            server.close()
            server.abort_clients()
        for server in self._servers:
            await server.wait_closed()
