/* Host unit tests of the firmware's portable core against the shared protocol vectors. */
#include <stdio.h>
#include <string.h>

#include "../core/kemg_proto.h"
#include "../core/kemg_ring.h"
#include "vectors.h"

static int passed, failed;

#define CHECK(cond, name)                                              \
    do {                                                               \
        if (cond) {                                                    \
            passed++;                                                  \
        } else {                                                       \
            failed++;                                                  \
            fprintf(stderr, "FAIL %s: %s (line %d)\n", name, #cond, __LINE__); \
        }                                                              \
    } while (0)

static void test_vector(const kemg_vector *v) {
    uint8_t buf[2048], dec[2048];
    size_t n;
    if (v->kind == 4) { /* COBS: raw = encoded, serial = decoded */
        n = kemg_cobs_encode(v->serial, v->serial_len, buf, sizeof buf);
        CHECK(n == v->raw_len && memcmp(buf, v->raw, n) == 0, v->name);
        n = kemg_cobs_decode(v->raw, v->raw_len, dec, sizeof dec);
        CHECK(n == v->serial_len && memcmp(dec, v->serial, n) == 0, v->name);
        return;
    }
    if (v->serial_len) { /* serial form: COBS of the frame, then a zero byte */
        n = kemg_cobs_encode(v->raw, v->raw_len, buf, sizeof buf);
        CHECK(n + 1 == v->serial_len && memcmp(buf, v->serial, n) == 0 && v->serial[n] == 0, v->name);
        n = kemg_cobs_decode(v->serial, v->serial_len - 1, dec, sizeof dec);
        CHECK(n == v->raw_len && memcmp(dec, v->raw, n) == 0, v->name);
    }
    if (v->kind == 1) {
        uint8_t nch, fmt;
        uint16_t ns, status;
        uint64_t first;
        uint32_t ts;
        CHECK(kemg_parse_data_header(v->raw, v->raw_len, &nch, &fmt, &ns, &status, &first, &ts) == 0, v->name);
        CHECK(nch == v->n_channels && fmt == v->fmt && ns == v->n_samples && status == v->status, v->name);
        CHECK(first == v->first_sample && ts == v->timestamp_us, v->name);
        n = kemg_pack_data(buf, sizeof buf, first, ts, (uint16_t)status, fmt, v->counts, ns, nch);
        CHECK(n == v->raw_len && memcmp(buf, v->raw, n) == 0, v->name);
    } else if (v->kind == 2) {
        const char *labels[] = {"VM", "RF_LONG_LABEL"};
        const uint8_t fw[3] = {1, 0, 3};
        n = kemg_pack_info(buf, sizeof buf, 1000.0f, 0.0715f, 0xC0FFEEu, fw, KEMG_FMT_S24, 87, labels, 2);
        CHECK(n == v->raw_len && memcmp(buf, v->raw, n) == 0, v->name);
    } else if (v->kind == 3) {
        uint8_t cmd;
        uint32_t arg;
        CHECK(kemg_parse_command(v->raw, v->raw_len, &cmd, &arg) == 0 && cmd == v->command && arg == v->argument, v->name);
    } else {
        uint8_t nch, fmt;
        uint16_t ns, status;
        uint64_t first;
        uint32_t ts;
        CHECK(kemg_parse_data_header(v->raw, v->raw_len, &nch, &fmt, &ns, &status, &first, &ts) != 0, v->name);
    }
}

static void test_crc_and_limits(void) {
    uint8_t buf[64];
    int32_t too_big[1] = {8388608};
    CHECK(kemg_crc16((const uint8_t *)"123456789", 9) == 0x29B1, "crc check value");
    CHECK(kemg_pack_data(buf, sizeof buf, 0, 0, 0, KEMG_FMT_S24, too_big, 1, 1) == 0, "24-bit range");
    CHECK(kemg_pack_data(buf, 10, 0, 0, 0, KEMG_FMT_S24, too_big, 1, 1) == 0, "small buffer");
    CHECK(kemg_samples_per_notification(247, 1, KEMG_FMT_S24) == 74, "mtu 247 1ch");
    CHECK(kemg_samples_per_notification(247, 8, KEMG_FMT_S24) == 9, "mtu 247 8ch");
    CHECK(kemg_samples_per_notification(23, 1, KEMG_FMT_S24) == 0, "mtu 23 cannot stream");
    CHECK(kemg_samples_per_notification(30, 1, KEMG_FMT_S16) == 2, "mtu 30 s16");
}

static void test_ring(void) {
    int32_t storage[8 * 2], in[2], out[16];
    kemg_ring r;
    CHECK(kemg_ring_init(&r, storage, 6, 2) == -1, "ring capacity power of two");
    CHECK(kemg_ring_init(&r, storage, 8, 2) == 0, "ring init");
    CHECK(kemg_ring_pop(&r, out, 4) == 0, "ring empty");
    for (int round = 0; round < 5; round++) { /* wraps around several times */
        for (int i = 0; i < 5; i++) {
            in[0] = round * 100 + i;
            in[1] = -in[0];
            CHECK(kemg_ring_push(&r, in) == 0, "ring push");
        }
        CHECK(kemg_ring_count(&r) == 5, "ring count");
        CHECK(kemg_ring_pop(&r, out, 3) == 3 && out[0] == round * 100 && out[5] == -(round * 100 + 2), "ring pop order");
        CHECK(kemg_ring_pop(&r, out, 8) == 2 && out[0] == round * 100 + 3, "ring pop rest");
    }
    for (int i = 0; i < 7; i++) kemg_ring_push(&r, in);
    CHECK(kemg_ring_push(&r, in) == -1 && r.dropped == 1, "ring full drops and counts");
    CHECK(kemg_ring_count(&r) == 7, "ring keeps one slot free");
}

int main(void) {
    for (unsigned i = 0; i < N_VECTORS; i++) test_vector(&VECTORS[i]);
    test_crc_and_limits();
    test_ring();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
