// jsmodbus TCP server (what Node-RED's "modbus-server" node runs) for benchmarks/run_core.py.
//
// As node-red-contrib-modbus builds it: a net.Server handed to jsmodbus's server.TCP with one
// Buffer per area; Node's socket defaults (Nagle on), as the node leaves them. Same data as
// benchmarks/core/ours_server.py: register i holds i & 0xFFFF, coil/discrete input i is
// (i ^ (i >> 3)) & 1, SIZE of each; writes go into the buffers.
// Usage: node jsmodbus_server.js [SIZE]. Prints "PORT <n>" once listening on 127.0.0.1
// (ephemeral port); serves until SIGTERM/SIGINT.
"use strict";

const net = require("net");
const Modbus = require("jsmodbus");

const size = Number(process.argv[2] || 10000);
const registers = Buffer.alloc(2 * size);
const bits = Buffer.alloc(Math.ceil(size / 8));
for (let i = 0; i < size; i++) {
  registers.writeUInt16BE(i & 0xffff, 2 * i);
  if ((i ^ (i >> 3)) & 1) bits[i >> 3] |= 1 << (i & 7);
}

const netServer = new net.Server();
new Modbus.server.TCP(netServer, {
  holding: registers,
  input: Buffer.from(registers),
  coils: bits,
  discrete: Buffer.from(bits),
});
netServer.listen(0, "127.0.0.1", () => {
  process.stdout.write(`PORT ${netServer.address().port}\n`);
});
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => process.exit(0));
