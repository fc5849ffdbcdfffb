"""Counters for diagnostics: per connection, and per server as their sum."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass(slots=True)
class Counters:
    """Traffic counters; `exceptions` counts exception responses by code."""

    requests: int = 0
    exceptions: Counter[int] = field(default_factory=Counter)
    bytes_received: int = 0
    bytes_sent: int = 0
    frames_ignored: int = 0  # protocol id other than 0: not answered
    framing_errors: int = 0  # MBAP length outside 2..254: connection closed
    unknown_unit: int = 0  # requests for a unit id no device answers, left unanswered

    def add(self, other: Counters) -> None:
        """Accumulate another set of counters into this one."""
        self.requests += other.requests
        self.exceptions.update(other.exceptions)
        self.bytes_received += other.bytes_received
        self.bytes_sent += other.bytes_sent
        self.frames_ignored += other.frames_ignored
        self.framing_errors += other.framing_errors
        self.unknown_unit += other.unknown_unit

    def as_dict(self) -> dict[str, object]:
        """Plain data for diagnostics."""
        return {
            "requests": self.requests,
            "exceptions": {f"{code:#04x}": n for code, n in sorted(self.exceptions.items())},
            "exception_total": self.exceptions.total(),
            "bytes_received": self.bytes_received,
            "bytes_sent": self.bytes_sent,
            "frames_ignored": self.frames_ignored,
            "framing_errors": self.framing_errors,
            "unknown_unit": self.unknown_unit,
        }


@dataclass(slots=True)
class ClientInfo:
    """One connected client; `unit_id` is that of the request being served."""

    host: str
    port: int
    connected_since: datetime
    connection_id: int
    counters: Counters = field(default_factory=Counters)
    unit_id: int = 0  # of the latest request
    transport: str = "tcp"  # or "tls"
    last_request: float | None = None  # epoch seconds of the last response sent
    role: str | None = None  # TLS: the certificate's role; None = the NULL role (and plain TCP)
    subject: str | None = None  # TLS: the client certificate's subject, e.g. "CN=plc-1"

    def as_dict(self) -> dict[str, object]:
        """Plain data for diagnostics."""
        return {
            "host": self.host,
            "port": self.port,
            "connected_since": self.connected_since.isoformat(),
            "last_request": (
                datetime.fromtimestamp(self.last_request, UTC).isoformat()
                if self.last_request
                else None
            ),
            "transport": self.transport,
            "role": self.role,
            "subject": self.subject,
            **self.counters.as_dict(),
        }


@dataclass(slots=True, frozen=True)
class ServerStats:
    """A snapshot of a server's counters; `rejections` counts refused connections by reason."""

    counters: Counters
    connections: int
    connections_total: int
    connections_rejected: int
    # "not_allowed", "max_connections", "max_connections_per_host": refusals of each;
    # TLS: "tls_handshake_failed", "tls_handshake_timeout", "tls_role_invalid"
    rejections: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        """Plain data for diagnostics."""
        return {
            "connections": self.connections,
            "connections_total": self.connections_total,
            "connections_rejected": self.connections_rejected,
            "rejections": dict(sorted(self.rejections.items())),
            **self.counters.as_dict(),
        }


@dataclass(slots=True)
class LineCounters:
    """What an RTU line (serial, or RTU frames over TCP) saw, beyond requests and bytes.

    Frames are found on the line by length and CRC; these count what was *not* a request
    for this server, so a shared bus can be diagnosed without a sniffer.
    """

    frames: int = 0  # CRC-valid frames: requests for any unit and other slaves' responses
    crc_errors: int = 0  # stretches of bytes that formed no valid frame, discarded unanswered
    discarded_bytes: int = 0  # the bytes of those stretches
    other_units: int = 0  # requests for a unit id no device here answers: left to that slave
    foreign_responses: int = 0  # responses of other slaves to the master, passed by
    broadcasts: int = 0  # unit 0 writes, applied to every device, never answered
    silence_violations: int = 0  # frames that began less than 3.5 characters after the last
    answers_dropped: int = 0  # answers not sent: another frame came first (master moved on)

    def as_dict(self) -> dict[str, int]:
        """Plain data for diagnostics."""
        return {
            "frames": self.frames,
            "crc_errors": self.crc_errors,
            "discarded_bytes": self.discarded_bytes,
            "other_units": self.other_units,
            "foreign_responses": self.foreign_responses,
            "broadcasts": self.broadcasts,
            "silence_violations": self.silence_violations,
            "answers_dropped": self.answers_dropped,
        }
