"""RTU and MBAP framers, byte for byte, against frames pymodbus builds."""

from __future__ import annotations

import pytest
from pymodbus.framer import FramerRTU
from pymodbus.pdu import DecodePDU, ModbusPDU
from pymodbus.pdu.bit_message import (
    ReadCoilsRequest,
    ReadCoilsResponse,
    ReadDiscreteInputsRequest,
    WriteMultipleCoilsRequest,
    WriteMultipleCoilsResponse,
    WriteSingleCoilRequest,
)
from pymodbus.pdu.diag_message import ReturnQueryDataRequest
from pymodbus.pdu.mei_message import ReadDeviceInformationRequest
from pymodbus.pdu.other_message import ReadExceptionStatusRequest
from pymodbus.pdu.register_message import (
    MaskWriteRegisterRequest,
    ReadHoldingRegistersRequest,
    ReadHoldingRegistersResponse,
    ReadInputRegistersRequest,
    ReadWriteMultipleRegistersRequest,
    ReadWriteMultipleRegistersResponse,
    WriteMultipleRegistersRequest,
    WriteMultipleRegistersResponse,
    WriteSingleRegisterRequest,
)

from custom_components.modbus_server.modbus import ModbusProtocolError
from custom_components.modbus_server.modbus.framing import mbap, rtu
from custom_components.modbus_server.modbus.framing.rtu import FrameKind, RtuDecoder
from custom_components.modbus_server.modbus.pdu import encode_device_id_response

FRAMER = FramerRTU(DecodePDU(is_server=False))


def pymodbus_frame(message: ModbusPDU) -> bytes:
    return FRAMER.buildFrame(message)


REQUESTS: list[ModbusPDU] = [
    ReadCoilsRequest(dev_id=1, address=0, count=2000),
    ReadDiscreteInputsRequest(dev_id=1, address=7, count=3),
    ReadHoldingRegistersRequest(dev_id=1, address=100, count=125),
    ReadInputRegistersRequest(dev_id=1, address=0, count=1),
    WriteSingleCoilRequest(dev_id=1, address=3, bits=[True]),
    WriteSingleRegisterRequest(dev_id=1, address=4, registers=[0xBEEF]),
    ReturnQueryDataRequest(b"\x12\x34", dev_id=1),
    WriteMultipleCoilsRequest(dev_id=1, address=5, bits=[True, False] * 9),
    WriteMultipleRegistersRequest(dev_id=1, address=6, registers=list(range(123))),
    MaskWriteRegisterRequest(dev_id=1, address=7, and_mask=0x00F0, or_mask=0x0F00),
    ReadWriteMultipleRegistersRequest(
        dev_id=1, read_address=1, read_count=125, write_address=2, write_registers=[1, 2, 3]
    ),
    ReadDeviceInformationRequest(dev_id=1, read_code=1, object_id=0),
    ReadExceptionStatusRequest(dev_id=1),
]

RESPONSES: list[bytes] = [
    pymodbus_frame(ReadCoilsResponse(dev_id=2, bits=[True] * 16)),
    pymodbus_frame(ReadHoldingRegistersResponse(dev_id=2, registers=list(range(125)))),
    pymodbus_frame(WriteMultipleCoilsResponse(dev_id=2, address=5, count=18)),
    pymodbus_frame(WriteMultipleRegistersResponse(dev_id=2, address=6, count=123)),
    pymodbus_frame(ReadWriteMultipleRegistersResponse(dev_id=2, registers=[9, 8, 7])),
    rtu.encode_frame(
        2, encode_device_id_response(1, 0x81, None, [(0, b"vendor"), (1, b"code"), (2, b"1.0")])
    ),
    rtu.encode_frame(2, b"\x83\x02"),  # exception response
]


def test_crc16_matches_the_spec_example() -> None:
    # Modbus over serial line V1.02, 6.2.2: "02 07" has CRC 0x1241, sent 41 12.
    assert rtu.crc16(b"\x02\x07") == 0x1241
    assert rtu.encode_frame(2, b"\x07") == b"\x02\x07\x41\x12"
    assert rtu.crc16(rtu.encode_frame(2, b"\x07")) == 0


@pytest.mark.parametrize("message", REQUESTS, ids=lambda m: type(m).__name__)
def test_encode_and_request_length_agree_with_pymodbus(message: ModbusPDU) -> None:
    frame = pymodbus_frame(message)
    unit_id, pdu = rtu.decode_frame(frame)
    assert rtu.encode_frame(unit_id, pdu) == frame
    assert rtu.request_length(frame) == len(frame)


@pytest.mark.parametrize("frame", RESPONSES, ids=lambda f: f"fc{f[1]:02x}")
def test_response_length_agrees_with_pymodbus(frame: bytes) -> None:
    assert rtu.response_length(frame) == len(frame)


def test_decode_frame_rejects_bad_crc_and_short_frames() -> None:
    frame = bytearray(pymodbus_frame(REQUESTS[2]))
    frame[-1] ^= 0x01
    with pytest.raises(ModbusProtocolError, match="CRC"):
        rtu.decode_frame(bytes(frame))
    with pytest.raises(ModbusProtocolError, match="too short"):
        rtu.decode_frame(b"\x01\x03\x00")


def test_decoder_tells_requests_from_other_slaves_responses_in_one_stream() -> None:
    requests = [pymodbus_frame(m) for m in REQUESTS]
    responses = [RESPONSES[i % len(RESPONSES)] for i in range(len(requests))]
    decoder = RtuDecoder()
    frames = decoder.feed(b"".join(q + r for q, r in zip(requests, responses, strict=True)))
    assert frames == [
        frame
        for q, r in zip(requests, responses, strict=True)
        for frame in (
            (FrameKind.REQUEST, 1, rtu.decode_frame(q)[1]),
            (FrameKind.RESPONSE, 2, rtu.decode_frame(r)[1]),
        )
    ]
    assert decoder.counters.crc_errors == 0
    assert decoder.pending == 0


def test_decoder_takes_a_frame_that_arrives_one_byte_at_a_time() -> None:
    frame = pymodbus_frame(REQUESTS[8])  # FC16 with 123 registers: 255 bytes
    decoder = RtuDecoder()
    found = [f for i in range(len(frame)) for f in decoder.feed(frame[i : i + 1])]
    assert found == [(FrameKind.REQUEST, 1, rtu.decode_frame(frame)[1])]
    assert decoder.counters.crc_errors == 0


def test_bad_crc_is_discarded_counted_once_and_the_next_request_found() -> None:
    good = pymodbus_frame(REQUESTS[2])
    bad = bytearray(good)
    bad[5] ^= 0xFF
    decoder = RtuDecoder()
    assert decoder.feed(bytes(bad)) == []
    assert decoder.feed(good) == [(FrameKind.REQUEST, 1, rtu.decode_frame(good)[1])]
    assert decoder.counters.crc_errors == 1
    assert decoder.counters.discarded_bytes == len(bad)


def test_truncated_frame_gives_way_to_a_complete_one_after_a_silence() -> None:
    # A frame cut short whose byte count promises 240 more bytes must not swallow the
    # request that follows the silence after it.
    truncated = b"\x02\x10\x00\x00\x00\x78\xf0\x00\x01"
    good = pymodbus_frame(REQUESTS[3])
    decoder = RtuDecoder()
    assert decoder.feed(truncated) == []
    assert decoder.feed(good, after_silence=True) == [
        (FrameKind.REQUEST, 1, rtu.decode_frame(good)[1])
    ]
    assert decoder.counters.crc_errors == 1
    assert decoder.pending == 0


def test_frame_right_behind_another_counts_as_silence_violation() -> None:
    first, second = pymodbus_frame(REQUESTS[0]), pymodbus_frame(REQUESTS[1])
    decoder = RtuDecoder()
    assert len(decoder.feed(first + second)) == 2
    assert decoder.counters.silence_violations == 1
    untimed = RtuDecoder(timed=False)
    assert len(untimed.feed(first + second)) == 2
    assert untimed.counters.silence_violations == 0


def test_noise_between_frames_is_skipped_byte_by_byte() -> None:
    request = pymodbus_frame(REQUESTS[2])
    decoder = RtuDecoder()
    frames = decoder.feed(b"\x00\xff\x55" + request + b"\xaa" + request)
    assert [kind for kind, _, _ in frames] == [FrameKind.REQUEST, FrameKind.REQUEST]
    assert decoder.counters.crc_errors == 2
    assert decoder.counters.discarded_bytes == 4


def test_mbap_encode_decode_pair() -> None:
    frame = mbap.encode_frame(0x1234, 7, b"\x03\x00\x00\x00\x01")
    assert frame == bytes.fromhex("1234 0000 0006 07 0300000001")
    assert mbap.decode_frame(frame) == (0x1234, 0, 7, b"\x03\x00\x00\x00\x01")
    assert mbap.frame_length(frame) == len(frame)
    assert mbap.frame_length(frame[:6]) is None


@pytest.mark.parametrize(
    ("frame", "match"),
    [
        (b"\x00\x01\x00\x00\x00\x06", "too short"),
        (bytes.fromhex("0001 0000 0001 01 03"), "outside"),
        (bytes.fromhex("0001 0000 0006 01 0300"), "does not match"),
        (bytes.fromhex("0001 0000 0003 01 0300 ff"), "does not match"),
    ],
)
def test_mbap_decode_rejects_malformed_frames(frame: bytes, match: str) -> None:
    with pytest.raises(ModbusProtocolError, match=match):
        mbap.decode_frame(frame)


def test_noise_run_together_with_the_frames_behind_it_loses_only_itself() -> None:
    # No boundary anywhere (one TCP segment): a bad frame whose tail looks like the start
    # of a long frame must not swallow the request and response after it.
    bad = bytearray(rtu.encode_frame(1, bytes.fromhex("03000a0001")))
    bad[3] ^= 0x10
    request = rtu.encode_frame(9, bytes.fromhex("03000a0001"))
    response = rtu.encode_frame(9, bytes.fromhex("03020001"))
    decoder = RtuDecoder(timed=False)
    frames = decoder.feed(bytes(bad) + request + response + request)
    assert [(kind, unit) for kind, unit, _ in frames] == [
        (FrameKind.REQUEST, 9), (FrameKind.RESPONSE, 9), (FrameKind.REQUEST, 9),
    ]  # fmt: skip
    assert decoder.counters.crc_errors == 1
    assert decoder.counters.discarded_bytes == len(bad)
