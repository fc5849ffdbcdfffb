"""Framers: bytes <-> (unit, pdu), independent of the transport that carries them.

`mbap` is the Modbus TCP/UDP header, `rtu` the serial line's unit + PDU + CRC (also carried
over TCP by serial gateways). Encode and decode sit side by side in each module.
"""

from . import mbap, rtu

__all__ = ["mbap", "rtu"]
