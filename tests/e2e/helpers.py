"""Independent oracle for the end-to-end tests: entity state -> expected Modbus words.

Written from the Modbus conventions (struct, word/byte order) rather than with the
integration's codecs, so a codec bug cannot hide behind itself.
"""

from __future__ import annotations

import asyncio
import struct
from typing import Any

from hasslib import Row

FORMATS = {
    "int16": ">h",
    "uint16": ">H",
    "int32": ">i",
    "uint32": ">I",
    "int64": ">q",
    "uint64": ">Q",
    "float32": ">f",
    "float64": ">d",
}
UNAVAILABLE_RAW = {
    "float32": [0x7FC0, 0x0000],
    "float64": [0x7FF8, 0, 0, 0],
    "int16": [0x8000],
    "int32": [0x8000, 0],
    "uint16": [0xFFFF],
    "uint32": [0xFFFF, 0xFFFF],
}


def entity_value(state: dict[str, Any]) -> Any:
    """The engineering value a state stands for (None when unavailable/unknown)."""
    value = state["state"]
    domain = state["entity_id"].split(".")[0]
    if value in ("unavailable", "unknown"):
        return None
    if domain in ("input_boolean", "switch", "binary_sensor"):
        return 1 if value == "on" else 0
    if domain in ("input_select", "select"):
        return state["attributes"]["options"].index(value)
    if domain in ("input_text", "text"):
        return value
    return float(value)


def order_words(words: list[int], row: Row) -> list[int]:
    """Big-endian words (ABCD) -> the row's word and byte order."""
    if row.word_order == "little":
        words = words[::-1]
    if row.byte_order == "little":
        words = [((w & 0xFF) << 8) | (w >> 8) for w in words]
    return words


def encode(row: Row, value: Any) -> list[int]:
    """Expected registers (or [bit]) of a row for an engineering value."""
    if row.data_type == "bool":
        return [int(value)]
    if row.data_type == "string":
        data = str(value).encode().ljust(2 * row.count, b"\0")
        words = [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]
        return order_words(words, row) if row.byte_order == "little" else words
    if value is None:
        return order_words(list(UNAVAILABLE_RAW[row.data_type]), row)
    raw = (value - row.offset) / row.scale
    if not row.data_type.startswith("float"):
        raw = round(raw)
    data = struct.pack(FORMATS[row.data_type], raw)
    words = [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]
    return order_words(words, row)


def decode(row: Row, words: list[int]) -> Any:
    """Engineering value of a row from its registers (inverse of `encode`)."""
    words = order_words(list(words), row)  # the order is its own inverse
    data = b"".join(w.to_bytes(2, "big") for w in words)
    if row.data_type == "string":
        return data.rstrip(b"\0").decode()
    (raw,) = struct.unpack(FORMATS[row.data_type], data)
    return raw * row.scale + row.offset


def mbap(tid: int, unit: int, pdu: bytes) -> bytes:
    """A Modbus TCP frame."""
    return struct.pack(">HHHB", tid, 0, len(pdu) + 1, unit) + pdu


async def raw_request(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, tid: int, pdu: bytes
) -> bytes:
    """Send one request, return the response PDU."""
    writer.write(mbap(tid, 1, pdu))
    await writer.drain()
    header = await reader.readexactly(7)
    rtid, _proto, length, _unit = struct.unpack(">HHHB", header)
    body = await reader.readexactly(length - 1)
    assert rtid == tid
    return body
