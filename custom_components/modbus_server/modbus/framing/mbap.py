"""MBAP framing (Modbus TCP and Modbus UDP): bytes <-> (transaction, unit, pdu).

The header is transaction id, protocol id (0 for Modbus), length (unit id + PDU) and unit
id. Transport-free: a TCP stream asks `frame_length` how much to wait for, a UDP datagram
is one frame and goes through `decode_frame` whole.
"""

from __future__ import annotations

from struct import Struct

from ..exceptions import ModbusProtocolError

MBAP = Struct(">HHHB")
HEADER_SIZE = 7
MIN_LENGTH = 2  # unit id + function code
MAX_LENGTH = 254  # unit id + 253-byte PDU
MODBUS_PROTOCOL_ID = 0


def encode_frame(transaction_id: int, unit_id: int, pdu: bytes, protocol_id: int = 0) -> bytes:
    """An MBAP frame around a PDU."""
    return MBAP.pack(transaction_id, protocol_id, len(pdu) + 1, unit_id) + pdu


def decode_frame(frame: bytes) -> tuple[int, int, int, bytes]:
    """Return (transaction_id, protocol_id, unit_id, pdu) of exactly one whole frame.

    Raises ModbusProtocolError when the header is short, its length field is outside
    2..254 or does not match the bytes given (a datagram holds exactly one frame).
    """
    if len(frame) < HEADER_SIZE + 1:
        raise ModbusProtocolError(f"MBAP frame of {len(frame)} bytes is too short")
    transaction_id, protocol_id, length, unit_id = MBAP.unpack_from(frame)
    if not MIN_LENGTH <= length <= MAX_LENGTH:
        raise ModbusProtocolError(f"MBAP length {length} outside {MIN_LENGTH}..{MAX_LENGTH}")
    if len(frame) != 6 + length:
        raise ModbusProtocolError(
            f"MBAP length {length} does not match the {len(frame) - 6} bytes that follow it"
        )
    return transaction_id, protocol_id, unit_id, frame[HEADER_SIZE:]


def frame_length(data: bytes, pos: int = 0) -> int | None:
    """Total length of the frame starting at `pos`, or None until its header is complete.

    Raises ModbusProtocolError for a length field outside 2..254: framing of the stream
    is lost from there on.
    """
    if len(data) - pos < HEADER_SIZE:
        return None
    length = int.from_bytes(data[pos + 4 : pos + 6])
    if not MIN_LENGTH <= length <= MAX_LENGTH:
        raise ModbusProtocolError(f"MBAP length {length} outside {MIN_LENGTH}..{MAX_LENGTH}")
    return 6 + length
