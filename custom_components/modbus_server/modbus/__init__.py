"""Modbus server: protocol and networking, standard library only.

No Home Assistant imports here: this package is the product's protocol engine
and is tested and benchmarked on its own.
"""

from .area import Area
from .device import Device, ReadCallback, Request, Rights, UnknownUnit, WriteCallback
from .device_id import DeviceIdentification
from .exceptions import (
    Acknowledge,
    GatewayPathUnavailable,
    GatewayTargetFailedToRespond,
    IllegalDataAddress,
    IllegalDataValue,
    IllegalFunction,
    ModbusError,
    ModbusExceptionResponse,
    ModbusProtocolError,
    ServerDeviceBusy,
    ServerDeviceFailure,
)
from .server import WIRE_LOGGER, Server
from .stats import ClientInfo, Counters, ServerStats

__all__ = [
    "WIRE_LOGGER",
    "Acknowledge",
    "Area",
    "ClientInfo",
    "Counters",
    "Device",
    "DeviceIdentification",
    "GatewayPathUnavailable",
    "GatewayTargetFailedToRespond",
    "IllegalDataAddress",
    "IllegalDataValue",
    "IllegalFunction",
    "ModbusError",
    "ModbusExceptionResponse",
    "ModbusProtocolError",
    "ReadCallback",
    "Request",
    "Rights",
    "Server",
    "ServerDeviceBusy",
    "ServerDeviceFailure",
    "ServerStats",
    "UnknownUnit",
    "WriteCallback",
]
