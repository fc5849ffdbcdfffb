"""Modbus RTU slave on a serial line: termios raw mode and the event loop's fd callbacks.

No pyserial: Home Assistant runs on Linux (and other POSIX systems), where `termios` sets
baud rate, parity and stop bits, and `loop.add_reader` delivers the bytes. The same code
serves a USB-RS485 adapter, a built-in UART or a pty. RS485 direction control (driver
enable) is the adapter's job: the usual USB adapters switch automatically; a bare UART
with a DE pin needs the kernel's RS485 mode set up beforehand (`TIOCSRS485`).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import logging
import os
import termios
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from ..lifecycle import StartStop
from ..server import Server
from ..stats import ClientInfo, LineCounters
from .rtu_link import RtuLink
from .timer import precise_call_at

_LOGGER = logging.getLogger(__name__)

BAUD_RATES: dict[int, int] = {
    1200: termios.B1200,
    2400: termios.B2400,
    4800: termios.B4800,
    9600: termios.B9600,
    19200: termios.B19200,
    38400: termios.B38400,
    57600: termios.B57600,
    115200: termios.B115200,
}
type Parity = Literal["N", "E", "O"]
BITS_PER_CHARACTER = 11  # start, 8 data, parity or second stop, stop: the spec counts 11
_FIXED_T35 = 0.00175  # above 19200 baud the spec fixes t3.5 at 1.75 ms
_REOPEN_DELAYS = (1.0, 2.0, 5.0, 10.0, 30.0)


def character_time(baudrate: int) -> float:
    """Seconds one character takes on the line."""
    return BITS_PER_CHARACTER / baudrate


def silence_time(baudrate: int) -> float:
    """t3.5: the silence that separates frames (1.75 ms above 19200 baud, as the spec says)."""
    if baudrate > 19200:
        return _FIXED_T35
    return 3.5 * character_time(baudrate)


@dataclass(frozen=True, slots=True)
class SerialSettings:
    """A serial port and its line settings (always 8 data bits, as RTU requires).

    `turnaround` is the least time between the end of a request and the start of its
    answer: None is t3.5; a longer one helps masters or converters that switch slowly.
    """

    port: str
    baudrate: int = 9600
    parity: Parity = "E"
    stopbits: Literal[1, 2] = 1
    turnaround: float | None = None

    def __post_init__(self) -> None:
        """Reject settings the line cannot have, before anything is opened."""
        if self.baudrate not in BAUD_RATES:
            raise ValueError(
                f"baud rate {self.baudrate} not one of {', '.join(map(str, BAUD_RATES))}"
            )
        if self.parity not in ("N", "E", "O"):
            raise ValueError(f"parity {self.parity!r} is not N, E or O")
        if self.stopbits not in (1, 2):
            raise ValueError(f"stop bits {self.stopbits} is not 1 or 2")
        if self.turnaround is not None and self.turnaround < self.silence:
            raise ValueError(
                f"turnaround {self.turnaround * 1000:.2f} ms is shorter than the "
                f"3.5-character silence ({self.silence * 1000:.2f} ms)"
            )

    @property
    def silence(self) -> float:
        """t3.5 at this baud rate, in seconds."""
        return silence_time(self.baudrate)

    @property
    def answer_delay(self) -> float:
        """The least time from request end to answer start."""
        return self.silence if self.turnaround is None else self.turnaround

    @property
    def label(self) -> str:
        """E.g. ``/dev/ttyUSB0 9600 8E1``."""
        return f"{self.port} {self.baudrate} 8{self.parity}{self.stopbits}"


def open_serial(settings: SerialSettings) -> int:
    """Open the port non-blocking and exclusively in raw mode; return its fd.

    Raises OSError: ENOENT for a port that does not exist, EBUSY when another process
    holds it, ENOTTY for a path that is no serial port, the driver's errno (EINVAL) when it
    refuses the line settings.
    """
    fd = os.open(settings.port, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OSError(errno.EBUSY, "serial port is in use", settings.port) from None
        try:
            attrs = termios.tcgetattr(fd)
        except termios.error as exc:  # not an OSError: say what the docstring promises
            raise OSError(errno.ENOTTY, "not a serial port", settings.port) from exc
        cflag = termios.CS8 | termios.CREAD | termios.CLOCAL
        if settings.parity != "N":
            cflag |= termios.PARENB
        if settings.parity == "O":
            cflag |= termios.PARODD
        if settings.stopbits == 2:
            cflag |= termios.CSTOPB
        speed = BAUD_RATES[settings.baudrate]
        # A byte with a parity error reads as 0, so its frame fails the CRC.
        attrs[0] = termios.INPCK if settings.parity != "N" else 0  # iflag
        attrs[1] = 0  # oflag: no output processing
        attrs[2] = cflag  # no hardware flow control either
        attrs[3] = 0  # lflag: no echo, no canonical mode, no signals
        attrs[4] = attrs[5] = speed
        attrs[6][termios.VMIN] = 0
        attrs[6][termios.VTIME] = 0
        try:
            termios.tcsetattr(fd, termios.TCSANOW, attrs)
            termios.tcflush(fd, termios.TCIOFLUSH)
        except termios.error as exc:  # a driver refusing the line settings
            code, message = exc.args
            raise OSError(code, f"the port refused {settings.label}: {message}") from exc
    except BaseException:
        os.close(fd)
        raise
    return fd


class SerialLine(StartStop):
    """A Modbus RTU slave on one serial port, answering for the server's devices.

    `start()` opens the port (OSError when it cannot); if the port goes away later (a USB
    adapter unplugged) the line reopens it with a growing delay and says so in `state`.
    """

    def __init__(self, server: Server, settings: SerialSettings) -> None:
        """Configure; nothing is opened until `start()`."""
        self.server = server
        self.settings = settings
        self.line = LineCounters()
        self.client = ClientInfo(settings.port, 0, datetime.now(UTC), 0, transport="rtu")
        self.state = "closed"
        self.last_error: str | None = None
        self._fd: int | None = None
        self._link: RtuLink | None = None
        self._last_rx = float("-inf")  # loop time of the latest bytes
        self._out = b""
        self._reopen: asyncio.Task[None] | None = None
        self._close_timer: Callable[[], None] = lambda: None
        self._stopping = False

    async def start(self) -> None:
        """Open the port and start serving."""
        self._stopping = False
        self._open()

    async def stop(self) -> None:
        """Stop serving and close the port."""
        self._stopping = True
        if self._reopen is not None:
            self._reopen.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reopen
            self._reopen = None
        self._close()
        self.state = "closed"

    @property
    def is_serving(self) -> bool:
        """True while the port is open."""
        return self._fd is not None

    def diagnostics(self) -> dict[str, object]:
        """State, settings and counters, as plain data."""
        return {
            "transport": "rtu",
            "port": self.settings.label,
            "state": self.state,
            "last_error": self.last_error,
            **self.client.counters.as_dict(),
            **self.line.as_dict(),
        }

    # --- port handling ------------------------------------------------------------------

    def _open(self) -> None:
        loop = asyncio.get_running_loop()
        fd = open_serial(self.settings)
        self._fd = fd
        call_at, self._close_timer = precise_call_at(loop)
        self._link = RtuLink(
            self.server,
            self.client,
            self._send,
            turnaround=self.settings.answer_delay,
            timed=True,
            counters=self.line,
            call_at=call_at,
        )
        self._last_rx = float("-inf")
        loop.add_reader(fd, self._readable)
        self.state = "open"
        _LOGGER.debug("Modbus RTU slave on %s", self.settings.label)

    def _close(self) -> None:
        fd, self._fd = self._fd, None
        if self._link is not None:
            self._link.close()
            self._link = None
            self._close_timer()
        self._out = b""
        if fd is None:
            return
        loop = asyncio.get_running_loop()
        loop.remove_reader(fd)
        loop.remove_writer(fd)
        os.close(fd)

    def _lost(self, exc: OSError | None) -> None:
        """The port failed (unplugged, pty closed): close it and keep trying to reopen."""
        self.last_error = str(exc) if exc else "end of file on the serial port"
        _LOGGER.warning("Serial port %s lost: %s", self.settings.port, self.last_error)
        self._close()
        self.state = "reopening"
        if not self._stopping and self._reopen is None:
            self._reopen = asyncio.get_running_loop().create_task(self._reopen_later())

    async def _reopen_later(self) -> None:
        attempt = 0
        while not self._stopping:
            await asyncio.sleep(_REOPEN_DELAYS[min(attempt, len(_REOPEN_DELAYS) - 1)])
            attempt += 1
            try:
                self._open()
            except OSError as exc:
                self.last_error = str(exc)
                continue
            self._reopen = None
            return

    def _readable(self) -> None:
        fd = self._fd
        link = self._link
        if fd is None or link is None:
            return
        try:
            data = os.read(fd, 4096)
        except BlockingIOError:
            return
        except OSError as exc:
            self._lost(exc)
            return
        if not data:  # readable yet nothing to read: the other end hung up
            self._lost(None)
            return
        now = asyncio.get_running_loop().time()
        after_silence = now - self._last_rx >= self.settings.silence
        self._last_rx = now
        link.data_received(data, now, after_silence=after_silence)

    def _send(self, frame: bytes) -> None:
        fd = self._fd
        if fd is None:
            return
        if self._out:
            self._out += frame
            return
        try:
            written = os.write(fd, frame)
        except BlockingIOError:
            written = 0
        except OSError as exc:
            self._lost(exc)
            return
        if written < len(frame):
            self._out = frame[written:]
            asyncio.get_running_loop().add_writer(fd, self._writable)

    def _writable(self) -> None:
        fd = self._fd
        if fd is None:
            return
        try:
            written = os.write(fd, self._out)
        except BlockingIOError:
            return
        except OSError as exc:
            self._lost(exc)
            return
        self._out = self._out[written:]
        if not self._out:
            asyncio.get_running_loop().remove_writer(fd)
