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

static int crc_ok(const uint8_t *frame, size_t len) {
    return len >= 2 + KEMG_CRC_BYTES && kemg_crc16(frame, len - KEMG_CRC_BYTES) == get16(frame + len - KEMG_CRC_BYTES);
}

static size_t lead_off_ext_bytes(uint8_t n_channels) {
    return n_channels > 8 ? ((size_t)n_channels + 7u) / 8u - 1u : 0u;
}

size_t kemg_data_header_size(uint8_t n_channels) { return KEMG_DATA_HEADER + lead_off_ext_bytes(n_channels); }

static size_t bytes_per_sample(uint8_t fmt) { return fmt == KEMG_FMT_S24 ? 3u : 2u; }

/* The n counts (NULL only if n is 0) all fit the sample format. */
static int samples_fit(const int32_t *counts, size_t n, uint8_t fmt) {
    int32_t lo = fmt == KEMG_FMT_S24 ? -8388608 : -32768, hi = fmt == KEMG_FMT_S24 ? 8388607 : 32767;
    if (n && !counts) return 0;
    for (size_t i = 0; i < n; i++)
        if (counts[i] < lo || counts[i] > hi) return 0;
    return 1;
}

size_t kemg_pack_data(uint8_t *out, size_t out_cap, const kemg_data_header *h, const int32_t *counts) {
    size_t nb = bytes_per_sample(h->fmt), hdr = kemg_data_header_size(h->n_channels);
    size_t n = (size_t)h->n_samples * h->n_channels, ext = lead_off_ext_bytes(h->n_channels);
    size_t body = hdr + n * nb;
    if (h->n_channels == 0 || h->n_channels > KEMG_MAX_CHANNELS || h->fmt > KEMG_FMT_S24) return 0;
    if ((h->lead_off_high >> (h->n_channels > 8 ? h->n_channels - 8 : 0)) != 0) return 0; /* names no channel */
    /* a reserved status bit (11-15), or the lead-off bit of a channel the frame does not have */
    if ((h->status & 0xF800u) != 0 || ((h->status & 0xFFu) >> (h->n_channels < 8 ? h->n_channels : 8)) != 0 ||
        ((h->status & 0x0400u) != 0 && h->n_channels <= 8)) return 0;
    if (body + KEMG_CRC_BYTES > out_cap || !samples_fit(counts, n, h->fmt)) return 0; /* checked before any write */
    out[0] = KEMG_VERSION;
    out[1] = KEMG_T_DATA;
    out[2] = h->n_channels;
    out[3] = h->fmt;
    put16(out + 4, h->n_samples);
    put16(out + 6, h->status);
    put32(out + 8, (uint32_t)h->first_sample);
    put32(out + 12, (uint32_t)(h->first_sample >> 32));
    put32(out + 16, h->timestamp_us);
    for (size_t k = 0; k < ext; k++) out[KEMG_DATA_HEADER + k] = (uint8_t)(h->lead_off_high >> (8 * k));
    for (size_t i = 0; i < n; i++) {
        uint32_t u = (uint32_t)counts[i];
        for (size_t b = 0; b < nb; b++) out[hdr + i * nb + b] = (uint8_t)(u >> (8 * b));
    }
    return finish(out, body, out_cap);
}

int kemg_parse_data(const uint8_t *frame, size_t len, kemg_data_header *h, int32_t *counts, size_t max_values) {
    size_t nb, hdr, n;
    if (len < KEMG_DATA_HEADER + KEMG_CRC_BYTES || !crc_ok(frame, len)) return -1;
    if (frame[0] != KEMG_VERSION || frame[1] != KEMG_T_DATA) return -1;
    if (frame[2] == 0 || frame[2] > KEMG_MAX_CHANNELS || frame[3] > KEMG_FMT_S24) return -1;
    nb = bytes_per_sample(frame[3]);
    hdr = kemg_data_header_size(frame[2]);
    n = (size_t)get16(frame + 4) * frame[2];
    if (len != hdr + n * nb + KEMG_CRC_BYTES) return -1;
    h->n_channels = frame[2];
    h->fmt = frame[3];
    h->n_samples = get16(frame + 4);
    h->status = get16(frame + 6);
    h->first_sample = (uint64_t)get32(frame + 8) | ((uint64_t)get32(frame + 12) << 32);
    h->timestamp_us = get32(frame + 16);
    h->lead_off_high = 0;
    for (size_t k = 0; k < hdr - KEMG_DATA_HEADER; k++) h->lead_off_high |= (uint64_t)frame[KEMG_DATA_HEADER + k] << (8 * k);
    if (counts && n <= max_values) {
        for (size_t i = 0; i < n; i++) {
            const uint8_t *p = frame + hdr + i * nb;
            uint32_t u = nb == 3 ? (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) : (uint32_t)get16(p);
            uint32_t sign = nb == 3 ? 0x800000u : 0x8000u;
            counts[i] = (int32_t)(u ^ sign) - (int32_t)sign; /* sign extension without shifts of negatives */
        }
    }
    return 0;
}

/* The info frame fields the host's encoder (kneeemg.protocol) refuses: 1-64 channels, each
 * with a label; a rate and a scale that are positive numbers below 3e38 (not 0, NaN or
 * infinity); a known sample format; a battery level of at most 100 %. */
static int info_ok(float fs_hz, float uv_per_count, const uint8_t firmware[3], uint8_t fmt, uint8_t battery_pct,
                   const char *const *labels, uint8_t n_channels) {
    if (n_channels == 0 || n_channels > KEMG_MAX_CHANNELS || !labels || !firmware) return 0;
    if (!(fs_hz > 0.0f && fs_hz < 3e38f) || !(uv_per_count > 0.0f && uv_per_count < 3e38f)) return 0;
    if (fmt > KEMG_FMT_S24 || battery_pct > 100u) return 0;
    for (uint8_t c = 0; c < n_channels; c++)
        if (!labels[c]) return 0;
    return 1;
}

/* A label as the host's encoder writes it: ASCII kept, every other (UTF-8) character one '?',
 * cut at 8 bytes, zero-padded. */
static void put_label(uint8_t *p, const char *label) {
    size_t k = 0;
    memset(p, 0, KEMG_LABEL_BYTES);
    for (const uint8_t *s = (const uint8_t *)label; *s && k < KEMG_LABEL_BYTES; s++) {
        if ((*s & 0xC0u) == 0x80u) continue; /* the rest of a character already written as '?' */
        p[k++] = *s < 0x80u ? *s : (uint8_t)'?';
    }
}

size_t kemg_pack_info(uint8_t *out, size_t out_cap, float fs_hz, float uv_per_count, uint32_t device_id,
                      const uint8_t firmware[3], uint8_t fmt, uint8_t battery_pct, uint32_t session_id,
                      const char *const *labels, uint8_t n_channels) {
    size_t body = KEMG_INFO_HEADER + (size_t)n_channels * KEMG_LABEL_BYTES;
    uint32_t bits;
    if (!info_ok(fs_hz, uv_per_count, firmware, fmt, battery_pct, labels, n_channels) || body + KEMG_CRC_BYTES > out_cap) return 0;
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
    put32(out + 20, session_id);
    for (uint8_t c = 0; c < n_channels; c++) put_label(out + KEMG_INFO_HEADER + (size_t)c * KEMG_LABEL_BYTES, labels[c]);
    return finish(out, body, out_cap);
}

size_t kemg_pack_command(uint8_t *out, size_t out_cap, uint8_t command, uint32_t argument) {
    if (out_cap < KEMG_COMMAND_BYTES) return 0;
    out[0] = KEMG_VERSION;
    out[1] = KEMG_T_COMMAND;
    out[2] = command;
    out[3] = 0;
    put32(out + 4, argument);
    return finish(out, 8, out_cap);
}

int kemg_parse_command(const uint8_t *frame, size_t len, uint8_t *command, uint32_t *argument) {
    if (len != KEMG_COMMAND_BYTES || !crc_ok(frame, len) || frame[0] != KEMG_VERSION || frame[1] != KEMG_T_COMMAND) return -1;
    if (frame[2] < KEMG_CMD_START || frame[2] > KEMG_CMD_REQUEST_INFO) return -1;
    *command = frame[2];
    *argument = get32(frame + 4);
    return 0;
}

static uint16_t samples_fitting(int room, uint8_t n_channels, uint8_t fmt) {
    int per = (int)n_channels * (int)bytes_per_sample(fmt);
    int fixed = (int)kemg_data_header_size(n_channels) + (int)KEMG_CRC_BYTES;
    int n = (room > fixed && per > 0) ? (room - fixed) / per : 0;
    return (uint16_t)(n > 0xFFFF ? 0xFFFF : n);
}

uint16_t kemg_samples_per_notification(uint16_t mtu, uint8_t n_channels, uint8_t fmt) {
    uint16_t fit = samples_fitting((int)mtu - 3, n_channels, fmt);
    uint16_t full = samples_fitting((int)KEMG_BLE_FULL_MTU - 3, n_channels, fmt);
    return fit < full ? fit : full;
}

uint16_t kemg_ble_plan(uint16_t mtu, uint8_t n_channels, uint8_t fmt, int *fragmented) {
    uint16_t full = kemg_samples_per_notification(KEMG_BLE_FULL_MTU, n_channels, fmt);
    uint16_t fit = kemg_samples_per_notification(mtu, n_channels, fmt);
    uint16_t least = full < KEMG_MIN_SAMPLES_PER_NOTIFICATION ? full : KEMG_MIN_SAMPLES_PER_NOTIFICATION;
    *fragmented = 0;
    if (mtu < 23 || full == 0) return 0;
    if (fit >= least && fit > 0) return fit;
    *fragmented = 1;
    return full;
}

size_t kemg_fragment(const uint8_t *frame, size_t len, uint16_t mtu, unsigned index, uint8_t *out, size_t out_cap) {
    size_t chunk, start, n, count;
    if (mtu < 23) return 0;
    chunk = (size_t)mtu - 3 - KEMG_FRAGMENT_HEADER;
    count = (len + chunk - 1) / chunk;
    if (count == 0 || count > KEMG_MAX_FRAGMENTS || index >= count) return 0;
    start = (size_t)index * chunk;
    n = len - start < chunk ? len - start : chunk;
    if (out_cap < KEMG_FRAGMENT_HEADER + n) return 0;
    out[0] = KEMG_VERSION;
    out[1] = KEMG_T_FRAGMENT;
    out[2] = (uint8_t)(index | (index + 1 == count ? KEMG_FRAGMENT_LAST : 0u));
    memcpy(out + KEMG_FRAGMENT_HEADER, frame + start, n);
    return KEMG_FRAGMENT_HEADER + n;
}
