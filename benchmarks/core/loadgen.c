/*
 * Modbus TCP load generator for benchmarks/run_core.py.
 *
 * One thread, epoll, plain sockets (no libmodbus). N connections, each keeping
 * `depth` requests in flight (depth 1 = closed loop). Every response is checked
 * byte for byte against the expected frame: transaction id in flight, protocol
 * id 0, MBAP length, unit id, function code, byte count and the data itself
 * (servers under test hold register i = i & 0xFFFF and coil i = (i ^ (i >> 3)) & 1).
 * A request unanswered after --timeout seconds is counted lost and its slot is
 * reused, so a server that drops requests cannot hang the client.
 *
 * Phases: warmup (not measured), measurement window (throughput and latency of
 * responses completed inside it), drain (no new requests; wait up to --timeout
 * for outstanding ones). Loss and correctness counters cover the whole run.
 * Output: one JSON object on stdout.
 *
 * Build: cc -O2 -Wall -Wextra -o loadgen loadgen.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_DEPTH 256
#define RX_SIZE (1 << 16)
#define TX_SIZE (MAX_DEPTH * 12)
#define HIST_US 200000 /* 1 us buckets up to 200 ms, then one overflow bucket */

typedef struct {
    uint64_t seq; /* per-connection request number; tid = seq & 0xFFFF */
    uint64_t t_send;
    int used;
} slot_t;

typedef struct {
    int fd;
    int want_out;
    uint64_t next_seq;
    uint64_t last_answered; /* seq + 1 of the newest request answered so far */
    int inflight;
    int unit; /* this connection's unit id (--units spreads the connections over units) */
    slot_t slots[MAX_DEPTH];
    uint8_t rx[RX_SIZE];
    size_t rx_len;
    uint8_t tx[TX_SIZE];
    size_t tx_off, tx_len;
} conn_t;

static struct {
    const char *host;
    int port, fc, qty, addr, conns, depth, unit, units;
    double warmup, duration, timeout;
} cfg = {"127.0.0.1", 502, 3, 10, 1000, 1, 1, 1, 1, 1.0, 4.0, 1.0};

static struct {
    uint64_t sent, ok, wrong, lost, stray, out_of_order, disconnects, framing_errors;
    uint64_t window_ok;
    uint64_t hist[HIST_US + 1];
    uint64_t lat_n, lat_sum_ns, lat_max_ns;
} st;

static uint8_t expected[260];
static size_t expected_len;
static int epfd;
static int phase; /* 0 warmup, 1 measure, 2 drain */

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what) {
    fprintf(stderr, "loadgen: %s: %s\n", what, strerror(errno));
    exit(2);
}

static void build_expected(void) {
    uint8_t *p = expected;
    size_t data_len = cfg.fc == 3 || cfg.fc == 4 ? (size_t)cfg.qty * 2 : ((size_t)cfg.qty + 7) / 8;
    size_t len = 3 + data_len; /* unit + fc + byte count + data */
    p[0] = p[1] = 0;           /* tid, not compared */
    p[2] = p[3] = 0;           /* protocol id */
    p[4] = (uint8_t)(len >> 8);
    p[5] = (uint8_t)len;
    p[6] = (uint8_t)cfg.unit;
    p[7] = (uint8_t)cfg.fc;
    p[8] = (uint8_t)data_len;
    memset(p + 9, 0, data_len);
    for (int i = 0; i < cfg.qty; i++) {
        unsigned a = (unsigned)(cfg.addr + i);
        if (cfg.fc == 3 || cfg.fc == 4) {
            p[9 + 2 * i] = (uint8_t)((a & 0xFFFF) >> 8);
            p[10 + 2 * i] = (uint8_t)a;
        } else if ((a ^ (a >> 3)) & 1) {
            p[9 + i / 8] |= (uint8_t)(1u << (i % 8));
        }
    }
    expected_len = 6 + len;
}

static void queue_request(conn_t *c, uint64_t t) {
    slot_t *s = NULL;
    for (int i = 0; i < cfg.depth; i++)
        if (!c->slots[i].used) {
            s = &c->slots[i];
            break;
        }
    if (!s) return;
    uint64_t seq = c->next_seq++;
    s->used = 1;
    s->seq = seq;
    s->t_send = t;
    c->inflight++;
    st.sent++;
    uint8_t *p = c->tx + c->tx_len;
    p[0] = (uint8_t)(seq >> 8);
    p[1] = (uint8_t)seq;
    p[2] = p[3] = 0;
    p[4] = 0;
    p[5] = 6;
    p[6] = (uint8_t)c->unit;
    p[7] = (uint8_t)cfg.fc;
    p[8] = (uint8_t)(cfg.addr >> 8);
    p[9] = (uint8_t)cfg.addr;
    p[10] = (uint8_t)(cfg.qty >> 8);
    p[11] = (uint8_t)cfg.qty;
    c->tx_len += 12;
}

static void set_out(conn_t *c, int on) {
    if (c->want_out == on) return;
    struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = c};
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0) die("epoll_ctl");
    c->want_out = on;
}

/* returns -1 when the connection broke */
static int flush_tx(conn_t *c) {
    while (c->tx_off < c->tx_len) {
        ssize_t n = send(c->fd, c->tx + c->tx_off, c->tx_len - c->tx_off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                set_out(c, 1);
                return 0;
            }
            if (errno == EINTR) continue;
            return -1;
        }
        c->tx_off += (size_t)n;
    }
    c->tx_off = c->tx_len = 0;
    set_out(c, 0);
    return 0;
}

static void fill(conn_t *c, uint64_t t) {
    if (phase == 2) return;
    if (c->tx_off) { /* compact the part already sent */
        memmove(c->tx, c->tx + c->tx_off, c->tx_len - c->tx_off);
        c->tx_len -= c->tx_off;
        c->tx_off = 0;
    }
    while (c->inflight < cfg.depth && c->tx_len + 12 <= TX_SIZE) queue_request(c, t);
}

static void open_conn(conn_t *c) {
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)cfg.port)};
    if (inet_pton(AF_INET, cfg.host, &sa.sin_addr) != 1) die("inet_pton");
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) die("socket");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) die("connect");
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    c->fd = fd;
    c->want_out = 0;
    c->rx_len = c->tx_off = c->tx_len = 0;
    c->inflight = 0;
    c->last_answered = c->next_seq;
    memset(c->slots, 0, sizeof c->slots);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl add");
}

/* Connection closed by the server or framing lost: outstanding requests are lost. */
static void reset_conn(conn_t *c, uint64_t t) {
    st.lost += (uint64_t)c->inflight;
    epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    st.disconnects++;
    open_conn(c);
    fill(c, t);
}

static void record_latency(uint64_t ns) {
    uint64_t us = ns / 1000;
    st.hist[us < HIST_US ? us : HIST_US]++;
    st.lat_n++;
    st.lat_sum_ns += ns;
    if (ns > st.lat_max_ns) st.lat_max_ns = ns;
}

static void on_frame(conn_t *c, const uint8_t *f, size_t flen, uint64_t t) {
    uint16_t tid = (uint16_t)(f[0] << 8 | f[1]);
    slot_t *match = NULL;
    for (int i = 0; i < cfg.depth; i++) {
        slot_t *s = &c->slots[i];
        if (s->used && (uint16_t)s->seq == tid && (!match || s->seq < match->seq)) match = s;
    }
    if (!match) { /* unknown tid, or the answer to a request already counted lost */
        st.stray++;
        return;
    }
    /* answered after a newer request of the same connection (skipped ones are not counted) */
    if (match->seq + 1 < c->last_answered) st.out_of_order++;
    else c->last_answered = match->seq + 1;
    match->used = 0;
    c->inflight--;
    /* the expected frame has --unit in byte 6; this connection's unit is checked on its own */
    if (flen != expected_len || memcmp(f + 2, expected + 2, 4) != 0 || f[6] != c->unit ||
        memcmp(f + 7, expected + 7, expected_len - 7) != 0) {
        st.wrong++;
        return;
    }
    st.ok++;
    if (phase == 1) {
        st.window_ok++;
        record_latency(t - match->t_send);
    }
}

static int on_readable(conn_t *c, uint64_t t) {
    for (;;) {
        ssize_t n = recv(c->fd, c->rx + c->rx_len, RX_SIZE - c->rx_len, 0);
        if (n == 0) return -1;
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            if (errno == EINTR) continue;
            return -1;
        }
        c->rx_len += (size_t)n;
        size_t off = 0;
        while (c->rx_len - off >= 6) {
            const uint8_t *f = c->rx + off;
            unsigned len = (unsigned)(f[4] << 8 | f[5]);
            if (len < 2 || len > 254) {
                st.framing_errors++;
                return -1;
            }
            if (c->rx_len - off < 6 + len) break;
            on_frame(c, f, 6 + len, t);
            off += 6 + len;
        }
        memmove(c->rx, c->rx + off, c->rx_len - off);
        c->rx_len -= off;
        if ((size_t)n < RX_SIZE / 2) break; /* probably drained; epoll tells if not */
    }
    return 0;
}

static void expire(conn_t *c, uint64_t t) {
    uint64_t limit = (uint64_t)(cfg.timeout * 1e9);
    for (int i = 0; i < cfg.depth; i++) {
        slot_t *s = &c->slots[i];
        if (s->used && t - s->t_send > limit) {
            s->used = 0;
            c->inflight--;
            st.lost++;
        }
    }
}

static double percentile(double q) {
    if (!st.lat_n) return 0.0;
    uint64_t rank = (uint64_t)(q * (double)st.lat_n);
    if (rank >= st.lat_n) rank = st.lat_n - 1;
    uint64_t acc = 0;
    for (int i = 0; i <= HIST_US; i++) {
        acc += st.hist[i];
        if (acc > rank) return (double)i + 0.5;
    }
    return (double)HIST_US;
}

static void usage(void) {
    fprintf(stderr,
            "usage: loadgen --port P [--host H] [--fc 3|4|1|2] [--qty Q] [--addr A] [--conns N]\n"
            "               [--depth D] [--unit U] [--units N] [--warmup S] [--duration S]\n"
            "               [--timeout S]   (--units N: connection i asks unit U + i %% N)\n");
    exit(2);
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i];
        if (i + 1 >= argc) usage();
        const char *v = argv[++i];
        if (!strcmp(k, "--host")) cfg.host = v;
        else if (!strcmp(k, "--port")) cfg.port = atoi(v);
        else if (!strcmp(k, "--fc")) cfg.fc = atoi(v);
        else if (!strcmp(k, "--qty")) cfg.qty = atoi(v);
        else if (!strcmp(k, "--addr")) cfg.addr = atoi(v);
        else if (!strcmp(k, "--conns")) cfg.conns = atoi(v);
        else if (!strcmp(k, "--depth")) cfg.depth = atoi(v);
        else if (!strcmp(k, "--unit")) cfg.unit = atoi(v);
        else if (!strcmp(k, "--units")) cfg.units = atoi(v);
        else if (!strcmp(k, "--warmup")) cfg.warmup = atof(v);
        else if (!strcmp(k, "--duration")) cfg.duration = atof(v);
        else if (!strcmp(k, "--timeout")) cfg.timeout = atof(v);
        else usage();
    }
    int regs = cfg.fc == 3 || cfg.fc == 4, bits = cfg.fc == 1 || cfg.fc == 2;
    if ((!regs && !bits) || cfg.qty < 1 || (regs && cfg.qty > 125) || (bits && cfg.qty > 2000) ||
        cfg.units < 1 || cfg.unit < 0 || cfg.unit + cfg.units > 256 ||
        cfg.conns < 1 || cfg.depth < 1 || cfg.depth > MAX_DEPTH || cfg.addr < 0 ||
        cfg.addr + cfg.qty > 65536)
        usage();
    build_expected();

    epfd = epoll_create1(0);
    if (epfd < 0) die("epoll_create1");
    conn_t *conns = calloc((size_t)cfg.conns, sizeof *conns);
    if (!conns) die("calloc");
    for (int i = 0; i < cfg.conns; i++) {
        conns[i].unit = cfg.unit + i % cfg.units;
        open_conn(&conns[i]);
    }

    uint64_t t0 = now_ns();
    uint64_t t_measure = t0 + (uint64_t)(cfg.warmup * 1e9);
    uint64_t t_end = t_measure + (uint64_t)(cfg.duration * 1e9);
    uint64_t t_drain_end = 0, measured_ns = 0, last_expire = t0;
    phase = cfg.warmup > 0 ? 0 : 1;
    for (int i = 0; i < cfg.conns; i++) {
        fill(&conns[i], t0);
        if (flush_tx(&conns[i]) < 0) reset_conn(&conns[i], t0);
    }

    struct epoll_event evs[256];
    for (;;) {
        int n = epoll_wait(epfd, evs, 256, 5);
        if (n < 0 && errno != EINTR) die("epoll_wait");
        uint64_t t = now_ns();
        for (int i = 0; i < n; i++) {
            conn_t *c = evs[i].data.ptr;
            if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
                if (on_readable(c, t) < 0) {
                    reset_conn(c, t);
                    continue;
                }
            }
            fill(c, t);
            if (flush_tx(c) < 0) reset_conn(c, t);
        }
        if (phase == 0 && t >= t_measure) {
            /* warmup done: measurement counts only what completes from now on */
            phase = 1;
            t_measure = t;
            t_end = t + (uint64_t)(cfg.duration * 1e9);
        } else if (phase == 1 && t >= t_end) {
            phase = 2;
            measured_ns = t - t_measure;
            t_drain_end = t + (uint64_t)(cfg.timeout * 1e9) + 1000000;
        }
        if (t - last_expire > 5000000 || phase == 2) {
            last_expire = t;
            int outstanding = 0;
            for (int i = 0; i < cfg.conns; i++) {
                expire(&conns[i], t);
                fill(&conns[i], t);
                if (flush_tx(&conns[i]) < 0) reset_conn(&conns[i], t);
                outstanding += conns[i].inflight;
            }
            if (phase == 2 && (outstanding == 0 || t >= t_drain_end)) {
                st.lost += (uint64_t)outstanding;
                break;
            }
        }
    }
    for (int i = 0; i < cfg.conns; i++) close(conns[i].fd);

    double secs = (double)measured_ns / 1e9;
    printf("{\"fc\": %d, \"qty\": %d, \"conns\": %d, \"depth\": %d, \"seconds\": %.3f, "
           "\"rps\": %.1f, \"sent\": %llu, \"ok\": %llu, \"wrong\": %llu, \"lost\": %llu, "
           "\"stray\": %llu, \"out_of_order\": %llu, \"disconnects\": %llu, "
           "\"framing_errors\": %llu, \"window_ok\": %llu, \"lat_us_p50\": %.1f, "
           "\"lat_us_p99\": %.1f, \"lat_us_mean\": %.1f, \"lat_us_max\": %.1f}\n",
           cfg.fc, cfg.qty, cfg.conns, cfg.depth, secs, secs > 0 ? (double)st.window_ok / secs : 0.0,
           (unsigned long long)st.sent, (unsigned long long)st.ok, (unsigned long long)st.wrong,
           (unsigned long long)st.lost, (unsigned long long)st.stray,
           (unsigned long long)st.out_of_order, (unsigned long long)st.disconnects,
           (unsigned long long)st.framing_errors, (unsigned long long)st.window_ok,
           percentile(0.50), percentile(0.99),
           st.lat_n ? (double)st.lat_sum_ns / (double)st.lat_n / 1000.0 : 0.0,
           (double)st.lat_max_ns / 1000.0);
    return 0;
}
