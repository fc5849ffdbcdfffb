"""Modbus TCP server: unit dispatch, MBAP framing, pipelining, connection limits, counters.

Each connection is an `asyncio.Protocol`. A segment may carry many frames and a
frame may span many segments; complete frames are answered at once when their
callbacks answer without waiting (plain functions, and coroutines that return
without suspending), and all responses of one step leave in a single write. A
callback that really waits holds back the frames behind it, so responses always
go out in request order and a slow callback stalls only its own connection.
Every connection's buffers are bounded and no connection holds the loop for more
than one step (`_FRAMES_PER_STEP` frames); see `_Connection`.

With `tls=` (Modbus/TCP Security, see `tls.py`) a connection is admitted (allow-list and
limits) before any TLS byte is read; its handshake then advances inside `data_received` as
its bytes arrive (`tls.TlsTransport`), at most `max_tls_handshakes` at once (the others are
not read until a slot frees) and each within `tls_handshake_timeout`, so a stalled or slow
handshake holds its own connection and slot only; requests are read after it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import ssl
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from datetime import UTC, datetime
from functools import partial
from struct import Struct, error as StructError
from typing import Any

from .area import Area
from .device import (
    FUNCTIONS_ALLOWED,
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
from .lifecycle import StartStop
from .loglimit import LogLimiter
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
from .tls import DEFAULT_TLS_PORT, TlsTransport, role_of

_LOGGER = logging.getLogger(__name__)
# Hex dumps of every frame: enable DEBUG on this logger only.
WIRE_LOGGER = logging.getLogger(f"{__package__}.wire")

type Response = bytes | Coroutine[Any, Any, bytes]
type _Handler = Callable[[_Served, Request, bytes], Response]

_MBAP = Struct(">HHHB")
_MBAP_SIZE = 7
_MIN_LENGTH = 2  # unit id + function code
_MAX_LENGTH = 254  # unit id + 253-byte PDU
_REFUSALS = {  # stats key: log text
    "not_allowed": "not in the allow-list",
    "max_connections": "max_connections ({server.max_connections}) reached",
    "max_connections_per_host": (
        "max_connections_per_host ({server.max_connections_per_host}) reached"
    ),
}
# Frames answered per loop iteration and connection before the loop runs other work: keeps
# loop lag and other clients' latency bounded (~0.3 ms of work) at no cost to pipelining.
_FRAMES_PER_STEP = 128
# Unserved request bytes per connection above which reading pauses (TCP then holds the rest).
_MAX_UNSERVED_INPUT = 64 * 1024
# Response bytes buffered per connection above which serving and reading pause. Together with
# one step (at most 128 responses of <= 260 bytes) this bounds a connection's buffered
# responses to about 100 KB whatever its client and callbacks do.
_WRITE_HIGH_WATER = 64 * 1024


def _exception(function_code: int, exc: ModbusExceptionResponse) -> bytes:
    return encode_exception_response(function_code, exc.code)


def _encode_bits(function_code: int, count: int, values: Values) -> bytes:
    """Response of FC 01/02 from what on_read returned, checked."""
    if len(values) != count:
        raise ServerDeviceFailure(f"on_read returned {len(values)} values, not {count}")
    return encode_read_bits_response(function_code, values)


def _encode_registers(function_code: int, count: int, values: Values) -> bytes:
    """Response of FC 03/04 from what on_read returned, checked."""
    if len(values) != count:
        raise ServerDeviceFailure(f"on_read returned {len(values)} values, not {count}")
    try:
        return encode_read_registers_response(function_code, values)
    except StructError as exc:
        raise ServerDeviceFailure(f"on_read returned a value outside 0..65535: {exc}") from exc


type _ReadKind = tuple[Area, int, Callable[[int, int, Values], bytes]]
_NOTHING: frozenset[int] = frozenset()


class _Served:
    """A device as the server serves it: its callbacks, FC43 responder, allowed functions."""

    __slots__ = ("allowed", "device", "device_id", "on_read", "on_write")

    def __init__(self, device: Device) -> None:
        self.device = device
        self.on_read = device.on_read
        self.on_write = device.on_write
        # role -> function codes it may use here; None: no role-based authorization
        self.allowed = (
            None
            if device.rights is None
            else {role: FUNCTIONS_ALLOWED[rights] for role, rights in device.rights.items()}
        )
        self.device_id = DeviceIdentificationResponder(
            device.identification or DeviceIdentification()
        )


class Server(StartStop):
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

    `tls` (a context from `tls.server_context`) serves Modbus/TCP Security instead of plain
    Modbus TCP, on port 802 unless `port` says otherwise; each client's certificate role is
    `request.client.role`, which the devices' `rights` check.
    """

    def __init__(
        self,
        *,
        host: str | Sequence[str] | None = None,
        port: int | None = None,
        devices: Iterable[Device] = (),
        on_read: ReadCallback | None = None,
        on_write: WriteCallback | None = None,
        unit_id: int | None = None,
        device_identification: DeviceIdentification | None = None,
        unknown_unit: UnknownUnit = UnknownUnit.EXCEPTION,
        max_connections: int = 32,
        max_connections_per_host: int | None = 8,
        idle_timeout: float | None = None,
        allowed_clients: Iterable[str] | None = None,
        callback_timeout: float = 10.0,
        timeout_exception: type[ModbusExceptionResponse] = ServerDeviceBusy,
        tls: ssl.SSLContext | None = None,
        tls_handshake_timeout: float = 10.0,
        max_tls_handshakes: int = 16,
    ) -> None:
        """Configure the server; nothing is bound until `start()`."""
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        if max_connections_per_host is not None and max_connections_per_host < 1:
            raise ValueError("max_connections_per_host must be at least 1 (or None)")
        if max_tls_handshakes < 1:
            raise ValueError("max_tls_handshakes must be at least 1")
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
        self._port = port if port is not None else DEFAULT_TLS_PORT if tls else 502
        self.tls = tls
        self.tls_handshake_timeout = tls_handshake_timeout
        self.max_tls_handshakes = max_tls_handshakes
        self._handshaking: set[_Connection] = set()  # holding a handshake slot
        self._handshake_queue: deque[_Connection] = deque()  # waiting for one, not read
        self._by_unit: dict[int, _Served] = {}
        self._any_unit: _Served | None = None
        self.devices = devices
        self.unknown_unit = unknown_unit
        self.max_connections = max_connections
        self.max_connections_per_host = max_connections_per_host
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
        self._connections_per_host: Counter[str] = Counter()
        self._connections_total = 0
        self._rejections: Counter[str] = Counter()
        self._next_connection_id = 1
        self._log_limiter = LogLimiter()
        self._handlers: dict[int, _Handler] = {
            # (area, most values, encoder) per read function code
            FunctionCode.READ_COILS: partial(self._read, (Area.COIL, MAX_READ_BITS, _encode_bits)),
            FunctionCode.READ_DISCRETE_INPUTS: partial(
                self._read, (Area.DISCRETE_INPUT, MAX_READ_BITS, _encode_bits)
            ),
            FunctionCode.READ_HOLDING_REGISTERS: partial(
                self._read, (Area.HOLDING_REGISTER, MAX_READ_REGISTERS, _encode_registers)
            ),
            FunctionCode.READ_INPUT_REGISTERS: partial(
                self._read, (Area.INPUT_REGISTER, MAX_READ_REGISTERS, _encode_registers)
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
            connections_rejected=self._rejections.total(),
            rejections=dict(self._rejections),
        )

    # --- connection bookkeeping (called by _Connection) -----------------------------

    def _admit(self, connection: _Connection) -> bool:
        """Register a new connection, or count and log why it is refused."""
        reason = self._refusal(connection.info.host, connection.host_key)
        if reason is not None:
            self._rejections[reason] += 1
            self._log_per_host(
                logging.INFO,
                ("refused", connection.host_key, reason),
                "Refused Modbus client %s: %s",
                connection.info.host,
                _REFUSALS[reason].format(server=self),
            )
            return False
        self._connections.add(connection)
        self._connections_per_host[connection.host_key] += 1
        self._connections_total += 1
        return True

    def _refusal(self, host: str, host_key: str) -> str | None:
        """Why a connection from `host` is refused (a `_REFUSALS` key), or None."""
        if not self.allows(host):
            return "not_allowed"
        if len(self._connections) >= self.max_connections:
            return "max_connections"
        per_host = self.max_connections_per_host
        if per_host is not None and self._connections_per_host[host_key] >= per_host:
            return "max_connections_per_host"
        return None

    def _new_connection_id(self) -> int:
        connection_id = self._next_connection_id
        self._next_connection_id += 1
        return connection_id

    def _queue_handshake(self, connection: _Connection) -> None:
        """Give `connection` a handshake slot now, or once one frees (FIFO)."""
        if len(self._handshaking) < self.max_tls_handshakes:
            self._handshaking.add(connection)
            connection._start_handshake()
        else:
            self._handshake_queue.append(connection)

    def _end_handshake(self, connection: _Connection) -> None:
        """Free `connection`'s slot (or queue place) and hand the slot on."""
        if connection not in self._handshaking:
            if connection in self._handshake_queue:
                self._handshake_queue.remove(connection)
            return
        self._handshaking.discard(connection)
        while self._handshake_queue:
            waiting = self._handshake_queue.popleft()
            if waiting._raw is not None and not waiting._raw.is_closing():
                self._handshaking.add(waiting)
                waiting._start_handshake()
                return

    def _forget(self, connection: _Connection) -> None:
        if connection._tls is not None:
            self._end_handshake(connection)
        if connection in self._connections:
            self._connections.discard(connection)
            self._connections_per_host[connection.host_key] -= 1
            if not self._connections_per_host[connection.host_key]:
                del self._connections_per_host[connection.host_key]
            self._closed_counters.add(connection.info.counters)

    def _refuse_tls(self, connection: _Connection, reason: str, detail: object) -> None:
        """Count and log a connection closed before its TLS handshake gave it a role."""
        self._rejections[reason] += 1
        self._forget(connection)
        self._log_per_host(
            logging.INFO,
            (reason, connection.host_key),
            "Refused Modbus/TLS client %s:%s (%s): %s",
            connection.info.host,
            connection.info.port,
            reason,
            detail,
        )

    def _log_per_host(self, level: int, key: tuple[str, ...], message: str, *args: object) -> None:
        """Log what a client can repeat at will: the first, then one line per key a minute."""
        held = self._log_limiter.allow(key)
        if held is None:
            _LOGGER.debug(message, *args)
        elif held:
            _LOGGER.log(level, message + " (%d more since the last such line)", *args, held)
        else:
            _LOGGER.log(level, message, *args)

    def _log_failure(self, key: str, message: str, *args: object, exc_info: bool = False) -> None:
        """Log a callback failure at error level once per kind (a minute), else at debug level.

        Kinds are bounded by the log limiter, so a client that makes a callback fail with a new
        message every time still cannot log an error per request.
        """
        held = self._log_limiter.allow(("failure", key))
        if held is None:
            _LOGGER.debug(message, *args, exc_info=exc_info)
        elif held:
            _LOGGER.error(message + " (%d more since)", *args, held, exc_info=exc_info)
        else:
            _LOGGER.error(message, *args, exc_info=exc_info)

    # --- request handling -----------------------------------------------------------

    def handle(self, client: ClientInfo, unit_id: int, pdu: bytes) -> Response | None:
        """Answer one request PDU: response bytes, a coroutine yielding them, or None.

        None means no answer at all (a unit id no device answers, with `UnknownUnit.SILENT`).
        A coroutine comes back only when a callback really suspended; async callbacks that
        return at once are answered with bytes. Call it from the running event loop (async
        callbacks start in it). Never raises: every failure becomes an exception response.
        """
        function_code = pdu[0]
        served = self._by_unit.get(unit_id, self._any_unit)
        if served is None:
            if self.unknown_unit is UnknownUnit.SILENT:
                return None
            return _exception(function_code, GatewayTargetFailedToRespond())
        handler = self._handlers.get(function_code)
        allowed = served.allowed
        if handler is None or (
            allowed is not None and function_code not in allowed.get(client.role, _NOTHING)
        ):
            return _exception(function_code, IllegalFunction())
        try:
            return handler(served, Request(client, unit_id, function_code), pdu)
        except ModbusExceptionResponse as exc:
            return _exception(function_code, exc)
        except Exception as exc:  # a callback bug must not kill the connection
            return self._failure(function_code, exc)

    def _failure(self, function_code: int, exc: BaseException) -> bytes:
        self._log_failure(
            f"{type(exc).__name__}:{exc}",
            "Modbus callback failed for function %#04x, answering SERVER DEVICE FAILURE: %r",
            function_code,
            exc,
            exc_info=True,
        )
        return _exception(function_code, ServerDeviceFailure())

    def _await(
        self, function_code: int, pending: Awaitable[Any], finish: Callable[[Any], bytes]
    ) -> Response:
        """Run an awaitable callback result at once; answer inline if it needs no waiting.

        The coroutine runs eagerly in a task of its own (`eager_start`): a callback that
        returns without suspending costs no loop iteration and is answered like a plain one,
        and code inside it that needs a current task (`asyncio.timeout`) works. Only a callback
        that really suspends leaves a coroutine to await, under the callback timeout.
        """
        loop = asyncio.get_running_loop()
        if asyncio.iscoroutine(pending):
            task: asyncio.Future[Any] = asyncio.Task(pending, loop=loop, eager_start=True)
        else:
            task = asyncio.ensure_future(pending, loop=loop)
        if task.done():
            return self._finish(function_code, task, finish)
        return self._complete(function_code, task, finish)

    def _finish(
        self, function_code: int, done: asyncio.Future[Any], finish: Callable[[Any], bytes]
    ) -> bytes:
        """Encode a callback's completed result, or the exception it raised."""
        try:
            return finish(done.result())
        except ModbusExceptionResponse as exc:
            return _exception(function_code, exc)
        except (Exception, asyncio.CancelledError) as exc:
            return self._failure(function_code, exc)

    async def _complete(
        self, function_code: int, task: asyncio.Future[Any], finish: Callable[[Any], bytes]
    ) -> bytes:
        """Await a suspended callback under the callback timeout and encode its result."""
        try:
            async with asyncio.timeout(self.callback_timeout):
                await asyncio.wait((task,))
        except asyncio.CancelledError:  # the connection went away
            task.cancel()
            raise
        except TimeoutError:
            task.cancel()
            self._log_failure(
                "timeout",
                "Modbus callback did not answer within %s s; answering %s "
                "(repeats: one line a minute, with their count)",
                self.callback_timeout,
                self._timeout_exception.__name__,
            )
            return _exception(function_code, self._timeout_exception())
        return self._finish(function_code, task, finish)

    def _read(self, kind: _ReadKind, served: _Served, request: Request, pdu: bytes) -> Response:
        """FC 01..04: one handler, bound per function code to its (area, limit, encoder)."""
        area, max_count, encode = kind
        address, count = decode_read_request(pdu, max_count)
        values = served.on_read(request, area, address, count)
        if isinstance(values, (list, tuple)) or not hasattr(values, "__await__"):
            return encode(pdu[0], count, values)
        return self._await(pdu[0], values, partial(encode, pdu[0], count))

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
        return self._await(response[0], pending, lambda _: response)

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

        return self._await(pdu[0], read_modify_write(), _unchanged)

    def _read_write_registers(self, served: _Served, request: Request, pdu: bytes) -> Response:
        read_address, read_count, write_address, values = decode_read_write_request(pdu)
        on_write = self._writer(served)

        async def write_then_read() -> bytes:
            await _settle(on_write(request, Area.HOLDING_REGISTER, write_address, values))
            registers = await _read_values(
                served, request, Area.HOLDING_REGISTER, read_address, read_count
            )
            return _encode_registers(pdu[0], read_count, registers)

        return self._await(pdu[0], write_then_read(), _unchanged)

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
        address = _ip_address(host)
        return address is not None and any(address in net for net in self.allowed_networks)

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
            if served.allowed is not None and pdu[0] not in served.allowed.get(
                client.role, _NOTHING
            ):
                continue  # its rights do not let this client write
            try:
                result = handler(served, Request(client, 0, pdu[0]), pdu)
                if not isinstance(result, bytes):
                    await result
            except Exception as exc:  # no answer to carry it: log and go on
                _LOGGER.debug("Broadcast %#04x to %s failed: %r", pdu[0], served.device, exc)


def _unchanged(response: bytes) -> bytes:
    return response


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
    """One client connection: framing, ordering, flow control, fairness, counters.

    Received bytes wait in `_buffer` (from `_offset` on) until they are served; that buffer is
    the only queue, so order holds by construction. `_serve` cuts and answers frames from it
    while nothing holds the connection back:

    - an awaited response is pending (`_pending`): the frames behind it wait for it;
    - the transport's write buffer is above its high-water mark (`pause_writing`): the
      client does not read its responses, so none are produced for it;
    - `_FRAMES_PER_STEP` frames were served in one go: the rest is served on the next loop
      iteration (`call_soon`), after other connections, so one pipelining client cannot hold
      the loop.

    Reading is on only while the client takes its responses and less than
    `_MAX_UNSERVED_INPUT` bytes wait: a client that floods requests or stops reading ends up
    blocked by TCP. Per connection, at most `_MAX_UNSERVED_INPUT` plus one `recv()` of input
    and `_WRITE_HIGH_WATER` plus one step of responses are buffered, whatever the callbacks do.

    TLS: `_raw` is the TCP transport, `_tls` decrypts what it receives; `_transport` (then
    `_tls`) stays None until the handshake is done and the role read, so nothing is served
    before. A connection waiting for a handshake slot is not read at all.
    """

    def __init__(self, server: Server) -> None:
        self._server = server
        self._transport: asyncio.Transport | None = None
        self._raw: asyncio.Transport | None = None
        self._tls: TlsTransport | None = None
        self._handshake_timer: asyncio.TimerHandle | None = None
        self._buffer = b""
        self._offset = 0  # start of the unserved bytes in _buffer
        self._pending: asyncio.Task[None] | None = None
        self._next_step: asyncio.Handle | None = None
        self._write_paused = False
        self._reading = True
        self._idle_handle: asyncio.TimerHandle | None = None
        self._last_activity = 0.0
        self.host_key = ""
        self.info = ClientInfo("", 0, datetime.now(UTC), server._new_connection_id())

    # --- asyncio.Protocol -----------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        peer = transport.get_extra_info("peername") or ("", 0)
        self.info.host, self.info.port = str(peer[0]), int(peer[1])
        self.host_key = _host_key(self.info.host)
        if not self._server._admit(self):
            transport.abort()
            return
        context = self._server.tls
        if context is None:
            self._open(transport)
            return
        self.info.transport = "tls"
        self._raw = transport
        self._tls = TlsTransport(transport, context)
        transport.set_write_buffer_limits(high=_WRITE_HIGH_WATER)
        transport.pause_reading()  # until it has a handshake slot
        self._server._queue_handshake(self)

    def _open(self, transport: asyncio.Transport) -> None:
        """Start serving on `transport` (TCP, or TLS once its handshake is done)."""
        self._transport = transport
        transport.set_write_buffer_limits(high=_WRITE_HIGH_WATER)
        _LOGGER.debug(
            "Modbus client %s:%s connected (%s, role %s)",
            self.info.host,
            self.info.port,
            self.info.transport,
            self.info.role,
        )
        if self._server.idle_timeout:
            self._last_activity = time.monotonic()
            self._schedule_idle_check(self._server.idle_timeout)

    # --- TLS handshake ----------------------------------------------------------------

    def _start_handshake(self) -> None:
        """A handshake slot is ours: read the client, within `tls_handshake_timeout`."""
        if self._raw is None or self._raw.is_closing():
            return
        self._raw.resume_reading()
        self._handshake_timer = asyncio.get_running_loop().call_later(
            self._server.tls_handshake_timeout, self._handshake_timed_out
        )

    def _handshake_timed_out(self) -> None:
        self._handshake_timer = None
        if self._raw is not None and self._transport is None:
            self._raw.abort()
            self._server._refuse_tls(
                self,
                "tls_handshake_timeout",
                f"no handshake within {self._server.tls_handshake_timeout} s",
            )

    def _tls_received(self, tls: TlsTransport, data: bytes) -> bytes | None:
        """Decrypt; finish the handshake when it completes. None: nothing to serve (closed)."""
        try:
            plain = tls.feed(data)
        except ssl.SSLError as exc:  # its alert is on its way; close() sends it first
            tls.raw.close()
            if self._transport is None:
                self._server._refuse_tls(self, "tls_handshake_failed", exc.reason or exc)
            return None
        if tls.peer_closed:  # answer close_notify once what came before it is served
            asyncio.get_running_loop().call_soon(tls.close)
        if self._transport is None and (not tls.handshake_done or not self._tls_established(tls)):
            return None
        return plain

    def _tls_established(self, tls: TlsTransport) -> bool:
        """Read the verified certificate's role and start serving; False if refused."""
        server = self._server
        server._end_handshake(self)
        if self._handshake_timer is not None:
            self._handshake_timer.cancel()
            self._handshake_timer = None
        der = tls.ssl_object.getpeercert(binary_form=True)
        try:
            if der is None:  # not with CERT_REQUIRED; a context without it has no roles
                raise ValueError("no client certificate")
            self.info.role = role_of(der)
        except ValueError as exc:
            tls.abort()
            server._refuse_tls(self, "tls_role_invalid", exc)
            return False
        self.info.subject = _subject(tls.ssl_object.getpeercert() or {})
        self._open(tls)
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self._server._forget(self)
        self._transport = None
        for handle in (self._idle_handle, self._next_step, self._pending, self._handshake_timer):
            if handle is not None:
                handle.cancel()
        _LOGGER.debug("Modbus client %s:%s disconnected", self.info.host, self.info.port)

    def pause_writing(self) -> None:
        """The client does not read its responses: stop serving and reading its requests."""
        self._write_paused = True
        self._update_reading()

    def resume_writing(self) -> None:
        """The client reads again: serve what waits, as a step of its own loop iteration."""
        self._write_paused = False
        self._schedule_step()

    def data_received(self, data: bytes) -> None:
        tls = self._tls
        if tls is not None:
            plain = self._tls_received(tls, data)
            if not plain:
                return
            data = plain
        elif self._transport is None:
            return
        info = self.info
        info.counters.bytes_received += len(data)
        if WIRE_LOGGER.isEnabledFor(logging.DEBUG):
            WIRE_LOGGER.debug("%s:%s -> %s", info.host, info.port, data.hex(" "))
        if self._offset < len(self._buffer):
            data = self._buffer[self._offset :] + data
        self._buffer, self._offset = data, 0
        if self._next_step is None:
            self._serve()

    # --- serving --------------------------------------------------------------------

    def _serve(self) -> None:
        """Answer the buffered frames in order, one step's worth, then let the loop run."""
        self._next_step = None
        transport = self._transport
        if transport is None or self._pending is not None or self._write_paused:
            self._update_reading()
            return
        info = self.info
        counters = info.counters
        handle = self._server.handle
        data = self._buffer
        end = len(data)
        pos = self._offset
        out: list[bytes] = []
        frames = 0
        while end - pos >= _MBAP_SIZE:
            if frames == _FRAMES_PER_STEP:
                self._schedule_step()
                break
            transaction_id, protocol_id, length, unit_id = _MBAP.unpack_from(data, pos)
            if not _MIN_LENGTH <= length <= _MAX_LENGTH:
                self._flush(out)
                self._lose_framing(length)
                return
            frame_end = pos + 6 + length
            if frame_end > end:
                break
            pdu = data[pos + _MBAP_SIZE : frame_end]
            pos = frame_end
            frames += 1
            if protocol_id != 0:
                counters.frames_ignored += 1
                continue
            counters.requests += 1
            info.unit_id = unit_id
            response = handle(info, unit_id, pdu)
            if response is None:
                counters.unknown_unit += 1
            elif isinstance(response, bytes):
                out.append(self._frame(transaction_id, unit_id, response))
            else:  # a callback that really waits: the frames behind it wait for it
                self._pending = asyncio.get_running_loop().create_task(
                    self._answer_later(transaction_id, unit_id, response)
                )
                break
        if pos < end:
            self._offset = pos
        else:
            self._buffer, self._offset = b"", 0
        if frames and self._server.idle_timeout:
            self._last_activity = time.monotonic()  # complete frames only (not bytes)
        if out:
            self._flush(out)
        if not self._reading or len(self._buffer) - self._offset >= _MAX_UNSERVED_INPUT:
            self._update_reading()  # (checked here first: this is every request's path)

    def _schedule_step(self) -> None:
        """Serve the rest on the next loop iteration (other connections run first)."""
        if self._next_step is None:
            self._next_step = asyncio.get_running_loop().call_soon(self._serve)

    async def _answer_later(
        self, transaction_id: int, unit_id: int, pending: Coroutine[Any, Any, bytes]
    ) -> None:
        """Send an awaited response, then serve the frames that arrived behind it."""
        response = await pending
        self._pending = None
        self._flush([self._frame(transaction_id, unit_id, response)])
        self._serve()

    def _update_reading(self) -> None:
        """Read while the client takes its responses and little of its input waits."""
        transport = self._transport
        if transport is None:
            return
        reading = not self._write_paused and len(self._buffer) - self._offset < _MAX_UNSERVED_INPUT
        if reading != self._reading:
            self._reading = reading
            if reading:
                transport.resume_reading()
            else:
                transport.pause_reading()

    def _lose_framing(self, length: int) -> None:
        """An MBAP length outside 2..254: nothing after it can be trusted, so close."""
        self.info.counters.framing_errors += 1
        self._buffer, self._offset = b"", 0
        self._server._log_per_host(
            logging.WARNING,
            ("framing", self.host_key),
            "Modbus client %s:%s sent MBAP length %s (allowed 2..254); closing",
            self.info.host,
            self.info.port,
            length,
        )
        if self._transport is not None:
            self._transport.close()

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

    def _schedule_idle_check(self, delay: float) -> None:
        self._idle_handle = asyncio.get_running_loop().call_later(delay, self._check_idle)

    def _check_idle(self) -> None:
        timeout = self._server.idle_timeout
        if self._transport is None or not timeout:
            return
        idle = time.monotonic() - self._last_activity
        if idle >= timeout and self._pending is None:
            _LOGGER.info(
                "Closing Modbus client %s:%s after %.0f s without a complete request",
                self.info.host,
                self.info.port,
                idle,
            )
            # close() would wait for a client that does not read to take its responses
            if self._write_paused:
                self._transport.abort()
            else:
                self._transport.close()
            return
        self._schedule_idle_check(max(timeout - idle, 0.05))

    def abort(self) -> None:
        """Drop the connection at once (server shutdown), handshaking or not."""
        transport = self._transport or self._raw
        if transport is not None:
            transport.abort()


_SUBJECT_KEYS = {
    "commonName": "CN",
    "organizationName": "O",
    "organizationalUnitName": "OU",
    "countryName": "C",
    "localityName": "L",
    "stateOrProvinceName": "ST",
}


def _subject(certificate: dict[str, Any]) -> str:
    """A verified peer certificate's subject as `CN=plc-1,O=Plant` (most specific first)."""
    subject = certificate.get("subject", ())
    return ",".join(
        f"{_SUBJECT_KEYS.get(key, key)}={value}" for rdn in reversed(subject) for key, value in rdn
    )


def _host_key(host: str) -> str:
    """The client host as per-host limits count it (IPv4-mapped IPv6 as plain IPv4)."""
    address = _ip_address(host)
    return host if address is None else str(address)


def _ip_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(host.partition("%")[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


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
