"""Read Device Identification (FC 43 / MEI 14): the objects and how they are served."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .exceptions import IllegalDataAddress, IllegalDataValue
from .pdu import encode_device_id_response

BASIC_STREAM = 0x01
REGULAR_STREAM = 0x02
EXTENDED_STREAM = 0x03
INDIVIDUAL = 0x04

# Conformity level: the highest category held, with bit 0x80 = individual access supported.
_CATEGORY_LAST_ID = {BASIC_STREAM: 0x02, REGULAR_STREAM: 0x7F, EXTENDED_STREAM: 0xFF}
# PDU limit 253 minus the 7-byte response header.
_MAX_OBJECTS_BYTES = 253 - 7
MAX_OBJECT_LENGTH = _MAX_OBJECTS_BYTES - 2


@dataclass(frozen=True, slots=True)
class DeviceIdentification:
    """Identification objects; the three basic ones are mandatory in the spec."""

    vendor_name: str = "Home Assistant"
    product_code: str = "modbus_server"
    revision: str = "0.1.0"
    vendor_url: str = ""
    product_name: str = ""
    model_name: str = ""
    user_application_name: str = ""
    extended: Mapping[int, bytes | str] = field(default_factory=dict)

    def objects(self) -> dict[int, bytes]:
        """Object id -> value bytes; empty optional objects are left out."""
        regular = (
            self.vendor_name,
            self.product_code,
            self.revision,
            self.vendor_url,
            self.product_name,
            self.model_name,
            self.user_application_name,
        )
        objects = {oid: value.encode() for oid, value in enumerate(regular) if value or oid < 3}
        for oid, value in self.extended.items():
            if not 0x80 <= oid <= 0xFF:
                raise ValueError(f"extended object id {oid:#04x} outside 0x80..0xFF")
            objects[oid] = value.encode() if isinstance(value, str) else bytes(value)
        for oid, data in objects.items():
            if len(data) > MAX_OBJECT_LENGTH:
                raise ValueError(f"object {oid:#04x} longer than {MAX_OBJECT_LENGTH} bytes")
        return dict(sorted(objects.items()))


class DeviceIdentificationResponder:
    """Answers FC 43/14 requests from a fixed set of objects."""

    def __init__(self, identification: DeviceIdentification) -> None:
        self._objects = identification.objects()
        level = REGULAR_STREAM if any(0x03 <= oid <= 0x7F for oid in self._objects) else 1
        if any(oid >= 0x80 for oid in self._objects):
            level = EXTENDED_STREAM
        self._level = level
        self.conformity = 0x80 | level

    def respond(self, read_code: int, object_id: int) -> bytes:
        """Response PDU; raises IllegalDataValue / IllegalDataAddress per the spec."""
        if read_code == INDIVIDUAL:
            value = self._objects.get(object_id)
            if value is None:
                raise IllegalDataAddress(f"no identification object {object_id:#04x}")
            return encode_device_id_response(read_code, self.conformity, None, [(object_id, value)])
        if read_code not in _CATEGORY_LAST_ID:
            raise IllegalDataValue(f"read device id code {read_code} outside 1..4")
        # Asked for more than we conform to: answer at our own level (spec 6.21).
        last_id = _CATEGORY_LAST_ID[min(read_code, self._level)]
        wanted = [oid for oid in self._objects if oid <= last_id]
        if object_id not in wanted:
            object_id = wanted[0]  # unknown id in stream access: restart at the beginning
        selected: list[tuple[int, bytes]] = []
        size = 0
        next_id: int | None = None
        for oid in wanted[wanted.index(object_id) :]:
            value = self._objects[oid]
            if size + 2 + len(value) > _MAX_OBJECTS_BYTES:
                next_id = oid
                break
            selected.append((oid, value))
            size += 2 + len(value)
        return encode_device_id_response(read_code, self.conformity, next_id, selected)
