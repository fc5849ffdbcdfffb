"""Modbus TCP server: unit dispatch, MBAP framing, pipelining, connection limits, counters.

Each connection is an `asyncio.Protocol`. A segment may carry many frames and a
frame may span many segments; every complete frame is handled at once when its
callback answers synchronously, and all responses of one segment leave in a
single write. When a callback returns an awaitable, the frames behind it wait in
a per-connection queue, so responses always go out in request order and a slow
callback stalls only its own connection.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from datetime import UTC, datetime
from functools import partial
from struct import Struct, error as StructError
from types import TracebackType
from typing import Any, Self

from .area import Area
from .device import (
    Device,
    ReadCallback,
    Request,
    UnknownUnit,
    Values,
    WriteCallback,
    index_devices,
)
from .device_id import DeviceIdentification, DeviceIdentificationResponder
from .exceptions import (
    GatewayTargetFailedToRespond,
    IllegalFunction,
    ModbusExceptionResponse,
    ServerDeviceBusy,
    ServerDeviceFailure,
)
from .pdu import (
    DIAG_RETURN_QUERY_DATA,
    MAX_READ_BITS,
    MAX_READ_REGISTERS,
    MEI_READ_DEVICE_ID,
    FunctionCode,
    apply_mask,
    decode_device_id_request,
    decode_diagnostics_request,
    decode_mask_write_request,
    decode_read_request,
    decode_read_write_request,
    decode_write_multiple_coils_request,
    decode_write_multiple_registers_request,
    decode_write_single_coil_request,
    decode_write_single_register_request,
    encode_exception_response,
    encode_read_bits_response,
    encode_read_registers_response,
    encode_write_multiple_response,
)
from .stats import ClientInfo, Counters, ServerStats

_LOGGER = logging.getLogger(__name__)
# Hex dumps of every frame: enable DEBUG on this logger only.
WIRE_LOGGER = logging.getLogger(f"{__package__}.wire")

type Response = bytes | Coroutine[Any, Any, bytes]
type _Handler = Callable[[_Served, Request, bytes], Response]

_MBAP = Struct(">HHHB")
_MBAP_SIZE = 7
_MIN_LENGTH = 2  # unit id + function code
_MAX_LENGTH = 254  # unit id + 253-byte PDU
_MAX_QUEUED_FRAMES = 256  # pipelined frames waiting behind a slow callback: pause reading


def _exception(function_code: int, exc: ModbusExceptionResponse) -> bytes:
    return encode_exception_response(function_code, exc.code)


def _encode_read(function_code: int, area: Area, count: int, values: Values) -> bytes:
    """Response of FC 01..04 from what on_read returned, checked."""
    if len(values) != count:
        raise ServerDeviceFailure(f"on_read returned {len(values)} values, not {count}")
    if area.is_bit:
        return encode_read_bits_response(function_code, values)
    try:
        return encode_read_registers_response(function_code, values)
    except StructError as exc:
        raise ServerDeviceFailure(f"on_read returned a value outside 0..65535: {exc}") from exc


class _Served:
    """A device as the server serves it: its callbacks and its FC43 responder."""

    __slots__ = ("device", "device_id", "on_read", "on_write")

    def __init__(self, device: Device) -> None:
        self.device = device
        self.on_read = device.on_read
        self.on_write = device.on_write
        self.device_id = DeviceIdentificationResponder(
            device.identification or DeviceIdentification()
        )


class Server:
    """A Modbus TCP server that owns no data: every access goes to a device's callbacks.

    Each `Device` answers its unit ids (or any unit id, when it is the only one). Its
    `on_read(request, area, address, count)` returns `count` values (registers 0..65535, or
    bits); `on_write(request, area, address, values)` applies them. Both may be sync or
    async. Raising a `ModbusExceptionResponse` subclass puts its code on the wire; any other
    exception is logged and answered with ServerDeviceFailure. A request for a unit id no
    device answers gets exception 0x0B, or no answer with `unknown_unit=UnknownUnit.SILENT`.

    `on_read`/`on_write`/`unit_id`/`device_identification` are the shorthand for a server
    with a single device (`unit_id=None`: any unit id). `devices` can be replaced while
    serving; a request is served entirely by the devices it found when it arrived.
    """

    def __init__(
        self,
        *,
        host: str | Sequence[str] | None = None,
        port: int = 502,
        devices: Iterable[Device] = (),
        on_read: ReadCallback | None = None,
        on_write: WriteCallback | None = None,
        unit_id: int | None = None,
        device_identification: DeviceIdentification | None = None,
        unknown_unit: UnknownUnit = UnknownUnit.EXCEPTION,
        max_connections: int = 32,
        idle_timeout: float | None = None,
        allowed_clients: Iterable[str] | None = None,
        callback_timeout: float = 10.0,
        timeout_exception: type[ModbusExceptionResponse] = ServerDeviceBusy,
    ) -> None:
        """Configure the server; nothing is bound until `start()`."""
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        devices = list(devices)
        if on_read is not None:
            if devices:
                raise ValueError("give either devices or on_read, not both")
            if unit_id is not None and not 0 <= unit_id <= 255:
                raise ValueError(f"unit id {unit_id} outside 0..255")
            devices = [
                Device(
                    on_read=on_read,
                    on_write=on_write,
                    unit_ids=None if unit_id is None else frozenset({unit_id}),
                    identification=device_identification,
                )
            ]
        self._hosts: list[str | None] = (
            [host] if host is None or isinstance(host, str) else list(host)
        )
        self._port = port
        self._by_unit: dict[int, _Served] = {}
        self._any_unit: _Served | None = None
        self.devices = devices
        self.unknown_unit = unknown_unit
        self.max_connections = max_connections
        self.idle_timeout = idle_timeout
        self.allowed_networks = (
            None
            if allowed_clients is None
            else [ipaddress.ip_network(net, strict=False) for net in allowed_clients]
        )
        self.callback_timeout = callback_timeout
        self._timeout_exception = timeout_exception
        self._servers: list[asyncio.Server] = []
        self._connections: set[_Connection] = set()
        self._closed_counters = Counters()
        self._connections_total = 0
        self._connections_rejected = 0
        self._next_connection_id = 1
        self._logged_failures: set[str] = set()
        self._handlers: dict[int, _Handler] = {
            FunctionCode.READ_COILS: partial(self._read, Area.COIL, MAX_READ_BITS),
            FunctionCode.READ_DISCRETE_INPUTS: partial(
                self._read, Area.DISCRETE_INPUT, MAX_READ_BITS
            ),
            FunctionCode.READ_HOLDING_REGISTERS: partial(
                self._read, Area.HOLDING_REGISTER, MAX_READ_REGISTERS
            ),
            FunctionCode.READ_INPUT_REGISTERS: partial(
                self._read, Area.INPUT_REGISTER, MAX_READ_REGISTERS
            ),
            FunctionCode.WRITE_SINGLE_COIL: self._write_single_coil,
            FunctionCode.WRITE_SINGLE_REGISTER: self._write_single_register,
            FunctionCode.DIAGNOSTICS: self._diagnostics,
            FunctionCode.WRITE_MULTIPLE_COILS: self._write_multiple_coils,
            FunctionCode.WRITE_MULTIPLE_REGISTERS: self._write_multiple_registers,
            FunctionCode.MASK_WRITE_REGISTER: self._mask_write_register,
            FunctionCode.READ_WRITE_MULTIPLE_REGISTERS: self._read_write_registers,
            FunctionCode.ENCAPSULATED_INTERFACE: self._encapsulated_interface,
        }

    @property
    def devices(self) -> list[Device]:
        """The devices served, in the order given."""
        return list(self._devices)

    @devices.setter
    def devices(self, devices: Iterable[Device]) -> None:
        """Replace the devices at once (ValueError on a unit id clash; nothing changes then)."""
        devices = list(devices)
        by_unit, any_unit = index_devices(devices)
        served = {id(device): _Served(device) for device in devices}
        self._devices = devices
        self._by_unit = {unit: served[id(device)] for unit, device in by_unit.items()}
        self._any_unit = None if any_unit is None else served[id(any_unit)]

    # --- lifecycle ------------------------------------------------------------------

    async def start(self) -> None:
        """Bind and listen; raises OSError (EADDRINUSE, EACCES, ...) when binding fails."""
        if self._servers:
            return
        loop = asyncio.get_running_loop()
        port = self._port
        try:
            for host in self._hosts:
                server = await loop.create_server(
                    lambda: _Connection(self), host=host, port=port, reuse_address=True
                )
                self._servers.append(server)
                # port 0: every further address binds the port the first one got
                port = server.sockets[0].getsockname()[1]
        except OSError:
            await self.stop()
            raise
        self._port = port
        _LOGGER.debug("Modbus server listening on %s", self.addresses)

    async def stop(self) -> None:
        """Stop listening, close every client connection, and free the port."""
        servers, self._servers = self._servers, []
        for server in servers:
            server.close()
        for connection in list(self._connections):
            connection.abort()
        for server in servers:
            await server.wait_closed()

    async def __aenter__(self) -> Self:
        """Start on entering the context."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop on leaving the context."""
        await self.stop()

    @property
    def is_serving(self) -> bool:
        """True while listening."""
        return bool(self._servers)

    @property
    def port(self) -> int:
        """The bound port (after `start()`), or the configured one."""
        return self._port

    @property
    def addresses(self) -> list[tuple[str, int]]:
        """Every (host, port) listened on."""
        return [sock.getsockname()[:2] for server in self._servers for sock in server.sockets]

    # --- diagnostics ----------------------------------------------------------------

    @property
    def connections(self) -> list[ClientInfo]:
        """The connected clients, oldest first."""
        return sorted((c.info for c in self._connections), key=lambda i: i.connection_id)

    @property
    def stats(self) -> ServerStats:
        """Counters of all connections, past and present."""
        total = Counters()
        total.add(self._closed_counters)
        for connection in self._connections:
            total.add(connection.info.counters)
        return ServerStats(
            counters=total,
            connections=len(self._connections),
            connections_total=self._connections_total,
            connections_rejected=self._connections_rejected,
        )

    # --- connection bookkeeping (called by _Connection) -----------------------------

    def _admit(self, connection: _Connection, host: str) -> str | None:
        """Return why a new connection is refused, or None to accept it."""
        if self.allowed_networks is not None:
            try:
                address = ipaddress.ip_address(host.partition("%")[0])
            except ValueError:
                return "unparsable client address"
            if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
                address = address.ipv4_mapped
            if not any(address in net for net in self.allowed_networks):
                return "not in the allow-list"
        if len(self._connections) >= self.max_connections:
            return f"max_connections ({self.max_connections}) reached"
        self._connections.add(connection)
        self._connections_total += 1
        return None

    def _new_connection_id(self) -> int:
        connection_id = self._next_connection_id
        self._next_connection_id += 1
        return connection_id

    def _forget(self, connection: _Connection) -> None:
        if connection in self._connections:
            self._connections.discard(connection)
            self._closed_counters.add(connection.info.counters)

    def _log_failure(self, key: str, message: str, *args: object, exc_info: bool = False) -> None:
        """Log a callback failure once per kind, then only at debug level."""
        if key in self._logged_failures:
            _LOGGER.debug(message, *args, exc_info=exc_info)
            return
        if len(self._logged_failures) < 1000:
            self._logged_failures.add(key)
        _LOGGER.error(message, *args, exc_info=exc_info)

    # --- request handling -----------------------------------------------------------

    def handle(self, client: ClientInfo, unit_id: int, pdu: bytes) -> Response | None:
        """Answer one request PDU: response bytes, a coroutine yielding them, or None.

        None means no answer at all (a unit id no device answers, with `UnknownUnit.SILENT`).
        Never raises: every failure becomes an exception response.
        """
        function_code = pdu[0]
        served = self._by_unit.get(unit_id, self._any_unit)
        if served is None:
            if self.unknown_unit is UnknownUnit.SILENT:
                return None
            return _exception(function_code, GatewayTargetFailedToRespond())
        handler = self._handlers.get(function_code)
        if handler is None:
            return _exception(function_code, IllegalFunction())
        try:
            return handler(served, Request(client, unit_id, function_code), pdu)
        except ModbusExceptionResponse as exc:
            return _exception(function_code, exc)
        except Exception as exc:  # a callback bug must not kill the connection
            return self._failure(function_code, exc)

    def _failure(self, function_code: int, exc: Exception) -> bytes:
        self._log_failure(
            f"{type(exc).__name__}:{exc}",
            "Modbus callback failed for function %#04x, answering SERVER DEVICE FAILURE: %r",
            function_code,
            exc,
            exc_info=True,
        )
        return _exception(function_code, ServerDeviceFailure())

    async def _complete(
        self, function_code: int, pending: Awaitable[Any], finish: Callable[[Any], bytes]
    ) -> bytes:
        """Await a callback under the callback timeout and encode its result."""
        try:
            async with asyncio.timeout(self.callback_timeout):
                result = await pending
            return finish(result)
        except ModbusExceptionResponse as exc:
            return _exception(function_code, exc)
        except TimeoutError:
            self._log_failure(
                "timeout",
                "Modbus callback did not answer within %s s; answering %s "
                "(further timeouts are logged at debug level)",
                self.callback_timeout,
                self._timeout_exception.__name__,
            )
            return _exception(function_code, self._timeout_exception())
        except Exception as exc:
            return self._failure(function_code, exc)

    def _read(
        self, area: Area, max_count: int, served: _Served, request: Request, pdu: bytes
    ) -> Response:
        """FC 01..04: one handler, bound per function code in `_handlers`."""
        address, count = decode_read_request(pdu, max_count)
        values = served.on_read(request, area, address, count)
        if isinstance(values, (list, tuple)) or not hasattr(values, "__await__"):
            return _encode_read(pdu[0], area, count, values)
        return self._complete(pdu[0], values, partial(_encode_read, pdu[0], area, count))

    @staticmethod
    def _writer(served: _Served) -> WriteCallback:
        if served.on_write is None:
            raise IllegalFunction("this device accepts no writes")
        return served.on_write

    def _write(
        self,
        served: _Served,
        request: Request,
        area: Area,
        address: int,
        values: list[int] | list[bool],
        *,
        response: bytes,
    ) -> Response:
        """Call on_write; the response is fixed in advance (echo or address+quantity)."""
        pending = self._writer(served)(request, area, address, values)
        if pending is None:
            return response
        return self._complete(response[0], pending, lambda _: response)

    def _write_single_coil(self, served: _Served, request: Request, pdu: bytes) -> Response:
        address, value = decode_write_single_coil_request(pdu)
        return self._write(served, request, Area.COIL, address, [value], response=pdu)

    def _write_single_register(self, served: _Served, request: Request, pdu: bytes) -> Response:
        address, value = decode_write_single_register_request(pdu)
        return self._write(served, request, Area.HOLDING_REGISTER, address, [value], response=pdu)

    def _write_multiple_coils(self, served: _Served, request: Request, pdu: bytes) -> Response:
        address, values = decode_write_multiple_coils_request(pdu)
        response = encode_write_multiple_response(pdu[0], address, len(values))
        return self._write(served, request, Area.COIL, address, values, response=response)

    def _write_multiple_registers(self, served: _Served, request: Request, pdu: bytes) -> Response:
        address, values = decode_write_multiple_registers_request(pdu)
        response = encode_write_multiple_response(pdu[0], address, len(values))
        return self._write(
            served, request, Area.HOLDING_REGISTER, address, values, response=response
        )

    def _mask_write_register(self, served: _Served, request: Request, pdu: bytes) -> Response:
        address, and_mask, or_mask = decode_mask_write_request(pdu)
        on_write = self._writer(served)
        # The bits the masks write: those the AND mask clears (the OR mask may set them again).
        request.mask = ~and_mask & 0xFFFF

        async def read_modify_write() -> bytes:
            (current,) = await _read_values(served, request, Area.HOLDING_REGISTER, address, 1)
            await _settle(
                on_write(
                    request,
                    Area.HOLDING_REGISTER,
                    address,
                    [apply_mask(current, and_mask, or_mask)],
                )
            )
            return pdu

        return self._complete(pdu[0], read_modify_write(), lambda response: response)

    def _read_write_registers(self, served: _Served, request: Request, pdu: bytes) -> Response:
        read_address, read_count, write_address, values = decode_read_write_request(pdu)
        on_write = self._writer(served)

        async def write_then_read() -> bytes:
            await _settle(on_write(request, Area.HOLDING_REGISTER, write_address, values))
            registers = await _read_values(
                served, request, Area.HOLDING_REGISTER, read_address, read_count
            )
            return _encode_read(pdu[0], Area.HOLDING_REGISTER, read_count, registers)

        return self._complete(pdu[0], write_then_read(), lambda response: response)

    def _diagnostics(self, served: _Served, request: Request, pdu: bytes) -> Response:
        sub_function, _ = decode_diagnostics_request(pdu)
        if sub_function != DIAG_RETURN_QUERY_DATA:
            raise IllegalFunction(f"diagnostics sub-function {sub_function:#06x} not supported")
        return pdu

    def _encapsulated_interface(self, served: _Served, request: Request, pdu: bytes) -> Response:
        mei_type, read_code, object_id = decode_device_id_request(pdu)
        if mei_type != MEI_READ_DEVICE_ID:
            raise IllegalFunction(f"MEI type {mei_type:#04x} not supported")
        return served.device_id.respond(read_code, object_id)

    # --- for the other transports (serial line, RTU over TCP, UDP) ---------------------

    def serves(self, unit_id: int) -> bool:
        """True when a device answers `unit_id`: a serial slave stays silent otherwise."""
        return unit_id in self._by_unit or self._any_unit is not None

    def allows(self, host: str) -> bool:
        """True when `host` passes `allowed_clients` (always, without an allow-list)."""
        if self.allowed_networks is None:
            return True
        try:
            address = ipaddress.ip_address(host.partition("%")[0])
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in net for net in self.allowed_networks)

    async def broadcast(self, client: ClientInfo, pdu: bytes) -> None:
        """Apply a broadcast (serial unit 0) write to every device; nothing is answered.

        Only the write functions that need no answer are broadcast (05, 06, 15, 16, 22);
        anything else, and any failure, is dropped, as the line gets no answer either way.
        """
        handler = self._handlers.get(pdu[0])
        if handler is None or pdu[0] not in _BROADCAST_FUNCTIONS:
            return
        for served in [*dict.fromkeys(self._by_unit.values()), self._any_unit]:
            if served is None or served.on_write is None:
                continue
            try:
                result = handler(served, Request(client, 0, pdu[0]), pdu)
                if not isinstance(result, bytes):
                    await result
            except Exception as exc:  # no answer to carry it: log and go on
                _LOGGER.debug("Broadcast %#04x to %s failed: %r", pdu[0], served.device, exc)


async def _read_values(
    served: _Served, request: Request, area: Area, address: int, count: int
) -> list[int]:
    values = served.on_read(request, area, address, count)
    if not isinstance(values, (list, tuple)) and hasattr(values, "__await__"):
        values = await values
    if len(values) != count:
        raise ServerDeviceFailure(f"on_read returned {len(values)} values, not {count}")
    return [int(v) for v in values]


async def _settle(pending: Awaitable[None] | None) -> None:
    if pending is not None:
        await pending


class _Connection(asyncio.Protocol):
    """One client connection: framing, ordering, flow control, counters."""

    def __init__(self, server: Server) -> None:
        self._server = server
        self._transport: asyncio.Transport | None = None
        self._buffer = b""
        # Frames waiting behind an awaited callback; None while everything is synchronous.
        self._queue: deque[tuple[int, int, bytes]] | None = None
        self._task: asyncio.Task[None] | None = None
        self._paused = False
        self._closing = False  # framing lost: answer what is queued, then close
        self._idle_handle: asyncio.TimerHandle | None = None
        self._last_activity = 0.0
        self.info = ClientInfo("", 0, datetime.now(UTC), server._new_connection_id())

    # --- asyncio.Protocol -----------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        peer = transport.get_extra_info("peername") or ("", 0)
        self.info.host, self.info.port = str(peer[0]), int(peer[1])
        refusal = self._server._admit(self, self.info.host)
        if refusal is not None:
            self._server._connections_rejected += 1
            _LOGGER.info("Refused Modbus client %s: %s", self.info.host, refusal)
            transport.abort()
            self._transport = None
            return
        _LOGGER.debug("Modbus client %s:%s connected", self.info.host, self.info.port)
        if self._server.idle_timeout:
            self._last_activity = time.monotonic()
            self._schedule_idle_check(self._server.idle_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._server._forget(self)
        self._transport = None
        if self._idle_handle is not None:
            self._idle_handle.cancel()
        if self._task is not None:
            self._task.cancel()
        _LOGGER.debug("Modbus client %s:%s disconnected", self.info.host, self.info.port)

    def pause_writing(self) -> None:
        # The client does not read its responses: stop reading its requests.
        if self._transport is not None:
            self._transport.pause_reading()

    def resume_writing(self) -> None:
        if self._transport is not None and not self._paused:
            self._transport.resume_reading()

    def data_received(self, data: bytes) -> None:
        transport = self._transport
        if transport is None or self._closing:
            return
        info = self.info
        counters = info.counters
        counters.bytes_received += len(data)
        if self._server.idle_timeout:
            self._last_activity = time.monotonic()
        if WIRE_LOGGER.isEnabledFor(logging.DEBUG):
            WIRE_LOGGER.debug("%s:%s -> %s", info.host, info.port, data.hex(" "))
        if self._buffer:
            data = self._buffer + data
        end = len(data)
        pos = 0
        out: list[bytes] = []
        queue = self._queue
        handle = self._server.handle
        while end - pos >= _MBAP_SIZE:
            transaction_id, protocol_id, length, unit_id = _MBAP.unpack_from(data, pos)
            if not _MIN_LENGTH <= length <= _MAX_LENGTH:
                # Framing is lost: nothing after this can be trusted.
                counters.framing_errors += 1
                _LOGGER.warning(
                    "Modbus client %s:%s sent MBAP length %s (allowed 2..254); closing",
                    info.host,
                    info.port,
                    length,
                )
                self._flush(out)
                self._buffer = b""
                self._closing = True
                if queue is None:
                    transport.close()
                else:  # answer what came before, then close (see _drain)
                    transport.pause_reading()
                return
            frame_end = pos + 6 + length
            if frame_end > end:
                break
            pdu = data[pos + _MBAP_SIZE : frame_end]
            pos = frame_end
            if protocol_id != 0:
                counters.frames_ignored += 1
                continue
            counters.requests += 1
            if queue is not None:
                queue.append((transaction_id, unit_id, pdu))
                continue
            info.unit_id = unit_id
            response = handle(info, unit_id, pdu)
            if response is None:
                counters.unknown_unit += 1
            elif isinstance(response, bytes):
                out.append(self._frame(transaction_id, unit_id, response))
            else:
                queue = self._queue = deque()
                self._task = asyncio.get_running_loop().create_task(
                    self._drain(transaction_id, unit_id, response)
                )
        self._buffer = data[pos:] if pos < end else b""
        if out:
            self._flush(out)
        if queue is not None and len(queue) > _MAX_QUEUED_FRAMES and not self._paused:
            self._paused = True
            transport.pause_reading()

    # --- helpers --------------------------------------------------------------------

    def _frame(self, transaction_id: int, unit_id: int, response: bytes) -> bytes:
        if response[0] & 0x80:
            self.info.counters.exceptions[response[1]] += 1
        return _MBAP.pack(transaction_id, 0, len(response) + 1, unit_id) + response

    def _flush(self, out: list[bytes]) -> None:
        if not out or self._transport is None:
            return
        payload = out[0] if len(out) == 1 else b"".join(out)
        self.info.counters.bytes_sent += len(payload)
        self.info.last_request = time.time()
        if WIRE_LOGGER.isEnabledFor(logging.DEBUG):
            WIRE_LOGGER.debug("%s:%s <- %s", self.info.host, self.info.port, payload.hex(" "))
        self._transport.write(payload)

    async def _drain(
        self, transaction_id: int, unit_id: int, pending: Coroutine[Any, Any, bytes]
    ) -> None:
        """Answer an awaited request, then the frames queued behind it, in order."""
        queue = self._queue
        assert queue is not None
        handle = self._server.handle
        response = await pending
        self._flush([self._frame(transaction_id, unit_id, response)])
        while queue:
            out: list[bytes] = []
            while queue:
                transaction_id, unit_id, pdu = queue.popleft()
                self.info.unit_id = unit_id
                result = handle(self.info, unit_id, pdu)
                if result is None:
                    self.info.counters.unknown_unit += 1
                    continue
                if not isinstance(result, bytes):
                    self._flush(out)
                    out = []
                    result = await result
                out.append(self._frame(transaction_id, unit_id, result))
            self._flush(out)
        self._queue = None
        self._task = None
        if self._closing and self._transport is not None:
            self._transport.close()
        elif self._paused and self._transport is not None:
            self._paused = False
            self._transport.resume_reading()

    def _schedule_idle_check(self, delay: float) -> None:
        self._idle_handle = asyncio.get_running_loop().call_later(delay, self._check_idle)

    def _check_idle(self) -> None:
        timeout = self._server.idle_timeout
        if self._transport is None or not timeout:
            return
        idle = time.monotonic() - self._last_activity
        if idle >= timeout and self._queue is None:
            _LOGGER.info(
                "Closing Modbus client %s:%s after %.0f s without requests",
                self.info.host,
                self.info.port,
                idle,
            )
            self._transport.close()
            return
        self._schedule_idle_check(max(timeout - idle, 0.05))

    def abort(self) -> None:
        """Drop the connection at once (server shutdown)."""
        if self._transport is not None:
            self._transport.abort()


# Serial broadcast (unit 0): the writes; FC 23 reads, so it is not one of them.
_BROADCAST_FUNCTIONS = frozenset(
    (
        FunctionCode.WRITE_SINGLE_COIL,
        FunctionCode.WRITE_SINGLE_REGISTER,
        FunctionCode.WRITE_MULTIPLE_COILS,
        FunctionCode.WRITE_MULTIPLE_REGISTERS,
        FunctionCode.MASK_WRITE_REGISTER,
    )
)
