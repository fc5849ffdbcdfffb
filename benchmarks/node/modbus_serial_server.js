// modbus-serial ServerTCP (what Node-RED's "modbus-flex-server" node runs) for
// benchmarks/run_core.py.
//
// As the flex server builds it: a vector of one-address functions (getHoldingRegister,
// getCoil, ...) over Buffers, which ServerTCP calls once per address of a request; unit id 1
// (the node's default); Node's socket defaults (Nagle on), as the node leaves them. The flex
// server compiles its functions in a vm2 sandbox; these are plain functions, so this is an
// upper bound of the node. Same data as benchmarks/core/ours_server.py: register i holds
// i & 0xFFFF, coil/discrete input i is (i ^ (i >> 3)) & 1, SIZE of each; writes stick.
// Usage: node modbus_serial_server.js [SIZE]. Prints "PORT <n>" once listening on 127.0.0.1;
// serves until SIGTERM/SIGINT.
"use strict";

const net = require("net");
const ModbusRTU = require("modbus-serial");

const size = Number(process.argv[2] || 10000);
const holding = Buffer.alloc(2 * size);
const bits = new Uint8Array(size);
for (let i = 0; i < size; i++) {
  holding.writeUInt16BE(i & 0xffff, 2 * i);
  bits[i] = (i ^ (i >> 3)) & 1;
}
const input = Buffer.from(holding);
const discrete = Uint8Array.from(bits);

const vector = {
  getHoldingRegister: (addr) => holding.readUInt16BE(2 * addr),
  getInputRegister: (addr) => input.readUInt16BE(2 * addr),
  getCoil: (addr) => bits[addr] === 1,
  getDiscreteInput: (addr) => discrete[addr] === 1,
  setRegister: (addr, value) => holding.writeUInt16BE(value, 2 * addr),
  setCoil: (addr, value) => {
    bits[addr] = value ? 1 : 0;
  },
};

// ServerTCP listens in its constructor and turns port 0 into 502: ask the kernel for a free
// port first (loopback, released just before ServerTCP binds it).
const probe = net.createServer();
probe.listen(0, "127.0.0.1", () => {
  const port = probe.address().port;
  probe.close(() => {
    const server = new ModbusRTU.ServerTCP(vector, { host: "127.0.0.1", port, unitID: 1 });
    server.on("serverError", (err) => {
      process.stderr.write(`${err}\n`);
      process.exit(1);
    });
    server.on("initialized", () => process.stdout.write(`PORT ${port}\n`));
  });
});
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => process.exit(0));
