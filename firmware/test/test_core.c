/* Host unit tests of the firmware's portable core: the shared protocol vectors (vectors.h,
 * generated with frames.json), the ring buffer's edge cases and a two-thread run, the
 * frame assembler, the BLE plan and the data and info packers' refusals. Prints "N passed, M failed"; exits 1 on failure. */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../core/kemg_frame.h"
#include "../core/kemg_proto.h"
#include "../core/kemg_ring.h"
#include "vectors.h"

static int passed, failed;

#define CHECK(cond, name)                                                      \
    do {                                                                       \
        if (cond) {                                                            \
            passed++;                                                          \
        } else {                                                               \
            failed++;                                                          \
            fprintf(stderr, "FAIL %s: %s (line %d)\n", name, #cond, __LINE__); \
        }                                                                      \
    } while (0)

static uint8_t buf[4096], dec[4096];
static int32_t counts[4096];

/* buf filled with a byte no packer writes there, to see afterwards that a refusal wrote nothing. */
static void scribble(void) { memset(buf, 0xA5, sizeof buf); }

static int untouched(void) {
    int same = 1;
    for (size_t i = 0; i < sizeof buf; i++) same &= buf[i] == 0xA5;
    return same;
}

static void check_serial_form(const kemg_vector *v) {
    size_t n = kemg_cobs_encode(v->raw, v->raw_len, buf, sizeof buf);
    CHECK(n + 1 == v->serial_len && memcmp(buf, v->serial, n) == 0 && v->serial[n] == 0, v->name);
    CHECK(memchr(v->serial, 0, v->serial_len - 1) == NULL, v->name);
    n = kemg_cobs_decode(v->serial, v->serial_len - 1, dec, sizeof dec);
    CHECK(n == v->raw_len && memcmp(dec, v->raw, n) == 0, v->name);
}

static void test_vector(const kemg_vector *v) {
    kemg_data_header h;
    size_t n;
    switch (v->kind) {
    case V_COBS:
        n = kemg_cobs_encode(v->raw, v->raw_len, buf, sizeof buf);
        CHECK(n == v->serial_len && memcmp(buf, v->serial, n) == 0, v->name);
        n = kemg_cobs_decode(v->serial, v->serial_len, dec, sizeof dec);
        CHECK(n == v->raw_len && memcmp(dec, v->raw, n) == 0, v->name);
        CHECK(kemg_cobs_encode(v->raw, v->raw_len, buf, v->serial_len - 1) == 0, v->name); /* one byte short */
        break;
    case V_DATA:
        check_serial_form(v);
        memset(&h, 0, sizeof h);
        CHECK(kemg_parse_data(v->raw, v->raw_len, &h, counts, sizeof counts / sizeof counts[0]) == 0, v->name);
        CHECK(h.n_channels == v->n_channels && h.fmt == v->fmt && h.n_samples == v->n_samples && h.status == v->status, v->name);
        CHECK(h.first_sample == v->first_sample && h.timestamp_us == v->timestamp_us && h.lead_off_high == v->lead_off_high, v->name);
        CHECK(memcmp(counts, v->counts, sizeof(int32_t) * v->n_samples * v->n_channels) == 0, v->name);
        n = kemg_pack_data(buf, sizeof buf, &h, v->counts);
        CHECK(n == v->raw_len && memcmp(buf, v->raw, n) == 0, v->name);
        CHECK(kemg_pack_data(buf, v->raw_len - 1, &h, v->counts) == 0, v->name); /* buffer one byte short */
        break;
    case V_INFO:
        check_serial_form(v);
        {
            const uint8_t fw[3] = {(uint8_t)v->firmware[0], (uint8_t)v->firmware[1], (uint8_t)v->firmware[2]};
            n = kemg_pack_info(buf, sizeof buf, (float)v->fs_hz, (float)v->uv_per_count, (uint32_t)v->device_id, fw,
                               (uint8_t)v->fmt, (uint8_t)v->battery_pct, (uint32_t)v->session_id, v->labels, (uint8_t)v->n_channels);
            CHECK(n == v->raw_len && memcmp(buf, v->raw, n) == 0, v->name);
        }
        break;
    case V_COMMAND:
        check_serial_form(v);
        {
            uint8_t cmd = 0;
            uint32_t arg = 0;
            CHECK(kemg_parse_command(v->raw, v->raw_len, &cmd, &arg) == 0 && cmd == v->command && arg == v->argument, v->name);
            n = kemg_pack_command(buf, sizeof buf, (uint8_t)v->command, (uint32_t)v->argument);
            CHECK(n == v->raw_len && memcmp(buf, v->raw, n) == 0, v->name);
        }
        break;
    case V_FRAGMENTS: {
        const uint8_t *expect = v->frags;
        unsigned i;
        size_t joined = 0;
        for (i = 0; i < v->n_frags; i++) {
            n = kemg_fragment(v->raw, v->raw_len, (uint16_t)v->mtu, i, buf, sizeof buf);
            CHECK(n == v->frag_lens[i] && memcmp(buf, expect, n) == 0 && n <= v->mtu - 3, v->name);
            if (v->n_frags > 1) { /* reassemble: fragment payloads in order */
                memcpy(dec + joined, expect + KEMG_FRAGMENT_HEADER, v->frag_lens[i] - KEMG_FRAGMENT_HEADER);
                joined += v->frag_lens[i] - KEMG_FRAGMENT_HEADER;
            }
            expect += v->frag_lens[i];
        }
        CHECK(kemg_fragment(v->raw, v->raw_len, (uint16_t)v->mtu, i, buf, sizeof buf) == 0, v->name); /* past the last */
        if (v->n_frags > 1) CHECK(joined == v->raw_len && memcmp(dec, v->raw, joined) == 0, v->name);
        break;
    }
    default: { /* invalid: no parser accepts it */
        uint8_t cmd;
        uint32_t arg;
        CHECK(kemg_parse_data(v->raw, v->raw_len, &h, NULL, 0) != 0, v->name);
        CHECK(kemg_parse_command(v->raw, v->raw_len, &cmd, &arg) != 0, v->name);
    }
    }
}

static void test_crc_and_limits(void) {
    kemg_data_header h = {1, KEMG_FMT_S24, 1, 0, 0, 0, 0};
    int32_t too_big[1] = {8388608}, ok[1] = {5};
    int frag;
    CHECK(kemg_crc16((const uint8_t *)"123456789", 9) == 0x29B1, "crc check value");
    CHECK(kemg_pack_data(buf, sizeof buf, &h, too_big) == 0, "24-bit range");
    h.fmt = KEMG_FMT_S16;
    too_big[0] = 32768;
    CHECK(kemg_pack_data(buf, sizeof buf, &h, too_big) == 0, "16-bit range");
    h.lead_off_high = 1; /* a channel this 1-channel frame does not have */
    CHECK(kemg_pack_data(buf, sizeof buf, &h, ok) == 0, "lead-off extension needs more than 8 channels");
    h.lead_off_high = 0;
    h.status = 0x0002; /* lead-off of channel 1 in a 1-channel frame */
    CHECK(kemg_pack_data(buf, sizeof buf, &h, ok) == 0, "status: lead-off of a channel the frame does not have");
    h.status = KEMG_STATUS_LEAD_OFF_HIGH; /* channels 8-63, in a 1-channel frame */
    CHECK(kemg_pack_data(buf, sizeof buf, &h, ok) == 0, "status: lead-off of channels 8-63 needs more than 8 channels");
    h.status = 0x0800; /* reserved */
    CHECK(kemg_pack_data(buf, sizeof buf, &h, ok) == 0, "status: a reserved bit");
    h.status = 0x0301; /* channel 0, saturation, battery low */
    CHECK(kemg_pack_data(buf, sizeof buf, &h, ok) != 0, "status: the bits a 1-channel frame has");
    h.status = 0;
    {
        kemg_data_header w = {64, KEMG_FMT_S16, 0, KEMG_STATUS_LEAD_OFF_HIGH, 1ull << 56, 0, 0}; /* channel 64 */
        CHECK(kemg_pack_data(buf, sizeof buf, &w, ok) == 0, "64 channels: lead-off of channel 64 or above");
        w.lead_off_high = 1ull << 55; /* channel 63 */
        CHECK(kemg_pack_data(buf, sizeof buf, &w, ok) == 29, "64 channels: lead-off of channel 63");
    }
    h.n_channels = 65;
    CHECK(kemg_pack_data(buf, sizeof buf, &h, ok) == 0, "at most 64 channels");
    CHECK(kemg_data_header_size(8) == 20 && kemg_data_header_size(9) == 21 && kemg_data_header_size(64) == 27, "header sizes");
    CHECK(kemg_samples_per_notification(247, 1, KEMG_FMT_S24) == 74, "mtu 247 1ch");
    CHECK(kemg_samples_per_notification(247, 2, KEMG_FMT_S24) == 37, "mtu 247 2ch");
    CHECK(kemg_samples_per_notification(247, 8, KEMG_FMT_S24) == 9, "mtu 247 8ch");
    CHECK(kemg_samples_per_notification(247, 8, KEMG_FMT_S16) == 13, "mtu 247 8ch s16");
    CHECK(kemg_samples_per_notification(517, 1, KEMG_FMT_S24) == 74, "a larger mtu keeps frames of the 247 size");
    CHECK(kemg_samples_per_notification(23, 1, KEMG_FMT_S24) == 0, "mtu 23 holds no whole frame");
    CHECK(kemg_ble_plan(247, 2, KEMG_FMT_S24, &frag) == 37 && !frag, "plan 247");
    CHECK(kemg_ble_plan(185, 2, KEMG_FMT_S24, &frag) == 26 && !frag, "plan 185");
    CHECK(kemg_ble_plan(23, 2, KEMG_FMT_S24, &frag) == 37 && frag, "plan 23 fragments");
    CHECK(kemg_ble_plan(23, 64, KEMG_FMT_S24, &frag) == 1 && frag, "plan 23 64ch");
    CHECK(kemg_ble_plan(22, 2, KEMG_FMT_S24, &frag) == 0, "below the BLE minimum");
}

/* The data packer checks every field and sample before it writes: a refusal leaves out as it was. */
static int packs_no_data(const kemg_data_header *h, const int32_t *values, size_t cap) {
    size_t n;
    scribble();
    n = kemg_pack_data(buf, cap, h, values);
    return n == 0 && untouched();
}

static void test_data_refusals(void) {
    int32_t values[3 * 12];
    size_t full = KEMG_DATA_HEADER + 1 + 3 * 12 * 3 + KEMG_CRC_BYTES; /* 12 channels: one lead-off extension byte */
    kemg_data_header h = {12, KEMG_FMT_S24, 3, KEMG_STATUS_LEAD_OFF_HIGH, 0x8, 77, 1000};
    for (int i = 0; i < 3 * 12; i++) values[i] = (i % 2 ? -1 : 1) * 1000 * i;
    CHECK(kemg_pack_data(buf, sizeof buf, &h, values) == full, "data: valid 12 channels");
    values[3 * 12 - 1] = 8388608; /* the last sample, after the header and all the others would be written */
    CHECK(packs_no_data(&h, values, sizeof buf), "data: last sample above the 24-bit range");
    values[3 * 12 - 1] = 0;
    values[13] = -8388609;
    CHECK(packs_no_data(&h, values, sizeof buf), "data: a sample below the 24-bit range");
    values[13] = 32768;
    h.fmt = KEMG_FMT_S16;
    CHECK(packs_no_data(&h, values, sizeof buf), "data: a sample above the 16-bit range");
    values[13] = 0;
    CHECK(packs_no_data(&h, values, KEMG_DATA_HEADER + 1 + 3 * 12 * 2 + KEMG_CRC_BYTES - 1), "data: buffer one byte short");
    CHECK(packs_no_data(&h, NULL, sizeof buf), "data: no samples given");
    h.lead_off_high = 0x10; /* channel 12 of 0-11 */
    CHECK(packs_no_data(&h, values, sizeof buf), "data: lead-off of a channel the frame does not have");
    h.lead_off_high = 0;
    h.fmt = 2;
    CHECK(packs_no_data(&h, values, sizeof buf), "data: unknown format");
    h.fmt = KEMG_FMT_S16;
    h.n_channels = 0;
    CHECK(packs_no_data(&h, values, sizeof buf), "data: no channel");
    CHECK(kemg_pack_data(buf, sizeof buf, &(kemg_data_header){1, KEMG_FMT_S16, 0, 0, 0, 0, 0}, NULL) ==
              KEMG_DATA_HEADER + KEMG_CRC_BYTES, "data: no sample and no samples given");
}

/* The info packer refuses what the host's encoder refuses (kneeemg.protocol _check_info),
 * writing nothing, and writes labels as the host does. */
static const uint8_t fw_ok[3] = {1, 2, 3};
static const char *const two_labels[2] = {"left", "right"};

static int packs_nothing(float fs, float upc, const uint8_t *fw, uint8_t fmt, uint8_t batt, const char *const *labels,
                         uint8_t nch, size_t cap) {
    size_t n;
    scribble();
    n = kemg_pack_info(buf, cap, fs, upc, 7u, fw, fmt, batt, 1u, labels, nch);
    return n == 0 && untouched();
}

static void test_info_limits(void) {
    const char *many[65];
    const char *with_null[2] = {"left", NULL};
    const char *odd[3] = {"\xC3\x84-links1234", "RF_LONG_LABEL", ""}; /* "Ä-links1234": non-ASCII, long; empty */
    size_t full = KEMG_INFO_HEADER + 2 * KEMG_LABEL_BYTES + KEMG_CRC_BYTES, n;
    for (int c = 0; c < 65; c++) many[c] = "ch";
    CHECK(kemg_pack_info(buf, sizeof buf, 1000.0f, 0.05f, 7u, fw_ok, KEMG_FMT_S24, 100, 1u, two_labels, 2) == full, "info: valid");
    CHECK(kemg_pack_info(buf, sizeof buf, 1000.0f, 0.05f, 7u, fw_ok, KEMG_FMT_S24, 0, 1u, many, 64) ==
              KEMG_INFO_HEADER + 64 * KEMG_LABEL_BYTES + KEMG_CRC_BYTES, "info: 64 channels, battery 0 %");
    CHECK(packs_nothing(1000.0f, 0.05f, fw_ok, KEMG_FMT_S24, 100, two_labels, 2, full - 1), "info: buffer one byte short");
    CHECK(packs_nothing(1000.0f, 0.05f, fw_ok, KEMG_FMT_S24, 100, two_labels, 0, sizeof buf), "info: no channel");
    CHECK(packs_nothing(1000.0f, 0.05f, fw_ok, KEMG_FMT_S24, 100, many, 65, sizeof buf), "info: 65 channels");
    CHECK(packs_nothing(1000.0f, 0.05f, fw_ok, KEMG_FMT_S24, 100, NULL, 2, sizeof buf), "info: no labels");
    CHECK(packs_nothing(1000.0f, 0.05f, fw_ok, KEMG_FMT_S24, 100, with_null, 2, sizeof buf), "info: a NULL label");
    CHECK(packs_nothing(1000.0f, 0.05f, NULL, KEMG_FMT_S24, 100, two_labels, 2, sizeof buf), "info: no firmware version");
    CHECK(packs_nothing(1000.0f, 0.05f, fw_ok, 2, 100, two_labels, 2, sizeof buf), "info: unknown format");
    CHECK(packs_nothing(1000.0f, 0.05f, fw_ok, KEMG_FMT_S16, 101, two_labels, 2, sizeof buf), "info: battery above 100 %");
    {
        const float bad[] = {0.0f, -0.0f, -1000.0f, NAN, INFINITY, -INFINITY, 3e38f, 3.4e38f};
        int fs_refused = 1, scale_refused = 1;
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            fs_refused &= packs_nothing(bad[i], 0.05f, fw_ok, KEMG_FMT_S24, 100, two_labels, 2, sizeof buf);
            scale_refused &= packs_nothing(1000.0f, bad[i], fw_ok, KEMG_FMT_S24, 100, two_labels, 2, sizeof buf);
        }
        CHECK(fs_refused, "info: rate 0, negative, NaN, infinite or from 3e38 Hz");
        CHECK(scale_refused, "info: scale 0, negative, NaN, infinite or from 3e38 uV per count");
        CHECK(kemg_pack_info(buf, sizeof buf, 2.9e38f, 1e-30f, 7u, fw_ok, KEMG_FMT_S24, 100, 1u, two_labels, 2) == full,
              "info: a rate just below 3e38 and a tiny scale");
    }
    n = kemg_pack_info(buf, sizeof buf, 1000.0f, 0.05f, 7u, fw_ok, KEMG_FMT_S24, 100, 1u, odd, 3);
    CHECK(n == KEMG_INFO_HEADER + 3 * KEMG_LABEL_BYTES + KEMG_CRC_BYTES &&
              memcmp(buf + KEMG_INFO_HEADER, "?-links1RF_LONG_\0\0\0\0\0\0\0\0", 24) == 0,
          "info: labels as the host writes them (non-ASCII as '?', cut at 8 bytes, zero-padded)");
}

static kemg_sample_set make_set(uint64_t index, int32_t value) {
    kemg_sample_set s;
    memset(&s, 0, sizeof s);
    s.index = index;
    s.timestamp_us = (uint32_t)(index * 1000u);
    s.counts[0] = value;
    s.counts[1] = -value;
    return s;
}

static void test_ring(void) {
    kemg_sample_set storage[8], out[16], s;
    kemg_ring r;
    CHECK(kemg_ring_init(&r, storage, 6) == -1, "ring capacity power of two");
    CHECK(kemg_ring_init(&r, NULL, 8) == -1, "ring needs storage");
    CHECK(kemg_ring_init(&r, storage, 8) == 0, "ring init");
    CHECK(kemg_ring_pop(&r, out, 4) == 0 && kemg_ring_count(&r) == 0, "ring empty");
    r.head = r.tail = UINT32_MAX - 10; /* the free-running counters wrap during the rounds below */
    for (int round = 0; round < 6; round++) {
        for (int i = 0; i < 5; i++) {
            s = make_set((uint64_t)(round * 100 + i), round * 100 + i);
            CHECK(kemg_ring_push(&r, &s) == 0, "ring push");
        }
        CHECK(kemg_ring_count(&r) == 5, "ring count");
        CHECK(kemg_ring_pop(&r, out, 3) == 3 && out[0].counts[0] == round * 100 && out[2].counts[1] == -(round * 100 + 2), "ring pop order");
        CHECK(kemg_ring_pop(&r, out, 8) == 2 && out[0].index == (uint64_t)(round * 100 + 3), "ring pop rest");
        CHECK(kemg_ring_pop(&r, out, 8) == 0, "ring empty again");
    }
    for (int i = 0; i < 8; i++) {
        s = make_set((uint64_t)i, i);
        CHECK(kemg_ring_push(&r, &s) == 0, "ring fills every slot");
    }
    CHECK(kemg_ring_push(&r, &s) == -1 && r.dropped == 1 && kemg_ring_count(&r) == 8, "ring full drops and counts");
    CHECK(kemg_ring_pop(&r, out, 16) == 8 && out[7].index == 7, "ring full pops all");
}

/* Two threads: the producer pushes 200000 numbered sets (skipping when full, as the ISR
 * does), the consumer checks they come out in order with nothing torn or repeated. */
#define STRESS_N 200000u
static kemg_ring stress_ring;
static kemg_sample_set stress_storage[64];
static int stress_done;

static void *producer(void *arg) {
    (void)arg;
    for (uint32_t i = 0; i < STRESS_N; i++) {
        kemg_sample_set s = make_set(i, (int32_t)i);
        kemg_ring_push(&stress_ring, &s);
    }
    __atomic_store_n(&stress_done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void test_ring_two_threads(void) {
    pthread_t t;
    kemg_sample_set out[16];
    uint64_t seen = 0, last = 0;
    int ordered = 1, intact = 1, first = 1;
    kemg_ring_init(&stress_ring, stress_storage, 64);
    if (pthread_create(&t, NULL, producer, NULL) != 0) {
        CHECK(0, "ring stress: thread");
        return;
    }
    for (;;) {
        int done = __atomic_load_n(&stress_done, __ATOMIC_ACQUIRE); /* read before popping: no set is missed */
        uint32_t n = kemg_ring_pop(&stress_ring, out, 16);
        for (uint32_t k = 0; k < n; k++) {
            if (!first && out[k].index <= last) ordered = 0;
            if (out[k].counts[0] != (int32_t)out[k].index || out[k].counts[1] != -(int32_t)out[k].index ||
                out[k].timestamp_us != (uint32_t)(out[k].index * 1000u)) intact = 0;
            last = out[k].index;
            first = 0;
            seen++;
        }
        if (done && n == 0) break;
    }
    pthread_join(t, NULL);
    CHECK(ordered && intact, "ring stress: in order and intact");
    CHECK(seen + stress_ring.dropped == STRESS_N && seen > 0, "ring stress: every set popped or counted as dropped");
}

static void test_assembler(void) {
    kemg_assembler a;
    kemg_data_header h;
    kemg_sample_set s;
    size_t n, frames = 0;
    uint64_t expect_first[] = {0, 4, 8, 14};
    int ok = 1;
    CHECK(kemg_asm_init(&a, 0, KEMG_FMT_S24, 4) == -1, "asm needs channels");
    CHECK(kemg_asm_init(&a, 2, KEMG_FMT_S24, 200) == -1, "asm frame too large");
    CHECK(kemg_asm_init(&a, 2, KEMG_FMT_S24, 4) == 0, "asm init");
    CHECK(kemg_asm_frame_bytes(&a) == 20 + 4 * 2 * 3 + 2, "asm frame bytes");
    /* 0-11 continuous, then 12-13 lost */
    uint64_t indices[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 14, 15, 16, 17, 18, 19};
    for (size_t i = 0; i < sizeof indices / sizeof indices[0]; i++) {
        s = make_set(indices[i], (int32_t)indices[i]);
        if (indices[i] == 5) s.status = 0x01; /* lead-off on channel 0 in the second frame */
        if (indices[i] == 9) s.counts[1] = -9000000; /* beyond 24 bits: clipped, saturation */
        n = kemg_asm_add(&a, &s, buf, sizeof buf);
        if (n) {
            if (kemg_parse_data(buf, n, &h, counts, sizeof counts / sizeof counts[0]) != 0) ok = 0;
            else if (frames == 0 && (h.status != 0 || h.timestamp_us != 0)) ok = 0;
            else if (frames == 1 && h.status != 0x01) ok = 0;
            else if (frames == 2 && (h.status != KEMG_STATUS_SATURATION || counts[3] != -8388608 || h.timestamp_us != 8000)) ok = 0;
            if (frames < 4 && (h.first_sample != expect_first[frames] || h.n_samples != 4)) ok = 0;
            frames++;
        }
    }
    /* frames: [0-3] [4-7] [8-11] complete; 14.. starts after the gap 12-13 */
    CHECK(ok && frames == 4, "asm frames, status, saturation, timestamps");
    n = kemg_asm_flush(&a, buf, sizeof buf);
    CHECK(n && kemg_parse_data(buf, n, &h, NULL, 0) == 0 && h.first_sample == 18 && h.n_samples == 2, "asm flush partial");
    CHECK(kemg_asm_flush(&a, buf, sizeof buf) == 0, "asm flush when empty");
    CHECK(a.gaps == 1, "asm counts the gap");
    /* a gap in the middle of a frame closes it early */
    kemg_asm_init(&a, 2, KEMG_FMT_S16, 4);
    s = make_set(0, 1);
    CHECK(kemg_asm_add(&a, &s, buf, sizeof buf) == 0, "asm partial");
    s = make_set(7, 40000); /* lost 1-6; 40000 is beyond 16 bits */
    n = kemg_asm_add(&a, &s, buf, sizeof buf);
    CHECK(n && kemg_parse_data(buf, n, &h, counts, 64) == 0 && h.first_sample == 0 && h.n_samples == 1 && h.status == 0, "asm gap closes frame");
    n = kemg_asm_flush(&a, buf, sizeof buf);
    CHECK(n && kemg_parse_data(buf, n, &h, counts, 64) == 0 && h.first_sample == 7 && counts[0] == 32767 && counts[1] == -32768 &&
              h.status == KEMG_STATUS_SATURATION, "asm new frame after gap, clipped to 16 bits");
    CHECK(kemg_asm_set_samples_per_frame(&a, 2) == 0 && kemg_asm_frame_bytes(&a) == 20 + 2 * 2 * 2 + 2, "asm resize");
}

int main(void) {
    for (unsigned i = 0; i < N_VECTORS; i++) test_vector(&VECTORS[i]);
    test_crc_and_limits();
    test_data_refusals();
    test_info_limits();
    test_ring();
    test_ring_two_threads();
    test_assembler();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
