/* Interop client: exercises every area through libmodbus and prints what it got.
 * Usage: libmodbus_client PORT                          (Modbus TCP to 127.0.0.1)
 *        libmodbus_client DEVICE BAUD PARITY STOPBITS   (Modbus RTU master, 8 data bits)
 * Output: one "name: values" line per step; "error name: message" on failure. */
#include <errno.h>
#include <modbus.h>
#include <stdio.h>
#include <stdlib.h>

static void print_regs(const char *name, const uint16_t *v, int n) {
    printf("%s:", name);
    for (int i = 0; i < n; i++) printf(" %u", v[i]);
    printf("\n");
}

static void print_bits(const char *name, const uint8_t *v, int n) {
    printf("%s:", name);
    for (int i = 0; i < n; i++) printf(" %u", v[i]);
    printf("\n");
}

int main(int argc, char **argv) {
    modbus_t *ctx;
    if (argc == 2)
        ctx = modbus_new_tcp("127.0.0.1", atoi(argv[1]));
    else if (argc == 5)
        ctx = modbus_new_rtu(argv[1], atoi(argv[2]), argv[3][0], 8, atoi(argv[4]));
    else
        return 2;
    if (ctx == NULL || modbus_connect(ctx) == -1) {
        fprintf(stderr, "connect: %s\n", modbus_strerror(errno));
        return 1;
    }
    modbus_set_slave(ctx, 1);
    uint16_t regs[125];
    uint8_t bits[64];

    if (modbus_read_registers(ctx, 10, 4, regs) == 4) print_regs("hr", regs, 4);
    if (modbus_read_input_registers(ctx, 10, 4, regs) == 4) print_regs("ir", regs, 4);
    if (modbus_read_bits(ctx, 0, 8, bits) == 8) print_bits("co", bits, 8);
    if (modbus_read_input_bits(ctx, 0, 8, bits) == 8) print_bits("di", bits, 8);

    modbus_write_register(ctx, 20, 4242);
    const uint16_t many[3] = {7, 8, 9};
    modbus_write_registers(ctx, 21, 3, many);
    if (modbus_read_registers(ctx, 20, 4, regs) == 4) print_regs("hr_written", regs, 4);

    modbus_write_bit(ctx, 3, 1);
    const uint8_t coils[4] = {1, 0, 1, 1};
    modbus_write_bits(ctx, 4, 4, coils);
    if (modbus_read_bits(ctx, 0, 8, bits) == 8) print_bits("co_written", bits, 8);

    modbus_mask_write_register(ctx, 30, 0x00F2, 0x0025);
    const uint16_t rw[2] = {100, 101};
    if (modbus_write_and_read_registers(ctx, 40, 2, rw, 39, 4, regs) == 4) print_regs("rw", regs, 4);

    if (modbus_read_registers(ctx, 5000, 2, regs) == -1) printf("error unmapped: %s\n", modbus_strerror(errno));

    modbus_close(ctx);
    modbus_free(ctx);
    return 0;
}
