"""RTU framing (serial line, RTU over TCP): bytes <-> (unit, pdu), CRC-16/Modbus.

An RTU frame is unit id, PDU and the CRC (low byte first). The line has no length field
and carries the master's requests *and* every slave's responses, so `RtuDecoder` finds
frames the way a careful slave must: by the length a request (or a response) of that
function code has, confirmed by the CRC, with the 3.5-character silences the transport
reports as the places where a new frame may start. Transport-free: the serial line and
the RTU-over-TCP stream both feed it bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum

from ..exceptions import ModbusProtocolError
from ..stats import LineCounters

MIN_FRAME = 4  # unit id, function code, CRC
MAX_FRAME = 256  # unit id, 253-byte PDU, CRC
_BUFFER_LIMIT = 4 * MAX_FRAME  # what may wait for a frame to complete before it is dropped


def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC_TABLE = _crc_table()


def crc16(data: bytes | bytearray | memoryview) -> int:
    """CRC-16/Modbus (poly 0xA001 reflected, init 0xFFFF); 0 over a frame with its CRC."""
    crc = 0xFFFF
    table = _CRC_TABLE
    for byte in data:
        crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
    return crc


def encode_frame(unit_id: int, pdu: bytes) -> bytes:
    """An RTU frame: unit id, PDU, CRC low byte first."""
    body = bytes((unit_id,)) + pdu
    return body + crc16(body).to_bytes(2, "little")


def decode_frame(frame: bytes) -> tuple[int, bytes]:
    """Return (unit_id, pdu) of one whole frame; ModbusProtocolError if short or CRC bad."""
    if len(frame) < MIN_FRAME:
        raise ModbusProtocolError(f"RTU frame of {len(frame)} bytes is too short")
    if crc16(frame):
        raise ModbusProtocolError("RTU frame CRC does not match")
    return frame[0], frame[1:-2]


# --- frame lengths per function code ------------------------------------------------
# A length function gets (buffer, start) and returns the frame's total length, None while
# too few bytes are there to tell, or 0 when no frame of that kind has this function code.

type _Length = Callable[[bytes, int], int | None]


def _fixed(length: int) -> _Length:
    return lambda data, pos: length


def _counted(index: int, overhead: int) -> _Length:
    """A byte count at `index` (from the unit id) says how many data bytes follow."""

    def length(data: bytes, pos: int) -> int | None:
        if len(data) - pos <= index:
            return None
        return overhead + data[pos + index]

    return length


def _fifo_response(data: bytes, pos: int) -> int | None:
    if len(data) - pos < 4:
        return None
    return 6 + int.from_bytes(data[pos + 2 : pos + 4])


def _device_id_request(data: bytes, pos: int) -> int | None:
    if len(data) - pos < 3:
        return None
    return 7 if data[pos + 2] == 0x0E else 0


def _device_id_response(data: bytes, pos: int) -> int | None:
    """Unit, 43, MEI 14, read code, conformity, more, next id, count, then objects."""
    end = len(data)
    if end - pos < 3:
        return None
    if data[pos + 2] != 0x0E:
        return 0
    if end - pos < 8:
        return None
    at = pos + 8
    for _ in range(data[pos + 7]):
        if at + 2 > end:
            return None
        at += 2 + data[at + 1]
    return at - pos + 2


_REQUEST_LENGTH: dict[int, _Length] = {
    **dict.fromkeys((0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x08), _fixed(8)),
    **dict.fromkeys((0x07, 0x0B, 0x0C, 0x11), _fixed(4)),
    0x0F: _counted(6, 9),
    0x10: _counted(6, 9),
    0x14: _counted(2, 5),
    0x15: _counted(2, 5),
    0x16: _fixed(10),
    0x17: _counted(10, 13),
    0x18: _fixed(6),
    0x2B: _device_id_request,
}
_RESPONSE_LENGTH: dict[int, _Length] = {
    **dict.fromkeys((0x01, 0x02, 0x03, 0x04, 0x0C, 0x11, 0x14, 0x15, 0x17), _counted(2, 5)),
    **dict.fromkeys((0x05, 0x06, 0x08, 0x0B, 0x0F, 0x10), _fixed(8)),
    0x07: _fixed(5),
    0x16: _fixed(10),
    0x18: _fifo_response,
    0x2B: _device_id_response,
}
_EXCEPTION_LENGTH = 5
_NONE: _Length = _fixed(0)


def request_length(data: bytes, pos: int = 0) -> int | None:
    """Length of a request frame starting at `pos` (None: more bytes needed, 0: no request)."""
    if len(data) - pos < 2:
        return None
    return _REQUEST_LENGTH.get(data[pos + 1], _NONE)(data, pos)


def response_length(data: bytes, pos: int = 0) -> int | None:
    """Length of a response frame starting at `pos` (None: more bytes needed, 0: none)."""
    if len(data) - pos < 2:
        return None
    function_code = data[pos + 1]
    if function_code & 0x80:
        return _EXCEPTION_LENGTH
    return _RESPONSE_LENGTH.get(function_code, _NONE)(data, pos)


# --- finding frames in a byte stream ----------------------------------------------


class FrameKind(Enum):
    """What a frame found on the line is."""

    REQUEST = "request"
    RESPONSE = "response"  # another slave answering the master


type Frame = tuple[FrameKind, int, bytes]
_WAIT = (0, FrameKind.REQUEST)  # a frame may start here but is not complete yet


class RtuDecoder:
    """Splits the bytes of an RTU line into requests and other slaves' responses.

    At each position the request length and the response length of its function code are
    tried; the one whose CRC checks is the frame (a request first: FC 05/06/08 echo it).
    Nothing matching means the position is no frame start: one byte is dropped and the
    next one tried, which is how the decoder resynchronises after noise or a bad CRC. A
    frame still incomplete gives way when a *complete* valid frame begins at a later
    boundary (the transport's silence of 3.5 characters, or a TCP segment start): a
    truncated frame then cannot swallow the request after it, and a frame that arrives in
    pieces (a USB adapter's buffering) is still taken whole. While resynchronising (the
    position was reached by dropping bytes) any later complete frame wins, boundary or
    not, so noise run together with the frames behind it loses only itself.
    """

    def __init__(self, counters: LineCounters | None = None, *, timed: bool = True) -> None:
        """Start empty; `timed` lines (serial) count frames that break the silence rule."""
        self.counters = counters or LineCounters()
        self._timed = timed
        self._buffer = b""
        self._boundaries: list[int] = []  # offsets in the buffer where a silence ended
        self._in_junk = False  # inside a stretch already counted as one CRC error

    @property
    def pending(self) -> int:
        """Bytes waiting for their frame to complete."""
        return len(self._buffer)

    def feed(self, data: bytes, *, after_silence: bool = True) -> list[Frame]:
        """Add bytes; return the frames completed, in order.

        `after_silence` says a new frame may begin with these bytes (the line was quiet
        for 3.5 characters before them, or they start a TCP segment). A frame that begins
        elsewhere, right behind the one before it, is counted as a silence violation.
        """
        if after_silence:
            self._boundaries.append(len(self._buffer))
        buffer = self._buffer + data if self._buffer else data
        frames: list[Frame] = []
        pos = self._scan(buffer, frames)
        self._buffer = buffer[pos:]
        self._boundaries = [b - pos for b in self._boundaries if b >= pos]
        if len(self._buffer) > _BUFFER_LIMIT:
            self._discard(len(self._buffer))
            self._buffer = b""
            self._boundaries = []
        return frames

    def _scan(self, buffer: bytes, frames: list[Frame]) -> int:
        pos = 0
        end = len(buffer)
        counters = self.counters
        while end - pos >= MIN_FRAME:
            found = self._match(buffer, pos)
            if found is _WAIT:
                later = self._complete_frame_after(buffer, pos)
                if later is None:
                    break
                self._discard(later - pos)
                pos = later
                continue
            if found is None:
                self._discard(1)
                pos += 1
                continue
            length, kind = found
            if self._timed and pos not in self._boundaries:
                counters.silence_violations += 1
            counters.frames += 1
            frames.append((kind, buffer[pos], buffer[pos + 1 : pos + length - 2]))
            self._in_junk = False
            pos += length
        return pos

    @staticmethod
    def _match(buffer: bytes, pos: int) -> tuple[int, FrameKind] | None:
        """(length, kind) of the valid frame at `pos`, _WAIT, or None when none starts here."""
        waiting = False
        available = len(buffer) - pos
        for length, kind in (
            (request_length(buffer, pos), FrameKind.REQUEST),
            (response_length(buffer, pos), FrameKind.RESPONSE),
        ):
            if length is None or length > available:
                waiting = waiting or length is None or length <= MAX_FRAME
                continue
            if length >= MIN_FRAME and not crc16(buffer[pos : pos + length]):
                return length, kind
        return _WAIT if waiting else None

    def _complete_frame_after(self, buffer: bytes, pos: int) -> int | None:
        """Where a complete valid frame starts after `pos`, or None.

        At a boundary; or anywhere while resynchronising (then `pos` itself is a guess).
        """
        starts = self._boundaries
        if self._in_junk:
            starts = list(range(pos + 1, len(buffer) - MIN_FRAME + 1))
        for start in starts:
            if start > pos and self._match(buffer, start) not in (None, _WAIT):
                return start
        return None

    def _discard(self, count: int) -> None:
        if count <= 0:
            return
        if not self._in_junk:
            self._in_junk = True
            self.counters.crc_errors += 1
        self.counters.discarded_bytes += count
