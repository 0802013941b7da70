/* kneeemg-sensor-sim: the sensor's portable core on the host, streaming as the device does.
 *
 *   kneeemg-sensor-sim [--tty PATH | --fd N] [--input FILE] [--fs HZ] [--channels C]
 *       [--uv-per-count F] [--seconds S] [--speed X] [--mtu M | --samples-per-frame N]
 *       [--autostart] [--drop P] [--corrupt P] [--duplicate P] [--reorder P]
 *       [--overrun P] [--garbage P] [--seed S] [--log FILE]
 *
 * Samples come from FILE (raw little-endian int32 counts, interleaved by channel) or, without
 * --input, from a generated signal (noise with occasional bursts on channel 0) lasting
 * --seconds (0: until stopped). Like the device it sends an info frame at once, answers
 * REQUEST_INFO at any time, and streams after START (--autostart: at once); STOP or the end
 * of the input ends the program. Sample sets go through the same ring buffer and frame
 * assembler as on the device, then COBS framing. --speed 1 paces in real time, 0 sends as
 * fast as the reader takes it. Output goes to the tty PATH (set to raw mode), to fd N, or to
 * stdout (commands then come from stdin).
 *
 * Fault injection, each decided per frame with the seeded generator: --drop (not sent),
 * --corrupt (one sample byte flipped, so the CRC fails), --duplicate (sent twice), --reorder
 * (held back and sent after the next frame), --overrun (1 to 2 frames' worth of sample sets
 * lost before the ring, as when the ring is full: the frame counter exposes the gap),
 * --garbage (1-16 random bytes and a zero before the frame). --log FILE writes one line per
 * frame, "<first_sample> <n_samples> <fate>", fate one of sent, dropped, corrupted,
 * duplicated, reordered; and "<first_sample> <n_samples> overrun" per lost run. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "../core/kemg_frame.h"
#include "../core/kemg_proto.h"
#include "../core/kemg_ring.h"

#define MAX_FRAME 2048

static uint64_t rng_state = 88172645463325252ULL;
static double rnd(void) { /* xorshift64*, uniform in [0, 1) */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double)((rng_state * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

static int out_fd = 1, in_fd = 0;
static FILE *log_file;

static int write_all(const uint8_t *p, size_t n) {
    while (n) {
        ssize_t k = write(out_fd, p, n);
        if (k < 0) {
            struct pollfd pfd = {out_fd, POLLOUT, 0};
            if (errno == EINTR) continue;
            if (errno != EAGAIN) return -1;
            poll(&pfd, 1, 100);
            continue;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static int send_frame(const uint8_t *frame, size_t len) {
    uint8_t enc[MAX_FRAME + MAX_FRAME / 254 + 2];
    size_t n = kemg_cobs_encode(frame, len, enc, sizeof enc - 1);
    if (!n) return -1;
    enc[n++] = 0;
    return write_all(enc, n);
}

static void log_frame(const uint8_t *frame, size_t len, const char *fate) {
    kemg_data_header h;
    if (log_file && kemg_parse_data(frame, len, &h, NULL, 0) == 0)
        fprintf(log_file, "%llu %u %s\n", (unsigned long long)h.first_sample, (unsigned)h.n_samples, fate);
}

typedef struct {
    float fs_hz, uv_per_count;
    uint8_t n_channels;
    uint32_t session_id;
    uint8_t frame[256];
    size_t len;
} info_state;

static void pack_info(info_state *s) {
    static const char *legs[2] = {"left", "right"};
    static const char *numbered[KEMG_RING_MAX_CHANNELS] = {"ch0", "ch1", "ch2", "ch3", "ch4", "ch5", "ch6", "ch7"};
    const uint8_t fw[3] = {1, 1, 0};
    s->len = kemg_pack_info(s->frame, sizeof s->frame, s->fs_hz, s->uv_per_count, 0x51u, fw, KEMG_FMT_S24, 95, s->session_id,
                            s->n_channels == 2 ? legs : numbered, s->n_channels);
}

/* A rate the ADS1292R runs at: 125 Hz times a power of two, up to 8 kHz (as rate_code() in main.cpp). */
static int is_ads_rate(uint32_t hz) {
    for (int k = 0; k <= 6; k++)
        if (hz == (125u << k)) return 1;
    return 0;
}

/* Read host commands (COBS frames); answers REQUEST_INFO and SET_RATE (when idle) itself and
 * returns START or STOP when one arrived, 0 otherwise, -1 when the link is gone. */
static int poll_commands(uint8_t *rx, size_t *rx_len, size_t cap, info_state *info, int streaming) {
    uint8_t dec[64];
    int result = 0;
    ssize_t k = read(in_fd, rx + *rx_len, cap - *rx_len);
    if (k == 0 && in_fd != 0) return -1;
    if (k < 0) return (errno == EAGAIN || errno == EINTR || errno == EIO) ? 0 : -1; /* EIO: a pty whose other end is not open yet */
    if (k <= 0) return 0;
    *rx_len += (size_t)k;
    uint8_t *z;
    while ((z = memchr(rx, 0, *rx_len))) {
        size_t flen = (size_t)(z - rx), m = kemg_cobs_decode(rx, flen, dec, sizeof dec);
        uint8_t cmd;
        uint32_t arg;
        if (m != (size_t)-1 && kemg_parse_command(dec, m, &cmd, &arg) == 0) {
            if (cmd == KEMG_CMD_SET_RATE && !streaming && is_ads_rate(arg)) {
                info->fs_hz = (float)arg;
                pack_info(info);
            }
            if (cmd == KEMG_CMD_REQUEST_INFO || cmd == KEMG_CMD_SET_RATE) send_frame(info->frame, info->len);
            if (cmd == KEMG_CMD_START || cmd == KEMG_CMD_STOP) result = cmd;
        }
        memmove(rx, z + 1, *rx_len - flen - 1);
        *rx_len -= flen + 1;
    }
    if (*rx_len == cap) *rx_len = 0; /* garbage without a delimiter */
    return result;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct {
    double p_drop, p_corrupt, p_dup, p_reorder, p_garbage, speed, fs;
    uint8_t n_channels;
    double t0;
    size_t held_len;
    uint8_t held[MAX_FRAME];
} faults;

/* Pace, inject faults, and send one data frame; -1 when the link is gone. */
static int emit(faults *f, uint8_t *frame, size_t len) {
    kemg_data_header h;
    size_t hdr = kemg_data_header_size(f->n_channels);
    int dup;
    kemg_parse_data(frame, len, &h, NULL, 0);
    if (f->speed > 0) {
        double due = f->t0 + (double)(h.first_sample + h.n_samples) / f->fs / f->speed, wait = due - now_s();
        if (wait > 0) {
            struct timespec ts = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
            nanosleep(&ts, NULL);
        }
    }
    if (f->p_garbage > 0 && rnd() < f->p_garbage) {
        uint8_t junk[17];
        int m = 1 + (int)(rnd() * 16);
        for (int j = 0; j < m; j++) junk[j] = (uint8_t)(rnd() * 256);
        junk[m] = 0;
        if (write_all(junk, (size_t)m + 1)) return -1;
    }
    if (rnd() < f->p_drop) {
        log_frame(frame, len, "dropped");
        return 0;
    }
    if (rnd() < f->p_corrupt) {
        log_frame(frame, len, "corrupted");
        frame[hdr + (size_t)(rnd() * (double)(len - hdr - KEMG_CRC_BYTES))] ^= 0x5A;
        dup = 0;
    } else if (!f->held_len && rnd() < f->p_reorder) {
        log_frame(frame, len, "reordered");
        memcpy(f->held, frame, len);
        f->held_len = len;
        return 0;
    } else {
        dup = rnd() < f->p_dup;
        log_frame(frame, len, dup ? "duplicated" : "sent");
    }
    if (send_frame(frame, len) || (dup && send_frame(frame, len))) return -1;
    if (f->held_len) {
        if (send_frame(f->held, f->held_len)) return -1;
        f->held_len = 0;
    }
    return 0;
}

static int usage(const char *msg, const char *arg) {
    fprintf(stderr, "kneeemg-sensor-sim: %s%s (see the comment at the top of firmware/host/sensor_sim.c)\n", msg, arg ? arg : "");
    return 2;
}

/* The usage line for option `option`, which needs `what`, given `v`. */
static int usage_of(const char *option, const char *what, const char *v) {
    fprintf(stderr, "kneeemg-sensor-sim: %s needs %s, not %s (see the comment at the top of firmware/host/sensor_sim.c)\n",
            option, what, v);
    return 2;
}

/* A whole number from lo to hi, all of v (no "2x", no "abc"): 1, or 0 when it is not. */
static int whole(const char *v, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (end == v || *end || errno || x < lo || x > hi) return 0;
    *out = x;
    return 1;
}

/* A finite number, all of v: 1, or 0 when it is not. */
static int number(const char *v, double *out) {
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (end == v || *end || errno || !isfinite(x)) return 0;
    *out = x;
    return 1;
}

int main(int argc, char **argv) {
    const char *input = NULL, *tty = NULL, *log_path = NULL;
    double fs = 1000.0, seconds = 10.0, speed = 1.0, uv_per_count = 0.0715;
    double p_drop = 0, p_corrupt = 0, p_dup = 0, p_reorder = 0, p_overrun = 0, p_garbage = 0;
    int nch = 2, spf = 0, mtu = KEMG_BLE_FULL_MTU, autostart = 0, fd_given = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--autostart")) { autostart = 1; continue; }
        if (!v) return usage("a value is missing after ", a);
        long w = 0;
        double *p = NULL;
        if (!strcmp(a, "--fd")) {
            if (!whole(v, 0, INT_MAX, &w) || fcntl((int)w, F_GETFD) == -1) return usage("--fd is not an open file descriptor: ", v);
            out_fd = (int)w;
            fd_given = 1;
        }
        else if (!strcmp(a, "--tty")) tty = v;
        else if (!strcmp(a, "--input")) input = v;
        else if (!strcmp(a, "--log")) log_path = v;
        else if (!strcmp(a, "--channels") || !strcmp(a, "--samples-per-frame") || !strcmp(a, "--mtu")) {
            if (!whole(v, 0, 65535, &w)) return usage_of(a, "a whole number from 0 to 65535", v);
            *(!strcmp(a, "--channels") ? &nch : !strcmp(a, "--mtu") ? &mtu : &spf) = (int)w;
        }
        else if (!strcmp(a, "--seed")) {
            char *end;
            errno = 0;
            unsigned long long seed = strtoull(v, &end, 10);
            if (end == v || *end || errno || v[0] == '-') return usage("--seed must be a whole number, not ", v);
            rng_state ^= (uint64_t)seed * 0x9E3779B97F4A7C15ULL + 1;
        }
        else {
            p = !strcmp(a, "--fs") ? &fs : !strcmp(a, "--seconds") ? &seconds : !strcmp(a, "--speed") ? &speed
              : !strcmp(a, "--uv-per-count") ? &uv_per_count : !strcmp(a, "--drop") ? &p_drop
              : !strcmp(a, "--corrupt") ? &p_corrupt : !strcmp(a, "--duplicate") ? &p_dup
              : !strcmp(a, "--reorder") ? &p_reorder : !strcmp(a, "--overrun") ? &p_overrun
              : !strcmp(a, "--garbage") ? &p_garbage : NULL;
            if (!p) return usage("unknown option ", a);
            if (!number(v, p)) return usage_of(a, "a number", v);
        }
        i++;
    }
    if (nch < 1 || nch > (int)KEMG_RING_MAX_CHANNELS) return usage("--channels must be 1-8", NULL);
    if (!(p_drop >= 0 && p_drop <= 1 && p_corrupt >= 0 && p_corrupt <= 1 && p_dup >= 0 && p_dup <= 1 && p_reorder >= 0 &&
          p_reorder <= 1 && p_overrun >= 0 && p_overrun <= 1 && p_garbage >= 0 && p_garbage <= 1))
        return usage("--drop, --corrupt, --duplicate, --reorder, --overrun and --garbage are chances, from 0 to 1", NULL);
    if (!(fs > 0) || !(uv_per_count > 0) || speed < 0 || seconds < 0) return usage("--fs, --uv-per-count, --speed and --seconds must be positive", NULL);
    if (!spf) {
        int fragmented;
        spf = kemg_ble_plan((uint16_t)mtu, (uint8_t)nch, KEMG_FMT_S24, &fragmented);
        if (!spf) return usage("--mtu must be at least 23", NULL);
    }
    kemg_assembler as;
    if (kemg_asm_init(&as, (uint8_t)nch, KEMG_FMT_S24, (uint16_t)spf) != 0) return usage("--samples-per-frame is too large for the channels", NULL);
    info_state info = {(float)fs, (float)uv_per_count, (uint8_t)nch, (uint32_t)(rnd() * 4294967295.0), {0}, 0};
    pack_info(&info);
    if (!info.len) return usage("--fs and --uv-per-count must be below 3e38 and not round to 0 as float32", NULL);
    if (tty) {
        struct termios t;
        if ((out_fd = open(tty, O_RDWR | O_NOCTTY)) < 0) { perror(tty); return 1; }
        if (tcgetattr(out_fd, &t) == 0) { /* raw: bytes pass unchanged, no echo */
            t.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON | IXOFF);
            t.c_oflag &= ~(tcflag_t)OPOST;
            t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
            t.c_cflag = (t.c_cflag & ~(tcflag_t)(CSIZE | PARENB)) | CS8;
            tcsetattr(out_fd, TCSANOW, &t);
        }
    }
    if (tty || fd_given) in_fd = out_fd;
    FILE *in = NULL;
    if (input && !(in = fopen(input, "rb"))) { perror(input); return 1; }
    if (log_path && !(log_file = fopen(log_path, "w"))) { perror(log_path); return 1; }
    fcntl(out_fd, F_SETFL, fcntl(out_fd, F_GETFL) | O_NONBLOCK);
    if (in_fd != out_fd) fcntl(in_fd, F_SETFL, fcntl(in_fd, F_GETFL) | O_NONBLOCK);

    uint8_t rx[256];
    size_t rx_len = 0;
    if (send_frame(info.frame, info.len)) return 1;
    while (!autostart) { /* wait for START, as the device does */
        int cmd = poll_commands(rx, &rx_len, sizeof rx, &info, 0);
        if (cmd == KEMG_CMD_START) break;
        if (cmd == KEMG_CMD_STOP || cmd < 0) return 0;
        struct timespec nap = {0, 2000000};
        nanosleep(&nap, NULL);
    }
    if (send_frame(info.frame, info.len)) return 1;
    fs = info.fs_hz;

    static kemg_sample_set storage[1024], popped[64];
    kemg_ring ring;
    kemg_ring_init(&ring, storage, 1024);
    uint8_t frame[MAX_FRAME];
    faults f = {p_drop, p_corrupt, p_dup, p_reorder, p_garbage, speed, fs, (uint8_t)nch, 0, 0, {0}};
    uint64_t index = 0, total = (uint64_t)llround(seconds * fs), overrun_left = 0;
    double burst_until = -1, burst_amp = 0;
    f.t0 = now_s();
    int running = 1, eof = 0;
    while (running) {
        /* Producer: the sample sets of one frame's time, as the data-ready interrupt would push them. */
        for (int k = 0; k < spf && !eof; k++) {
            kemg_sample_set s;
            memset(&s, 0, sizeof s);
            if (in) {
                if (fread(s.counts, sizeof(int32_t), (size_t)nch, in) != (size_t)nch) { eof = 1; break; }
            } else {
                double t = (double)index / fs;
                if (total && index >= total) { eof = 1; break; }
                if (t > burst_until && rnd() < 0.2 / fs) { burst_until = t + 0.05 + rnd(); burst_amp = 300 + 2000 * rnd(); }
                for (int c = 0; c < nch; c++) {
                    double x = 90.0 * (rnd() + rnd() + rnd() - 1.5);
                    if (t < burst_until && c == 0) x += burst_amp * (rnd() - 0.5) * 2.0;
                    s.counts[c] = (int32_t)lround(x);
                }
            }
            s.index = index++;
            s.timestamp_us = (uint32_t)fmod((double)s.index / fs * 1e6, 4294967296.0); /* wraps as the device's clock does */
            if (!overrun_left && p_overrun > 0 && rnd() < p_overrun / spf) {
                overrun_left = 1 + (uint64_t)(rnd() * 2.0 * spf);
                if (log_file) fprintf(log_file, "%llu %llu overrun\n", (unsigned long long)s.index, (unsigned long long)overrun_left);
            }
            if (overrun_left) { /* lost before the ring, as when it is full; counted like the device counts them */
                overrun_left--;
                ring.dropped++;
                continue;
            }
            kemg_ring_push(&ring, &s);
        }
        /* Consumer: the streaming task pops sets and assembles frames. */
        uint32_t n;
        while ((n = kemg_ring_pop(&ring, popped, 64)) > 0) {
            for (uint32_t k = 0; k < n; k++) {
                size_t len = kemg_asm_add(&as, &popped[k], frame, sizeof frame);
                if (len && emit(&f, frame, len)) return 1;
            }
        }
        if (eof) {
            size_t len = kemg_asm_flush(&as, frame, sizeof frame);
            if (len && emit(&f, frame, len)) return 1;
            running = 0;
        }
        int cmd = poll_commands(rx, &rx_len, sizeof rx, &info, 1);
        if (cmd == KEMG_CMD_STOP || cmd < 0) running = 0;
    }
    if (f.held_len && send_frame(f.held, f.held_len)) return 1;
    if (log_file) fclose(log_file);
    return 0;
}
