"""Drive a real Home Assistant process: config dir, start/stop, onboarding, REST, flows.

Shared by ``scripts/develop``, the end-to-end tests (``tests/e2e``) and the in-HA benchmark
(``benchmarks/in_ha.py``). Runs under either virtualenv (it needs only the standard library
and aiohttp). Everything goes through Home Assistant's own HTTP and websocket API, as the
frontend does: onboarding creates the owner, config flows create the Modbus server entry and
subentry flows add its address-table rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "demo"
HASS_VENV = ROOT / ".venv-hass"
INTEGRATION = ROOT / "custom_components" / "modbus_server"
DOMAIN = "modbus_server"
CLIENT_ID_PATH = "/"
PR_SET_PDEATHSIG = 1

# http storage as Home Assistant 2026.11 writes it (homeassistant/components/http/config.py,
# HTTP_STORAGE_SCHEMA defaults). Written before the first start so that no `http:` YAML
# becomes a *pending* config that Home Assistant reverts (exit 100) after five minutes.
HTTP_STORAGE_VERSION = 3
HTTP_STORAGE_MINOR_VERSION = 1

# Integrations of the fast configuration used by tests and the benchmark: no default_config,
# only the API the tests talk to and the helpers the demo table maps.
FAST_CONFIG = """\
homeassistant:
  name: Modbus e2e
  unit_system: metric
  time_zone: UTC
  country: DE
  currency: EUR
  packages: !include_dir_named packages
api:
config:
onboarding:
logger:
  default: warning
  logs:
    custom_components.modbus_server: info
"""


# --- the demo address table -------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One row of the demo table, as the subentry flow asks for it."""

    area: str
    address: int
    data_type: str
    entity_id: str | None = None
    """None: a value owned by the integration (then `name` names its entity)."""
    name: str = ""
    writable: bool = False
    word_order: str = "big"
    byte_order: str = "big"
    scale: float = 1.0
    offset: float = 0.0
    bit: int | None = None
    length: int | None = None
    unavailable_value: float | None = None
    unit: str | None = None

    @property
    def order(self) -> str:
        """ABCD / CDAB / BADC / DCBA."""
        return {
            ("big", "big"): "ABCD",
            ("little", "big"): "CDAB",
            ("big", "little"): "BADC",
            ("little", "little"): "DCBA",
        }[(self.word_order, self.byte_order)]

    @property
    def count(self) -> int:
        """Registers (or bits) the row occupies."""
        sizes = {"float32": 2, "uint32": 2, "int32": 2, "float64": 4, "int64": 4, "uint64": 4}
        if self.data_type == "string":
            return self.length or 1
        return sizes.get(self.data_type, 1)


DEMO_PORT = 5020
DEMO_UDP_PORT = 5021
DEMO_RTU_PORT = 5022
"""The demo's Modbus UDP server and its RTU-over-TCP server (the gateway connects to it)."""
UDP_DEMO_NAME = "Modbus demo UDP"
RTU_DEMO_NAME = "Modbus demo RTU over TCP"
DEMO_TABLE: tuple[Row, ...] = (
    # coils (0xxxx): read/write bits
    Row("coil", 0, "bool", "input_boolean.pump", writable=True),
    Row("coil", 1, "bool", "switch.heater", writable=True),
    Row("coil", 2, "bool", None, name="Remote enable", writable=True, unavailable_value=0),
    # discrete inputs (1xxxx): read-only bits
    Row("discrete_input", 0, "bool", "binary_sensor.pump_running"),
    Row("discrete_input", 1, "bool", "input_boolean.alarm"),
    Row("discrete_input", 2, "bool", "binary_sensor.outdoor_frost"),
    # input registers (3xxxx): read-only values
    Row("input_register", 0, "float32", "sensor.boiler_temperature", unit="°C"),
    Row("input_register", 2, "float32", "sensor.boiler_temperature", word_order="little"),
    Row("input_register", 4, "int16", "sensor.outdoor_temperature", scale=0.1, unit="°C"),
    Row("input_register", 5, "float32", "sensor.outdoor_temperature", unavailable_value=-999.0),
    Row("input_register", 7, "uint32", "sensor.energy_meter", unit="Wh"),
    Row("input_register", 9, "uint32", "sensor.energy_meter", word_order="little"),
    Row("input_register", 11, "float64", "sensor.boiler_temperature", byte_order="little"),
    # holding registers (4xxxx): read/write values
    Row("holding_register", 0, "float32", "input_number.setpoint", writable=True, unit="°C"),
    Row("holding_register", 2, "uint16", "input_select.mode", writable=True),
    Row("holding_register", 3, "int16", "number.flow_limit", writable=True, unit="%"),
    Row("holding_register", 4, "string", "input_text.site_name", writable=True, length=8),
    Row(
        "holding_register",
        12,
        "int32",
        "input_number.pump_speed",
        writable=True,
        word_order="little",
        byte_order="little",
    ),
    Row(
        "holding_register",
        14,
        "int16",
        None,
        name="Setpoint offset",
        writable=True,
        scale=0.1,
        unavailable_value=0,
    ),
    Row("holding_register", 15, "bit", "input_boolean.pump", bit=0),
    Row("holding_register", 15, "bit", "input_boolean.alarm", bit=1),
)

METER_NAME = "Energy meter"
METER_TABLE: tuple[Row, ...] = (
    # The demo's second device (unit 2): a few input registers as an energy meter has them.
    Row("input_register", 0, "float32", "sensor.energy_meter", scale=1000.0, unit="kWh"),
    Row("input_register", 2, "float32", "sensor.outdoor_temperature", unit="°C"),
    Row("input_register", 4, "uint16", None, name="Meter status"),
)

MBPOLL_EXAMPLES = (
    (
        "input registers 30001-30002, float32 ABCD (boiler temperature)",
        "-t 3:float -B -r 1 -c 1",
        "",
    ),
    ("input registers 30008-30009, uint32 ABCD (energy meter)", "-t 3:int -B -r 8 -c 1", ""),
    ("holding registers 40001-40016, raw", "-t 4 -r 1 -c 16", ""),
    ("coils 00001-00003", "-t 0 -r 1 -c 3", ""),
    (
        "unit 2 (energy meter): input registers 30001-30002, float32 kWh",
        "-a 2 -t 3:float -B -r 1 -c 1",
        "",
    ),
    ("discrete inputs 10001-10002", "-t 1 -r 1 -c 2", ""),
    ("write setpoint 40001 := 22.5 (float32 ABCD)", "-t 4:float -B -r 1", "22.5"),
    ("switch the pump (coil 00001) off", "-t 0 -r 1", "0"),
)
"""(what, mbpoll options, values to write): reads have no values."""


def mbpoll_command(args: str, port: int, host: str = "127.0.0.1", values: str = "") -> str:
    """A ready-to-paste mbpoll command: one request, then exit (values follow the host)."""
    unit = "" if "-a " in args else "-a 1 "
    return f"mbpoll -m tcp -p {port} {unit}-1 {args} {host} {values}".rstrip()


RTU_PTY = "/tmp/modbus-demo-rtu"
UDP_BRIDGE_PORT = 15021


def mbpoll_rtu_over_tcp(args: str, port: int, host: str = "127.0.0.1") -> list[str]:
    """Commands for an RTU-over-TCP server: socat plays the gateway (a pty <-> our TCP port)."""
    return [
        f"socat pty,link={RTU_PTY},raw,echo=0 tcp:{host}:{port} &",
        f"mbpoll -m rtu -b 9600 -P none -a 1 -1 {args} {RTU_PTY}",
    ]


def mbpoll_udp(args: str, port: int, host: str = "127.0.0.1") -> list[str]:
    """Commands for a UDP server: socat turns each TCP request into a datagram (mbpoll: no UDP)."""
    return [
        f"socat tcp-listen:{UDP_BRIDGE_PORT},reuseaddr,fork udp:{host}:{port} &",
        mbpoll_command(args, UDP_BRIDGE_PORT),
    ]


# --- config directory and process -------------------------------------------------------------


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_http_storage(config_dir: Path, port: int, host: str | None = "127.0.0.1") -> None:
    """Write .storage/http with the HTTP port (and host) Home Assistant should use."""
    stable: dict[str, Any] = {
        "server_port": port,
        "cors_allowed_origins": ["https://cast.home-assistant.io"],
        "login_attempts_threshold": -1,
        "ip_ban_enabled": True,
        "ssl_profile": "intermediate_v6",
        "use_x_frame_options": True,
        "created_at": "2026-01-01T00:00:00+00:00",
        "error": None,
        "error_message": None,
    }
    if host is not None:
        stable["server_host"] = [host]
    storage = config_dir / ".storage"
    storage.mkdir(parents=True, exist_ok=True)
    (storage / "http").write_text(
        json.dumps(
            {
                "version": HTTP_STORAGE_VERSION,
                "minor_version": HTTP_STORAGE_MINOR_VERSION,
                "key": "http",
                "data": {"stable": stable, "pending": None, "yaml_migration_done": True},
            },
            indent=2,
        )
    )


def write_onboarding_storage(config_dir: Path) -> None:
    """Before the first start: every onboarding step but the user is done.

    The owner is then created through the onboarding API (which returns the first auth
    code); the core_config step is skipped because finishing it starts flows for
    integrations (met, google_translate, ...) that the fast configs do not install.
    """
    path = config_dir / ".storage" / "onboarding"
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {
                "version": 4,
                "minor_version": 1,
                "key": "onboarding",
                "data": {"done": ["core_config", "analytics", "integration"]},
            },
            indent=2,
        )
    )


def http_port_of(config_dir: Path) -> int | None:
    """The HTTP port stored in a config dir, if any."""
    try:
        data = json.loads((config_dir / ".storage" / "http").read_text())
    except OSError, ValueError:
        return None
    return int(data["data"]["stable"]["server_port"])


def link_integration(config_dir: Path) -> None:
    """config_dir/custom_components/modbus_server -> this repository's integration."""
    target = config_dir / "custom_components" / DOMAIN
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_symlink() or target.exists():
        if target.is_symlink() and target.resolve() == INTEGRATION.resolve():
            return
        if target.is_symlink() or target.is_file():
            target.unlink()
        else:
            shutil.rmtree(target)
    target.symlink_to(INTEGRATION)


MACHINE_PACKAGE = "machine.yaml"
FFMPEG_STAND_IN = DEMO / "bin" / "ffmpeg"


def write_machine_package(config_dir: Path) -> list[str]:
    """packages/machine.yaml: what this machine lacks for a start without errors.

    Home Assistant always loads tts and camera (base platforms). Without an ffmpeg binary the
    ffmpeg integration logs an error at startup: point it at demo/bin/ffmpeg, which only
    answers the version query (the demo plays no media). Without libturbojpeg the camera
    integration logs an error on import; the library only speeds up camera snapshots, and
    installing it needs root (Debian: apt-get install libturbojpeg0), so that one message
    is silenced and a hint returned instead. Returns notes for the user.
    """
    notes: list[str] = []
    lines = ["# Written on every start by scripts/hasslib.py (write_machine_package)."]
    if shutil.which("ffmpeg") is None:
        lines += ["ffmpeg:", f"  ffmpeg_bin: {FFMPEG_STAND_IN}"]
    if ctypes.util.find_library("turbojpeg") is None:
        notes.append(
            "libturbojpeg is not installed (faster camera snapshots only; Debian: "
            "apt-get install libturbojpeg0): its startup error is silenced"
        )
        lines += [
            "logger:",
            "  logs:",
            "    homeassistant.components.camera.img_util: critical",
        ]
    packages = config_dir / "packages"
    packages.mkdir(parents=True, exist_ok=True)
    (packages / MACHINE_PACKAGE).write_text("\n".join(lines) + "\n")
    return notes


def prepare_fast_config(config_dir: Path, http_port: int, extra_yaml: str = "") -> None:
    """A fast test configuration: the demo's entities, API, config flows, no default_config."""
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "configuration.yaml").write_text(FAST_CONFIG + extra_yaml)
    packages = config_dir / "packages"
    packages.mkdir(exist_ok=True)
    shutil.copy2(DEMO / "packages" / "modbus_demo.yaml", packages / "modbus_demo.yaml")
    write_machine_package(config_dir)
    link_integration(config_dir)
    if http_port_of(config_dir) != http_port:
        write_http_storage(config_dir, http_port)
    write_onboarding_storage(config_dir)


def _preexec() -> None:
    # Die with the process that started us, even when it is killed.
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


@dataclass
class HassProcess:
    """A `hass -c CONFIG` process of .venv-hass."""

    config_dir: Path
    http_port: int
    skip_pip: bool = True
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path = field(init=False)

    def __post_init__(self) -> None:
        """Log next to the config."""
        self.log_path = self.config_dir / "hass.out"

    @property
    def url(self) -> str:
        """Base URL of the HTTP API."""
        return f"http://127.0.0.1:{self.http_port}"

    def start(self, *, foreground: bool = False) -> None:
        """Start hass (output to hass.out unless `foreground`)."""
        cmd = [str(HASS_VENV / "bin" / "hass"), "-c", str(self.config_dir)]
        if self.skip_pip:
            cmd.append("--skip-pip")
        out: Any = None if foreground else self.log_path.open("ab")
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT if out is not None else None,
            preexec_fn=_preexec,  # noqa: PLW1509 - prctl only
            start_new_session=not foreground,
        )
        if out is not None:
            out.close()

    @property
    def pid(self) -> int:
        """Process id."""
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        """Whether the process is still running."""
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM (HA's clean shutdown), then SIGKILL after `timeout`; the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL now."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def log_tail(self, chars: int = 4000) -> str:
        """The end of hass.out and home-assistant.log, for failure messages."""
        parts = []
        for path in (self.log_path, self.config_dir / "home-assistant.log"):
            with contextlib.suppress(OSError):
                parts.append(f"--- {path.name} ---\n{path.read_text(errors='replace')[-chars:]}")
        return "\n".join(parts)

    def rss_bytes(self) -> int:
        """Resident memory of the hass process."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def cpu_seconds(self) -> float:
        """User + system CPU time of the hass process."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- HTTP / websocket client ------------------------------------------------------------------


class FlowError(RuntimeError):
    """A flow ended in an unexpected way or showed errors."""


@dataclass
class Credentials:
    """The owner created by onboarding."""

    name: str = "Demo"
    username: str = "demo"
    password: str = "demo-password"


class HassClient:
    """Talks to one Home Assistant over HTTP and websocket as an admin user."""

    def __init__(self, url: str, session: aiohttp.ClientSession) -> None:
        """`url` like http://127.0.0.1:8123."""
        self.url = url.rstrip("/")
        self.session = session
        self.client_id = self.url + CLIENT_ID_PATH
        self.token: str | None = None
        self.refresh_token: str | None = None

    # --- startup and authentication ---

    async def wait_http(self, proc: HassProcess | None = None, timeout: float = 90.0) -> None:
        """Wait until the HTTP API answers (404 once onboarding is done and unloaded)."""
        deadline = time.monotonic() + timeout
        while True:
            if proc is not None and not proc.alive():
                raise RuntimeError(f"hass exited ({proc.proc and proc.proc.returncode})")
            with contextlib.suppress(aiohttp.ClientError, OSError):
                async with self.session.get(f"{self.url}/api/onboarding") as resp:
                    if resp.status in (200, 404):
                        return
            if time.monotonic() > deadline:
                raise TimeoutError(f"Home Assistant at {self.url} did not answer")
            await asyncio.sleep(0.2)

    async def wait_running(self, timeout: float = 90.0) -> None:
        """Wait until /api/config says RUNNING (every integration set up)."""
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(aiohttp.ClientError):
                config = await self.get("/api/config")
                if config.get("state") == "RUNNING":
                    return
            if time.monotonic() > deadline:
                raise TimeoutError("Home Assistant did not reach RUNNING")
            await asyncio.sleep(0.2)

    async def onboard_or_login(self, creds: Credentials) -> None:
        """Create the owner on a fresh instance (onboarding), else log in; get a token."""
        async with self.session.get(f"{self.url}/api/onboarding") as resp:
            # 404: onboarding finished, its views are gone.
            steps = await resp.json() if resp.status == 200 else []
        user_done = resp.status == 404 or any(s["step"] == "user" and s["done"] for s in steps)
        if user_done:
            code = await self._login_flow(creds)
        else:
            async with self.session.post(
                f"{self.url}/api/onboarding/users",
                json={
                    "client_id": self.client_id,
                    "name": creds.name,
                    "username": creds.username,
                    "password": creds.password,
                    "language": "en",
                },
            ) as resp:
                if resp.status != 200:
                    raise RuntimeError(f"onboarding failed: {resp.status} {await resp.text()}")
                code = (await resp.json())["auth_code"]
        await self._exchange(code)

    async def _login_flow(self, creds: Credentials) -> str:
        async with self.session.post(
            f"{self.url}/auth/login_flow",
            json={
                "client_id": self.client_id,
                "handler": ["homeassistant", None],
                "redirect_uri": self.client_id,
            },
        ) as resp:
            flow = await resp.json()
        async with self.session.post(
            f"{self.url}/auth/login_flow/{flow['flow_id']}",
            json={
                "client_id": self.client_id,
                "username": creds.username,
                "password": creds.password,
            },
        ) as resp:
            result = await resp.json()
        if result.get("type") != "create_entry":
            raise RuntimeError(f"login failed: {result}")
        return str(result["result"])

    async def _exchange(self, code: str) -> None:
        async with self.session.post(
            f"{self.url}/auth/token",
            data={"grant_type": "authorization_code", "code": code, "client_id": self.client_id},
        ) as resp:
            tokens = await resp.json()
        if "access_token" not in tokens:
            raise RuntimeError(f"token exchange failed: {tokens}")
        self.token = tokens["access_token"]
        self.refresh_token = tokens.get("refresh_token")

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    # --- REST ---

    async def get(self, path: str) -> Any:
        """GET an API path; JSON."""
        async with self.session.get(f"{self.url}{path}", headers=self._headers()) as resp:
            if resp.status >= 400:
                raise aiohttp.ClientResponseError(
                    resp.request_info, (), status=resp.status, message=await resp.text()
                )
            return await resp.json()

    async def post(self, path: str, body: Any = None) -> Any:
        """POST JSON to an API path; JSON (or None)."""
        async with self.session.post(
            f"{self.url}{path}", json=body if body is not None else {}, headers=self._headers()
        ) as resp:
            text = await resp.text()
            if resp.status >= 400:
                raise aiohttp.ClientResponseError(
                    resp.request_info, (), status=resp.status, message=text
                )
            return json.loads(text) if text else None

    async def delete(self, path: str) -> Any:
        """DELETE an API path."""
        async with self.session.delete(f"{self.url}{path}", headers=self._headers()) as resp:
            return await resp.json() if resp.status < 400 else None

    async def state(self, entity_id: str) -> dict[str, Any]:
        """The state object of one entity (REST)."""
        return dict(await self.get(f"/api/states/{entity_id}"))

    async def states(self) -> dict[str, dict[str, Any]]:
        """Every state, by entity id."""
        return {s["entity_id"]: s for s in await self.get("/api/states")}

    async def call(self, domain: str, service: str, data: dict[str, Any] | None = None) -> Any:
        """Call an action (REST)."""
        return await self.post(f"/api/services/{domain}/{service}", data or {})

    async def wait_state(
        self, entity_id: str, predicate: Any, timeout: float = 10.0
    ) -> dict[str, Any]:
        """Poll an entity until `predicate(state_obj)` holds; the state object."""
        deadline = time.monotonic() + timeout
        while True:
            state = await self.state(entity_id)
            if predicate(state):
                return state
            if time.monotonic() > deadline:
                raise TimeoutError(f"{entity_id} stayed {state['state']!r}")
            await asyncio.sleep(0.05)

    # --- config entries and flows ---

    async def entries(self, domain: str = DOMAIN) -> list[dict[str, Any]]:
        """Config entries of a domain."""
        result = await self.get(f"/api/config/config_entries/entry?domain={domain}")
        return list(result)

    async def run_flow(
        self, base: str, start: dict[str, Any], answers: dict[str, Any]
    ) -> dict[str, Any]:
        """Start a flow at `base` and answer each step from `answers[step_id]`.

        Form answers are filtered to the fields the form shows (sections recurse), as the
        frontend sends only those; a menu answer is the next step id. Returns the final
        result (create_entry or abort); raises FlowError on form errors.
        """
        result = await self.post(base, start)
        for _ in range(20):
            kind = result.get("type")
            if kind in ("create_entry", "abort"):
                return dict(result)
            step = result["step_id"]
            if kind == "menu":
                body: dict[str, Any] = {"next_step_id": answers[step]}
            elif kind == "form":
                if result.get("errors"):
                    raise FlowError(
                        f"step {step}: {result['errors']} {result.get('description_placeholders')}"
                    )
                body = _filter_to_schema(answers.get(step, {}), result.get("data_schema", []))
            else:
                raise FlowError(f"unexpected flow result {result}")
            result = await self.post(f"{base}/{result['flow_id']}", body)
        raise FlowError("flow did not finish")

    async def create_server_entry(
        self,
        *,
        name: str = "Modbus demo",
        port: int = DEMO_PORT,
        bind_address: str = "127.0.0.1",
        transport: str = "tcp",
        **settings: Any,
    ) -> dict[str, Any]:
        """Run the server config flow (the transport, then its form); the created entry."""
        answers = {
            "user": {"transport": transport},
            transport: {
                "name": name,
                "bind_address": bind_address,
                "port": port,
                "max_connections": 32,
                "idle_timeout": 300,
                "unmapped": "error",
                "allowed_clients": [],
                "read_only": False,
                **settings,
            },
        }
        result = await self.run_flow(
            "/api/config/config_entries/flow", {"handler": DOMAIN}, answers
        )
        if result["type"] != "create_entry":
            raise FlowError(f"server entry not created: {result}")
        return dict(result["result"])

    async def add_device(self, entry_id: str, name: str, unit_ids: str) -> str:
        """Add a device (unit ids as typed, e.g. "2") through the device subentry flow."""
        form = {
            "name": name,
            "unit_ids": unit_ids,
            "answer_0": False,
            "answer_255": False,
            "unmapped": "error",
            "read_only": False,
            "identification": {},
        }
        result = await self.run_flow(
            "/api/config/config_entries/subentries/flow",
            {"handler": [entry_id, "device"]},
            {"user": form},
        )
        if result["type"] != "create_entry":
            raise FlowError(f"device {name} not added: {result}")
        return await self.device_id(entry_id, name)

    async def device_id(self, entry_id: str, name: str) -> str:
        """The subentry id of a server's device, by name."""
        async with self.websocket() as ws:
            subentries = await ws.command(type="config_entries/subentries/list", entry_id=entry_id)
        return next(
            str(s["subentry_id"])
            for s in subentries
            if s["subentry_type"] == "device" and s["title"] == name
        )

    async def delete_rows(self, entry_id: str, device_id: str, row_ids: list[str]) -> None:
        """Delete rows through the device's reconfigure menu ("delete rows")."""
        result = await self.run_flow(
            "/api/config/config_entries/subentries/flow",
            {"handler": [entry_id, "device"], "subentry_id": device_id},
            {"reconfigure": "delete_rows", "delete_rows": {"rows": row_ids}},
        )
        if result.get("reason") != "rows_deleted":
            raise FlowError(f"rows not deleted: {result}")

    async def add_row(
        self, entry_id: str, row: Row, device_id: str | None = None
    ) -> dict[str, Any]:
        """Add one row through the point subentry flow (`device_id`: when several devices)."""
        point: dict[str, Any] = {
            "address": row.address,
            "data_type": row.data_type,
            "scale": row.scale,
            "offset": row.offset,
            "writable": row.writable,
            "advanced": {
                "word_order": row.word_order,
                "byte_order": row.byte_order,
                **({"bit": row.bit} if row.bit is not None else {}),
                **({"length": row.length} if row.length is not None else {}),
                **(
                    {"unavailable_value": row.unavailable_value}
                    if row.unavailable_value is not None
                    else {}
                ),
            },
        }
        if row.unit:
            point["unit"] = row.unit
        answers: dict[str, Any] = {
            "user": "entity" if row.entity_id else "owned",
            "entity": {"entity_id": row.entity_id},
            "attribute": {"attribute": "state"},
            "area": {"area": row.area},
            "owned": {"name": row.name, "area": row.area},
            "point": point,
            "device": {"device": device_id},
        }
        result = await self.run_flow(
            "/api/config/config_entries/subentries/flow",
            {"handler": [entry_id, "point"]},
            answers,
        )
        if result.get("reason") != "row_added":
            raise FlowError(f"row {row} not added: {result}")
        return result

    async def import_rows(
        self, entry_id: str, text: str, device_id: str | None = None
    ) -> dict[str, Any]:
        """Add many rows at once through the import subentry flow (CSV or JSON text)."""
        return await self.run_flow(
            "/api/config/config_entries/subentries/flow",
            {"handler": [entry_id, "import"]},
            {"user": {"text": text}, "confirm": {}, "device": {"device": device_id}},
        )

    async def reload_entry(self, entry_id: str) -> None:
        """Reload a config entry (REST)."""
        await self.post(f"/api/config/config_entries/entry/{entry_id}/reload")

    async def entry_state(self, entry_id: str) -> str:
        """Loaded / setup_retry / ..."""
        for entry in await self.entries():
            if entry["entry_id"] == entry_id:
                return str(entry["state"])
        return "missing"

    # --- websocket ---

    @contextlib.asynccontextmanager
    async def websocket(self) -> Any:
        """An authenticated websocket; yields a `Websocket`."""
        async with self.session.ws_connect(f"{self.url}/api/websocket") as ws:
            await ws.receive_json()  # auth_required
            await ws.send_json({"type": "auth", "access_token": self.token})
            reply = await ws.receive_json()
            if reply.get("type") != "auth_ok":
                raise RuntimeError(f"websocket auth failed: {reply}")
            yield Websocket(ws)


class Websocket:
    """Commands and subscriptions over one websocket connection."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Wrap an authenticated connection."""
        self.ws = ws
        self._id = 0
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for msg in self.ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            data = json.loads(msg.data)
            for item in data if isinstance(data, list) else [data]:
                if item.get("type") == "event":
                    await self.events.put(item["event"])
                elif (fut := self._pending.pop(item.get("id", -1), None)) is not None:
                    fut.set_result(item)

    async def command(self, **message: Any) -> Any:
        """Send a command; its result (raises on failure)."""
        self._id += 1
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[self._id] = fut
        await self.ws.send_json({"id": self._id, **message})
        reply = await asyncio.wait_for(fut, 30)
        if not reply.get("success"):
            raise RuntimeError(f"websocket {message.get('type')} failed: {reply}")
        return reply.get("result")

    async def subscribe_events(self, event_type: str) -> None:
        """Events of this type arrive on `self.events`."""
        await self.command(type="subscribe_events", event_type=event_type)

    async def next_event(self, timeout: float = 10.0) -> dict[str, Any]:
        """The next subscribed event."""
        return await asyncio.wait_for(self.events.get(), timeout)

    async def close(self) -> None:
        """Stop reading."""
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


def _filter_to_schema(answers: dict[str, Any], schema: list[dict[str, Any]]) -> dict[str, Any]:
    """Keep only the answers whose field the form shows (recursing into sections)."""
    out: dict[str, Any] = {}
    for field_ in schema:
        name = field_["name"]
        if name not in answers or answers[name] is None:
            continue
        if field_.get("type") == "expandable":
            out[name] = _filter_to_schema(answers[name], field_.get("schema", []))
        else:
            out[name] = answers[name]
    return out


async def setup_demo_entry(
    client: HassClient,
    *,
    port: int = DEMO_PORT,
    bind_address: str = "127.0.0.1",
    name: str = "Modbus demo",
    table: tuple[Row, ...] = DEMO_TABLE,
    meter_table: tuple[Row, ...] = (),
    transport: str = "tcp",
    **settings: Any,
) -> str:
    """Create the server entry (its first device on unit 1) and every demo row; the entry id.

    With `meter_table`, a second device (unit 2) gets those rows: a small energy meter.
    """
    entry = await client.create_server_entry(
        name=name, port=port, bind_address=bind_address, transport=transport, **settings
    )
    entry_id = str(entry["entry_id"])
    for row in table:
        await client.add_row(entry_id, row)
    if meter_table:
        meter = await client.add_device(entry_id, METER_NAME, "2")
        for row in meter_table:
            await client.add_row(entry_id, row, meter)
    return entry_id


async def setup_transport_demos(
    client: HassClient,
    bind_address: str = "0.0.0.0",
    *,
    udp_port: int = DEMO_UDP_PORT,
    rtu_port: int = DEMO_RTU_PORT,
) -> list[str]:
    """The demo's UDP and RTU-over-TCP servers (unit 1: the meter rows), if not there yet.

    Returns the ids of the entries created.
    """
    titles = {entry["title"] for entry in await client.entries()}
    created = []
    for name, transport, port in (
        (UDP_DEMO_NAME, "udp", udp_port),
        (RTU_DEMO_NAME, "rtu_over_tcp", rtu_port),
    ):
        if name in titles:
            continue
        created.append(
            await setup_demo_entry(
                client,
                name=name,
                transport=transport,
                port=port,
                bind_address=bind_address,
                table=METER_TABLE,
                unit_id=1,
            )
        )
    return created
