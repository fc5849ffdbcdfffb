/*
 * Hostile pipelining client for benchmarks/run_core.py's "+hostile" scenarios.
 *
 * One connection that keeps a 256 KB segment of back-to-back FC3 x125 requests in
 * flight: it sends the whole segment, reads (and discards) every response, and starts
 * over, until SIGTERM. It reads while it sends, so a server that pushes back (pauses
 * reading while its responses are not read) cannot deadlock it. Responses are only
 * counted; it prints "segments <n> responses <n>" to stderr on exit.
 *
 * Usage: hostile PORT [ADDR]      Build: cc -O2 -Wall -Wextra -o hostile hostile.c
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SEGMENT (256 * 1024)
#define FRAME 12
#define FRAMES (SEGMENT / FRAME)
#define RESPONSE (9 + 250) /* MBAP 7 + fc + byte count + 125 registers */

static volatile sig_atomic_t stop;

static void on_signal(int sig) {
    (void)sig;
    stop = 1;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: hostile PORT [ADDR]\n");
        return 2;
    }
    int addr = argc > 2 ? atoi(argv[2]) : 1000;
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    static uint8_t tx[FRAMES * FRAME], rx[1 << 16];
    for (int i = 0; i < FRAMES; i++) {
        uint8_t *p = tx + i * FRAME;
        p[0] = (uint8_t)(i >> 8);
        p[1] = (uint8_t)i;
        p[2] = p[3] = p[4] = 0;
        p[5] = 6;
        p[6] = 1;
        p[7] = 3;
        p[8] = (uint8_t)(addr >> 8);
        p[9] = (uint8_t)addr;
        p[10] = 0;
        p[11] = 125;
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1]))};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        perror("hostile: connect");
        return 2;
    }
    unsigned long segments = 0, responses = 0;
    while (!stop) {
        size_t sent = 0, expect = (size_t)FRAMES * RESPONSE, got = 0;
        while (!stop && got < expect) {
            struct pollfd pfd = {.fd = fd, .events = POLLIN | (sent < sizeof tx ? POLLOUT : 0)};
            if (poll(&pfd, 1, 1000) < 0) {
                if (errno == EINTR) continue;
                perror("hostile: poll");
                return 2;
            }
            if (pfd.revents & POLLOUT) {
                ssize_t n = send(fd, tx + sent, sizeof tx - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n > 0) sent += (size_t)n;
            }
            if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
                ssize_t n = recv(fd, rx, sizeof rx, MSG_DONTWAIT);
                if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
                    fprintf(stderr, "hostile: connection closed\n");
                    return 1;
                }
                if (n > 0) got += (size_t)n;
            }
        }
        segments++;
        responses += got / RESPONSE;
    }
    fprintf(stderr, "hostile: segments %lu responses %lu\n", segments, responses);
    close(fd);
    return 0;
}
