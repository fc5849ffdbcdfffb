"""Home Assistant custom integrations (this repository ships one: modbus_server)."""
