"""scripts/serve: a standalone Modbus slave simulator on any transport, no Home Assistant.

For testing a PLC program, an inverter's meter setup or a gateway before Home Assistant is
involved, and for this project's interop tests and benchmarks. It runs the integration's own
protocol core (only the ``modbus/`` package is imported, under empty parent packages, so the
Home Assistant glue is never loaded) with a simple map: in each of the four areas addresses
0..9999 exist, holding and input register *i* hold *i*, coils and discrete inputs start at 0,
writes stick, and an address beyond 9999 answers exception 02.

    scripts/serve --transport tcp|tls|udp|rtu-over-tcp|rtu [--host H] [--port P]
                  [--serial PATH --baud B --parity N|E|O --stopbits 1|2]
                  [--gateway HOST:PORT] [--unit N]
                  [--cert F --key F --ca F [--roles FILE] [--null-role R]]

``--transport tls`` is Modbus/TCP Security (port 802 unless ``--port``): ``--cert`` is the
server certificate followed by its intermediates, ``--key`` its key, ``--ca`` the CA whose
client certificates are trusted. ``--roles FILE`` turns on role-based authorization: FILE is
JSON like ``{"Operator": "read-write", "Viewer": "read"}`` (rights none/read/read-write); a
role not in it has none, a certificate without a role gets ``--null-role`` (default read).
Without ``--roles`` every client with a trusted certificate may read and write.

Prints one line starting with ``ready:`` once serving, and stops cleanly on SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
import types
from pathlib import Path
from typing import Protocol

_ROOT = Path(__file__).resolve().parents[1]
for _name in ("custom_components", "custom_components.modbus_server"):
    _pkg = types.ModuleType(_name)
    _pkg.__path__ = [str(_ROOT.joinpath(*_name.split(".")))]
    sys.modules.setdefault(_name, _pkg)

from custom_components.modbus_server.modbus import (  # noqa: E402
    Area,
    Device,
    IllegalDataAddress,
    Request,
    Rights,
    Server,
    UnknownUnit,
)
from custom_components.modbus_server.modbus.tls import (  # noqa: E402
    DEFAULT_TLS_PORT,
    server_context,
)
from custom_components.modbus_server.modbus.transport import (  # noqa: E402
    RtuOverTcpDialer,
    RtuOverTcpListener,
    SerialLine,
    SerialSettings,
    UdpListener,
)

SIZE = 10000  # addresses 0..9999 in every area
TRANSPORTS = ("tcp", "tls", "udp", "rtu-over-tcp", "rtu")
DEFAULT_PORT = 5020


class SimulatedMap:
    """Four areas of 10000 entries; register i holds i, bits start at 0; writes stick."""

    def __init__(self, size: int = SIZE) -> None:
        registers = [i & 0xFFFF for i in range(size)]
        self.size = size
        self.data: dict[Area, list[int] | list[bool]] = {
            Area.COIL: [False] * size,
            Area.DISCRETE_INPUT: [False] * size,
            Area.HOLDING_REGISTER: list(registers),
            Area.INPUT_REGISTER: list(registers),
        }

    def on_read(
        self, request: Request, area: Area, address: int, count: int
    ) -> list[int] | list[bool]:
        """A slice of the area; beyond 9999 is exception 02."""
        if address + count > self.size:
            raise IllegalDataAddress(f"addresses end at {self.size - 1}")
        return self.data[area][address : address + count]

    def on_write(
        self, request: Request, area: Area, address: int, values: list[int] | list[bool]
    ) -> None:
        """Store the values (exception 02 beyond 9999, with nothing stored)."""
        if address + len(values) > self.size:
            raise IllegalDataAddress(f"addresses end at {self.size - 1}")
        self.data[area][address : address + len(values)] = values  # type: ignore[assignment]


class _Serving(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...


def build(args: argparse.Namespace, server: Server) -> tuple[_Serving, str]:
    """The transport to run and the ready line's description of it."""
    host = args.host
    if args.transport in ("tcp", "tls"):
        return server, args.transport
    if args.transport == "udp":
        return UdpListener(server, host, args.port), "udp"
    if args.transport == "rtu-over-tcp" and args.gateway:
        gateway_host, _, gateway_port = args.gateway.rpartition(":")
        if not gateway_host or not gateway_port.isdigit():
            raise SystemExit(f"--gateway must be HOST:PORT, not {args.gateway!r}")
        dialer = RtuOverTcpDialer(server, gateway_host, int(gateway_port), backoff=(0.5, 1, 2, 5))
        return dialer, f"rtu-over-tcp dialling {args.gateway}"
    if args.transport == "rtu-over-tcp":
        return RtuOverTcpListener(server, host, args.port), "rtu-over-tcp"
    if not args.serial:
        raise SystemExit("--transport rtu needs --serial PATH")
    settings = SerialSettings(
        args.serial, baudrate=args.baud, parity=args.parity, stopbits=args.stopbits
    )
    return SerialLine(server, settings), f"rtu on {settings.label}"


def describe(serving: _Serving, what: str, args: argparse.Namespace) -> str:
    """The ready line: transport, where, unit."""
    port = getattr(serving, "port", None)
    where = f" on {args.host}:{port}" if isinstance(port, int) and "dialling" not in what else ""
    roles = ""
    if args.transport == "tls":
        roles = f", roles {args.rights_text}" if args.rights else ", no role authorization"
    return f"ready: {what}{where}, unit {args.unit}, addresses 0..{SIZE - 1} in every area{roles}"


async def main(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM; exit status 1 when the transport cannot start."""
    data = SimulatedMap()
    device = Device(
        on_read=data.on_read,
        on_write=data.on_write,
        unit_ids=frozenset({args.unit}),
        name="simulator",
        rights=args.rights,
    )
    try:
        tls = server_context(args.cert, args.key, args.ca) if args.transport == "tls" else None
    except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
        print(f"serve: cannot load the TLS files: {exc}", file=sys.stderr)
        return 2
    server = Server(
        host=args.host,
        port=args.port,
        devices=[device],
        unknown_unit=UnknownUnit.SILENT,
        tls=tls,
    )
    try:
        serving, what = build(args, server)
    except ValueError as exc:
        print(f"serve: {exc}", file=sys.stderr)
        return 2
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await serving.start()
    except OSError as exc:
        print(f"serve: cannot start {what}: {exc}", file=sys.stderr)
        return 1
    print(describe(serving, what, args), flush=True)
    try:
        await stop.wait()
    finally:
        await serving.stop()
    return 0


def read_roles(
    parser: argparse.ArgumentParser, path: str, null_role: Rights
) -> dict[str | None, Rights]:
    """The role -> rights table of a JSON file, with the NULL role's rights added."""
    try:
        table = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        parser.error(f"--roles {path}: {exc}")
    allowed = ", ".join(r.value for r in Rights)
    if not isinstance(table, dict) or not all(
        isinstance(role, str) and role and value in {r.value for r in Rights}
        for role, value in table.items()
    ):
        parser.error(f'--roles {path}: expected {{"role": "{allowed.replace(", ", "|")}"}}')
    rights: dict[str | None, Rights] = {role: Rights(value) for role, value in table.items()}
    rights[None] = null_role
    return rights


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line options (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="scripts/serve", description=__doc__.split("\n")[0])
    parser.add_argument("--transport", choices=TRANSPORTS, default="tcp")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument(
        "--port", type=int, help=f"port (0: any free; default {DEFAULT_PORT}, tls 802)"
    )
    parser.add_argument("--serial", help="serial port path (rtu), e.g. /dev/ttyUSB0")
    parser.add_argument("--baud", type=int, default=9600)
    parser.add_argument("--parity", choices=("N", "E", "O"), default="E")
    parser.add_argument("--stopbits", type=int, choices=(1, 2), default=1)
    parser.add_argument("--gateway", help="HOST:PORT of a gateway to dial (rtu-over-tcp)")
    parser.add_argument("--unit", type=int, default=1, help="unit id answered (default 1)")
    parser.add_argument("--cert", help="tls: server certificate + intermediates (PEM)")
    parser.add_argument("--key", help="tls: the server certificate's private key (PEM)")
    parser.add_argument("--ca", help="tls: CA certificate(s) trusted for clients (PEM)")
    parser.add_argument("--roles", help='tls: JSON file {"role": "none|read|read-write"}')
    parser.add_argument(
        "--null-role",
        choices=[r.value for r in Rights],
        default=Rights.READ.value,
        help="tls with --roles: rights of a certificate without a role (default read)",
    )
    parser.add_argument("--debug", action="store_true", help="log every frame (hex)")
    args = parser.parse_args(argv)
    if args.port is None:
        args.port = DEFAULT_TLS_PORT if args.transport == "tls" else DEFAULT_PORT
    args.rights = None
    if args.transport == "tls":
        missing = [f"--{name}" for name in ("cert", "key", "ca") if not getattr(args, name)]
        if missing:
            parser.error(f"--transport tls needs {' '.join(missing)}")
        if args.roles:
            args.rights = read_roles(parser, args.roles, Rights(args.null_role))
            args.rights_text = ", ".join(
                f"{role or 'NULL'}={rights.value}" for role, rights in args.rights.items()
            )
    elif args.roles or args.cert or args.key or args.ca:
        parser.error("--cert/--key/--ca/--roles need --transport tls")
    rtu = args.transport in ("rtu", "rtu-over-tcp")
    if not (1 <= args.unit <= 247 if rtu else 0 <= args.unit <= 255):
        parser.error("--unit must be 1..247 on RTU (0 is broadcast), 0..255 otherwise")
    return args


if __name__ == "__main__":
    arguments = parse()
    logging.basicConfig(
        level=logging.DEBUG if arguments.debug else logging.WARNING,
        format="%(asctime)s %(name)s %(message)s",
    )
    # Gateway connects and lost serial ports are worth seeing without --debug.
    logging.getLogger("custom_components.modbus_server.modbus.transport").setLevel(
        logging.DEBUG if arguments.debug else logging.INFO
    )
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(asyncio.run(main(arguments)))
