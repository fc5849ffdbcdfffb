/*
 * libmodbus reference server for benchmarks/run_core.py.
 *
 * Serves many connections from one thread with a select() loop over
 * modbus_receive()/modbus_reply(), as libmodbus's tests/bandwidth-server-many-up.c.
 * Data is the benchmark's deterministic pattern: register i = i & 0xFFFF,
 * coil/discrete input i = (i ^ (i >> 3)) & 1.
 *
 * Usage: libmodbus_server [SIZE]   (listens on 127.0.0.1, an ephemeral port)
 * Prints "PORT <n>" on stdout once listening; runs until SIGTERM/SIGINT.
 *
 * Build: cc -O2 -Wall -Wextra -o libmodbus_server libmodbus_server.c -lmodbus
 */
#include <arpa/inet.h>
#include <errno.h>
#include <modbus.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig) {
    (void)sig;
    stop = 1;
}

int main(int argc, char **argv) {
    int size = argc > 1 ? atoi(argv[1]) : 10000;
    if (size < 1 || size > 65536) {
        fprintf(stderr, "size must be 1..65536\n");
        return 2;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    modbus_t *ctx = modbus_new_tcp("127.0.0.1", 0);
    modbus_mapping_t *map = modbus_mapping_new(size, size, size, size);
    if (!ctx || !map) {
        fprintf(stderr, "libmodbus init: %s\n", modbus_strerror(errno));
        return 1;
    }
    for (int i = 0; i < size; i++) {
        map->tab_bits[i] = map->tab_input_bits[i] = (uint8_t)((i ^ (i >> 3)) & 1);
        map->tab_registers[i] = map->tab_input_registers[i] = (uint16_t)(i & 0xFFFF);
    }
    int server = modbus_tcp_listen(ctx, 64);
    if (server < 0) {
        fprintf(stderr, "listen: %s\n", modbus_strerror(errno));
        return 1;
    }
    struct sockaddr_in addr;
    socklen_t alen = sizeof addr;
    getsockname(server, (struct sockaddr *)&addr, &alen);
    printf("PORT %d\n", ntohs(addr.sin_port));
    fflush(stdout);

    uint8_t query[MODBUS_TCP_MAX_ADU_LENGTH];
    fd_set refset, rdset;
    FD_ZERO(&refset);
    FD_SET(server, &refset);
    int fdmax = server;
    while (!stop) {
        rdset = refset;
        if (select(fdmax + 1, &rdset, NULL, NULL, NULL) < 0) {
            if (errno == EINTR) continue;
            perror("select");
            break;
        }
        for (int fd = 0; fd <= fdmax; fd++) {
            if (!FD_ISSET(fd, &rdset)) continue;
            if (fd == server) {
                struct sockaddr_in ca;
                socklen_t clen = sizeof ca;
                int nfd = accept(server, (struct sockaddr *)&ca, &clen);
                if (nfd < 0) continue;
                if (nfd >= FD_SETSIZE) {
                    close(nfd);
                    continue;
                }
                int one = 1; /* asyncio sets TCP_NODELAY on its sockets: same here */
                setsockopt(nfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                FD_SET(nfd, &refset);
                if (nfd > fdmax) fdmax = nfd;
                continue;
            }
            modbus_set_socket(ctx, fd);
            int rc = modbus_receive(ctx, query);
            if (rc > 0) {
                modbus_reply(ctx, query, rc, map);
            } else if (rc == -1) {
                /* connection closed by the client or a receive error */
                close(fd);
                FD_CLR(fd, &refset);
                if (fd == fdmax) {
                    while (fdmax > server && !FD_ISSET(fdmax, &refset)) fdmax--;
                }
            }
        }
    }
    close(server);
    modbus_mapping_free(map);
    modbus_free(ctx);
    return 0;
}
