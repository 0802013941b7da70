/* kneeemg-sensor-sim: the sensor's protocol core on the host, streaming as the device would.
 *
 *   kneeemg-sensor-sim [--fd N | --tty PATH] [--input FILE] [--fs HZ] [--channels C]
 *                      [--seconds S] [--speed X] [--uv-per-count F] [--samples-per-frame N]
 *                      [--drop P] [--corrupt P] [--duplicate P] [--reorder P] [--seed S]
 *
 * Like the device, it waits for the host's START command (answering info requests), then
 * sends an info frame and data frames (COBS-framed, zero-delimited) of either the raw int32
 * counts in FILE (interleaved, little-endian) or a generated signal (noise with bursts). --speed 1 paces in real time, 0 sends as fast as possible. Fault injection works
 * per frame: drop it, corrupt one byte, send it twice, or hold it back behind the next one.
 * Command frames from the host (request info, stop) are answered between frames. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../core/kemg_proto.h"

#define MAX_CH 8
#define MAX_FRAME 1024

static uint64_t rng_state = 88172645463325252ULL;
static double rnd(void) { /* xorshift64*, uniform in [0, 1) */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double)((rng_state * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

static int out_fd = 1;

static int write_all(const uint8_t *p, size_t n) {
    while (n) {
        ssize_t k = write(out_fd, p, n);
        if (k < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            return -1;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static int send_frame(const uint8_t *frame, size_t len) {
    uint8_t enc[MAX_FRAME + MAX_FRAME / 254 + 2];
    size_t n = kemg_cobs_encode(frame, len, enc, sizeof enc);
    if (!n) return -1;
    enc[n++] = 0;
    return write_all(enc, n);
}

/* Read and handle command frames; returns the last command seen (0 if none). */
static int poll_commands(uint8_t *rx, size_t *rx_len, size_t cap, const uint8_t *info, size_t info_len) {
    uint8_t dec[256];
    int last = 0;
    ssize_t k = read(out_fd, rx + *rx_len, cap - *rx_len);
    if (k <= 0) return 0;
    *rx_len += (size_t)k;
    uint8_t *z;
    while ((z = memchr(rx, 0, *rx_len))) {
        size_t flen = (size_t)(z - rx), m = kemg_cobs_decode(rx, flen, dec, sizeof dec);
        uint8_t cmd;
        uint32_t arg;
        if (m != (size_t)-1 && kemg_parse_command(dec, m, &cmd, &arg) == 0) {
            if (cmd == KEMG_CMD_REQUEST_INFO) send_frame(info, info_len);
            last = cmd;
        }
        memmove(rx, z + 1, *rx_len - flen - 1);
        *rx_len -= flen + 1;
    }
    if (*rx_len == cap) *rx_len = 0;
    return last;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    const char *input = NULL, *tty = NULL;
    double fs = 1000.0, seconds = 10.0, speed = 1.0, uv_per_count = 0.0715;
    double p_drop = 0, p_corrupt = 0, p_dup = 0, p_reorder = 0;
    int nch = 2, spf = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) { fprintf(stderr, "kneeemg-sensor-sim: %s needs a value\n", a); return 2; }
        if (!strcmp(a, "--fd")) out_fd = atoi(v);
        else if (!strcmp(a, "--tty")) tty = v;
        else if (!strcmp(a, "--input")) input = v;
        else if (!strcmp(a, "--fs")) fs = atof(v);
        else if (!strcmp(a, "--channels")) nch = atoi(v);
        else if (!strcmp(a, "--seconds")) seconds = atof(v);
        else if (!strcmp(a, "--speed")) speed = atof(v);
        else if (!strcmp(a, "--uv-per-count")) uv_per_count = atof(v);
        else if (!strcmp(a, "--samples-per-frame")) spf = atoi(v);
        else if (!strcmp(a, "--drop")) p_drop = atof(v);
        else if (!strcmp(a, "--corrupt")) p_corrupt = atof(v);
        else if (!strcmp(a, "--duplicate")) p_dup = atof(v);
        else if (!strcmp(a, "--reorder")) p_reorder = atof(v);
        else if (!strcmp(a, "--seed")) rng_state ^= (uint64_t)strtoull(v, NULL, 10) * 0x9E3779B97F4A7C15ULL + 1;
        else { fprintf(stderr, "kneeemg-sensor-sim: unknown option %s\n", a); return 2; }
        i++;
    }
    if (nch < 1 || nch > MAX_CH || fs <= 0) { fprintf(stderr, "kneeemg-sensor-sim: 1-%d channels and a positive rate\n", MAX_CH); return 2; }
    if (tty && (out_fd = open(tty, O_RDWR | O_NOCTTY)) < 0) { perror(tty); return 1; }
    if (!spf) spf = kemg_samples_per_notification(247, (uint8_t)nch, KEMG_FMT_S24);
    FILE *in = NULL;
    if (input && !(in = fopen(input, "rb"))) { perror(input); return 1; }
    int flags = fcntl(out_fd, F_GETFL);
    if (flags >= 0) fcntl(out_fd, F_SETFL, flags | O_NONBLOCK);

    static const char *legs[2] = {"left", "right"};
    static const char *numbered[MAX_CH] = {"ch0", "ch1", "ch2", "ch3", "ch4", "ch5", "ch6", "ch7"};
    const uint8_t fw[3] = {1, 0, 0};
    uint8_t info[MAX_FRAME], frame[MAX_FRAME], held[MAX_FRAME], rx[256];
    size_t info_len = kemg_pack_info(info, sizeof info, (float)fs, (float)uv_per_count, 0x51u, fw, KEMG_FMT_S24, 95,
                                     nch == 2 ? legs : numbered, (uint8_t)nch);
    size_t held_len = 0, rx_len = 0;
    for (;;) { /* wait for START, as the device does */
        int cmd = poll_commands(rx, &rx_len, sizeof rx, info, info_len);
        if (cmd == KEMG_CMD_START) break;
        if (cmd == KEMG_CMD_STOP) return 0;
        struct timespec nap = {0, 2000000};
        nanosleep(&nap, NULL);
    }
    if (send_frame(info, info_len)) return 1;
    int32_t counts[MAX_FRAME];
    uint64_t first = 0, total = (uint64_t)(seconds * fs);
    double t0 = now_s(), burst_until = -1, burst_amp = 0;
    int running = 1;
    while (running && (in || first < total)) {
        int n = 0;
        for (; n < spf; n++) {
            if (in) {
                if (fread(&counts[n * nch], sizeof(int32_t), (size_t)nch, in) != (size_t)nch) { running = 0; break; }
            } else {
                double t = (double)(first + (uint64_t)n) / fs;
                if (t > burst_until && rnd() < 0.2 / fs) { burst_until = t + 0.05 + rnd(); burst_amp = 300 + 2000 * rnd(); }
                for (int c = 0; c < nch; c++) {
                    double x = 45.0 * (rnd() + rnd() + rnd() - 1.5) * 2.0;
                    if (t < burst_until && c == 0) x += burst_amp * (rnd() - 0.5) * 2.0;
                    counts[n * nch + c] = (int32_t)lround(x);
                }
            }
        }
        if (n == 0) break;
        uint32_t ts = (uint32_t)((double)first / fs * 1e6);
        size_t len = kemg_pack_data(frame, sizeof frame, first, ts, 0, KEMG_FMT_S24, counts, (uint16_t)n, (uint8_t)nch);
        if (!len) { fprintf(stderr, "kneeemg-sensor-sim: a sample is outside the 24-bit range\n"); return 1; }
        first += (uint64_t)n;
        if (speed > 0) {
            double due = t0 + (double)first / fs / speed, wait = due - now_s();
            if (wait > 0) { struct timespec ts2 = {(time_t)wait, (long)((wait - (time_t)wait) * 1e9)}; nanosleep(&ts2, NULL); }
        }
        if (rnd() < p_drop) continue;
        if (rnd() < p_corrupt) frame[KEMG_DATA_HEADER + (size_t)(rnd() * (double)(len - KEMG_DATA_HEADER - 2))] ^= 0x5A;
        if (!held_len && rnd() < p_reorder) { memcpy(held, frame, len); held_len = len; continue; }
        if (send_frame(frame, len)) return 1;
        if (held_len) { if (send_frame(held, held_len)) return 1; held_len = 0; }
        if (rnd() < p_dup && send_frame(frame, len)) return 1;
        if (poll_commands(rx, &rx_len, sizeof rx, info, info_len) == KEMG_CMD_STOP) running = 0;
    }
    if (held_len) send_frame(held, held_len);
    return 0;
}
