"""Modbus exception responses: each class *is* its wire code.

A callback raises one of these to put that exception code on the wire. Anything
else raised by a callback is logged and answered with ServerDeviceFailure (04).
"""

from __future__ import annotations

from typing import ClassVar


class ModbusError(Exception):
    """Base of every error this package raises."""


class ModbusProtocolError(ModbusError):
    """A frame that cannot be parsed (bad MBAP header, truncated PDU)."""


class ModbusExceptionResponse(ModbusError):
    """An exception response; `code` is the byte sent after `fc | 0x80`."""

    code: ClassVar[int]

    def __init__(self, message: str = "") -> None:
        super().__init__(message or self.__class__.__doc__ or "")

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "code" in cls.__dict__:
            EXCEPTIONS_BY_CODE[cls.code] = cls


EXCEPTIONS_BY_CODE: dict[int, type[ModbusExceptionResponse]] = {}


class IllegalFunction(ModbusExceptionResponse):
    """Function code not supported by this server (01)."""

    code = 0x01


class IllegalDataAddress(ModbusExceptionResponse):
    """Address, or address + quantity, outside what is mapped (02)."""

    code = 0x02


class IllegalDataValue(ModbusExceptionResponse):
    """Quantity, byte count or value not allowed (03)."""

    code = 0x03


class ServerDeviceFailure(ModbusExceptionResponse):
    """Unrecoverable error while performing the action (04)."""

    code = 0x04


class Acknowledge(ModbusExceptionResponse):
    """Accepted, processing takes long (05)."""

    code = 0x05


class ServerDeviceBusy(ModbusExceptionResponse):
    """Server is busy, the client should retry later (06)."""

    code = 0x06


class GatewayPathUnavailable(ModbusExceptionResponse):
    """Gateway could not allocate a path to the target (0A)."""

    code = 0x0A


class GatewayTargetFailedToRespond(ModbusExceptionResponse):
    """No response from the addressed unit (0B)."""

    code = 0x0B


def exception_for_code(code: int) -> type[ModbusExceptionResponse]:
    """Return the exception class for a wire code (KeyError when unknown)."""
    return EXCEPTIONS_BY_CODE[code]
