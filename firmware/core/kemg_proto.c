#include "kemg_proto.h"

#include <string.h>

uint16_t kemg_crc16(const uint8_t *data, size_t len) {
    uint16_t crc = 0xFFFFu;
    for (size_t i = 0; i < len; i++) {
        crc ^= (uint16_t)((uint16_t)data[i] << 8);
        for (int b = 0; b < 8; b++) {
            crc = (crc & 0x8000u) ? (uint16_t)((crc << 1) ^ 0x1021u) : (uint16_t)(crc << 1);
        }
    }
    return crc;
}

size_t kemg_cobs_encode(const uint8_t *in, size_t len, uint8_t *out, size_t out_cap) {
    size_t code_at = 0, o = 1;
    uint8_t code = 1;
    if (out_cap < 1) return 0;
    for (size_t i = 0; i < len; i++) {
        if (in[i] == 0) {
            out[code_at] = code;
            code_at = o++;
            code = 1;
            if (o > out_cap) return 0;
        } else {
            if (o >= out_cap) return 0;
            out[o++] = in[i];
            if (++code == 0xFF) {
                out[code_at] = code;
                code_at = o++;
                code = 1;
                if (o > out_cap) return 0;
            }
        }
    }
    out[code_at] = code;
    return o;
}

size_t kemg_cobs_decode(const uint8_t *in, size_t len, uint8_t *out, size_t out_cap) {
    size_t i = 0, o = 0;
    while (i < len) {
        uint8_t code = in[i];
        if (code == 0 || i + code > len) return (size_t)-1;
        for (size_t k = 1; k < code; k++) {
            if (in[i + k] == 0 || o >= out_cap) return (size_t)-1;
            out[o++] = in[i + k];
        }
        i += code;
        if (code < 0xFF && i < len) {
            if (o >= out_cap) return (size_t)-1;
            out[o++] = 0;
        }
    }
    return o;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static uint32_t get32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static size_t finish(uint8_t *out, size_t body, size_t out_cap) {
    if (body + KEMG_CRC_BYTES > out_cap) return 0;
    put16(out + body, kemg_crc16(out, body));
    return body + KEMG_CRC_BYTES;
}

size_t kemg_pack_data(uint8_t *out, size_t out_cap, uint64_t first_sample, uint32_t timestamp_us,
                      uint16_t status, uint8_t fmt, const int32_t *counts, uint16_t n_samples,
                      uint8_t n_channels) {
    size_t nb = fmt == KEMG_FMT_S24 ? 3u : 2u;
    size_t n = (size_t)n_samples * n_channels;
    size_t body = KEMG_DATA_HEADER + n * nb;
    int32_t lo = fmt == KEMG_FMT_S24 ? -8388608 : -32768, hi = fmt == KEMG_FMT_S24 ? 8388607 : 32767;
    if (n_channels == 0 || n_channels > 64 || body + KEMG_CRC_BYTES > out_cap) return 0;
    out[0] = KEMG_VERSION;
    out[1] = KEMG_T_DATA;
    out[2] = n_channels;
    out[3] = fmt;
    put16(out + 4, n_samples);
    put16(out + 6, status);
    put32(out + 8, (uint32_t)first_sample);
    put32(out + 12, (uint32_t)(first_sample >> 32));
    put32(out + 16, timestamp_us);
    for (size_t i = 0; i < n; i++) {
        int32_t v = counts[i];
        if (v < lo || v > hi) return 0;
        uint32_t u = (uint32_t)v;
        for (size_t b = 0; b < nb; b++) out[KEMG_DATA_HEADER + i * nb + b] = (uint8_t)(u >> (8 * b));
    }
    return finish(out, body, out_cap);
}

size_t kemg_pack_info(uint8_t *out, size_t out_cap, float fs_hz, float uv_per_count, uint32_t device_id,
                      const uint8_t firmware[3], uint8_t fmt, uint8_t battery_pct, const char *const *labels,
                      uint8_t n_channels) {
    size_t body = KEMG_INFO_HEADER + (size_t)n_channels * KEMG_LABEL_BYTES;
    uint32_t bits;
    if (body + KEMG_CRC_BYTES > out_cap) return 0;
    out[0] = KEMG_VERSION;
    out[1] = KEMG_T_INFO;
    out[2] = n_channels;
    out[3] = fmt;
    memcpy(&bits, &fs_hz, 4);
    put32(out + 4, bits);
    memcpy(&bits, &uv_per_count, 4);
    put32(out + 8, bits);
    put32(out + 12, device_id);
    out[16] = firmware[0];
    out[17] = firmware[1];
    out[18] = firmware[2];
    out[19] = battery_pct;
    memset(out + 20, 0, 4); /* reserved, keeps labels 8-byte aligned */
    for (uint8_t c = 0; c < n_channels; c++) {
        uint8_t *p = out + KEMG_INFO_HEADER + (size_t)c * KEMG_LABEL_BYTES;
        memset(p, 0, KEMG_LABEL_BYTES);
        for (size_t k = 0; k < KEMG_LABEL_BYTES && labels[c][k]; k++) p[k] = (uint8_t)labels[c][k];
    }
    return finish(out, body, out_cap);
}

static int crc_ok(const uint8_t *frame, size_t len) {
    return len >= 2 + KEMG_CRC_BYTES && kemg_crc16(frame, len - KEMG_CRC_BYTES) == get16(frame + len - KEMG_CRC_BYTES);
}

int kemg_parse_command(const uint8_t *frame, size_t len, uint8_t *command, uint32_t *argument) {
    if (len != KEMG_COMMAND_BYTES || !crc_ok(frame, len) || frame[0] != KEMG_VERSION || frame[1] != KEMG_T_COMMAND) return -1;
    if (frame[2] < KEMG_CMD_START || frame[2] > KEMG_CMD_REQUEST_INFO) return -1;
    *command = frame[2];
    *argument = get32(frame + 4);
    return 0;
}

int kemg_parse_data_header(const uint8_t *frame, size_t len, uint8_t *n_channels, uint8_t *fmt,
                           uint16_t *n_samples, uint16_t *status, uint64_t *first_sample, uint32_t *timestamp_us) {
    size_t nb;
    if (len < KEMG_DATA_HEADER + KEMG_CRC_BYTES || !crc_ok(frame, len)) return -1;
    if (frame[0] != KEMG_VERSION || frame[1] != KEMG_T_DATA || frame[2] == 0 || frame[3] > KEMG_FMT_S24) return -1;
    nb = frame[3] == KEMG_FMT_S24 ? 3u : 2u;
    if (len != KEMG_DATA_HEADER + (size_t)get16(frame + 4) * frame[2] * nb + KEMG_CRC_BYTES) return -1;
    *n_channels = frame[2];
    *fmt = frame[3];
    *n_samples = get16(frame + 4);
    *status = get16(frame + 6);
    *first_sample = (uint64_t)get32(frame + 8) | ((uint64_t)get32(frame + 12) << 32);
    *timestamp_us = get32(frame + 16);
    return 0;
}

uint16_t kemg_samples_per_notification(uint16_t mtu, uint8_t n_channels, uint8_t fmt) {
    int room = (int)mtu - 3 - (int)KEMG_DATA_HEADER - (int)KEMG_CRC_BYTES;
    int per = (int)n_channels * (fmt == KEMG_FMT_S24 ? 3 : 2);
    return (uint16_t)(room > 0 && per > 0 ? room / per : 0);
}
