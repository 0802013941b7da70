/* kneeemg sensor protocol: the portable core shared by the firmware and the host build.
 * C99, no dynamic allocation. docs/protocol.md describes the byte layout. */
#ifndef KEMG_PROTO_H
#define KEMG_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define KEMG_VERSION 1u
#define KEMG_T_DATA 1u
#define KEMG_T_INFO 2u
#define KEMG_T_COMMAND 4u
#define KEMG_T_FRAGMENT 5u
#define KEMG_FMT_S16 0u
#define KEMG_FMT_S24 1u
#define KEMG_MAX_CHANNELS 64u
#define KEMG_DATA_HEADER 20u    /* without the lead-off extension (more than 8 channels) */
#define KEMG_INFO_HEADER 24u
#define KEMG_LABEL_BYTES 8u
#define KEMG_CRC_BYTES 2u
#define KEMG_COMMAND_BYTES 10u
#define KEMG_FRAGMENT_HEADER 3u
#define KEMG_FRAGMENT_LAST 0x80u
#define KEMG_MAX_FRAGMENTS 128u
#define KEMG_BLE_FULL_MTU 247u   /* what the host asks for: 244 bytes per notification */
#define KEMG_MIN_SAMPLES_PER_NOTIFICATION 8u

#define KEMG_STATUS_LEAD_OFF_LOW 0x00FFu /* lead-off of channels 0-7, bit c = channel c */
#define KEMG_STATUS_SATURATION 0x0100u
#define KEMG_STATUS_BATTERY_LOW 0x0200u
#define KEMG_STATUS_LEAD_OFF_HIGH 0x0400u /* lead-off on some channel 8-63 (see the extension) */

enum kemg_command { KEMG_CMD_START = 1, KEMG_CMD_STOP = 2, KEMG_CMD_SET_RATE = 3, KEMG_CMD_REQUEST_INFO = 4 };

/* The fields of a data frame (everything but the samples). */
typedef struct {
    uint8_t n_channels;     /* 1-64 */
    uint8_t fmt;            /* KEMG_FMT_S16 or KEMG_FMT_S24 */
    uint16_t n_samples;     /* per channel */
    uint16_t status;        /* KEMG_STATUS_* bits */
    uint64_t lead_off_high; /* lead-off of channels 8-63: bit k = channel 8 + k */
    uint64_t first_sample;  /* index of the first sample since the session started */
    uint32_t timestamp_us;  /* device clock at the first sample */
} kemg_data_header;

/* CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final xor). */
uint16_t kemg_crc16(const uint8_t *data, size_t len);

/* COBS. Encode writes at most len + len/254 + 1 bytes; returns bytes written, 0 if out_cap
 * is too small. Decode returns bytes written, or (size_t)-1 on malformed input or a full
 * output buffer. */
size_t kemg_cobs_encode(const uint8_t *in, size_t len, uint8_t *out, size_t out_cap);
size_t kemg_cobs_decode(const uint8_t *in, size_t len, uint8_t *out, size_t out_cap);

/* Bytes of a data frame's header (20, plus the lead-off extension above 8 channels). */
size_t kemg_data_header_size(uint8_t n_channels);

/* Pack a data frame of h->n_samples x h->n_channels interleaved int32 counts (NULL only with
 * no sample). Returns the frame length (CRC included), or 0 and writes nothing if out_cap is
 * too small, a field is out of range, counts is NULL or a sample does not fit the format. */
size_t kemg_pack_data(uint8_t *out, size_t out_cap, const kemg_data_header *h, const int32_t *counts);

/* Check a data frame (CRC, version, type, length) and read its header; counts (may be NULL)
 * receives the samples if max_values is large enough. Returns 0, or -1 if damaged. */
int kemg_parse_data(const uint8_t *frame, size_t len, kemg_data_header *h, int32_t *counts, size_t max_values);

/* Pack an info frame; labels is n_channels strings, written as the host writes them (ASCII
 * kept, any other UTF-8 character as one '?', cut at 8 bytes). Returns the frame length (CRC
 * included), or 0 and writes nothing if out_cap is too small or the host would refuse a
 * field: n_channels outside 1-64, a NULL label or firmware, fs_hz (Hz) or uv_per_count
 * (uV per count) not a positive number below 3e38 (0, NaN and infinity are refused), an
 * unknown fmt, battery_pct above 100. */
size_t kemg_pack_info(uint8_t *out, size_t out_cap, float fs_hz, float uv_per_count, uint32_t device_id,
                      const uint8_t firmware[3], uint8_t fmt, uint8_t battery_pct, uint32_t session_id,
                      const char *const *labels, uint8_t n_channels);

/* Pack a command frame (host to device); returns KEMG_COMMAND_BYTES or 0. */
size_t kemg_pack_command(uint8_t *out, size_t out_cap, uint8_t command, uint32_t argument);

/* Parse a command frame. Returns 0 on success, -1 if damaged (CRC, length, version, type). */
int kemg_parse_command(const uint8_t *frame, size_t len, uint8_t *command, uint32_t *argument);

/* BLE. Samples per channel of a data frame that fits one notification at ATT MTU ``mtu``
 * (payload mtu - 3), at most what fits at MTU 247. */
uint16_t kemg_samples_per_notification(uint16_t mtu, uint8_t n_channels, uint8_t fmt);

/* How the device sends data frames at ``mtu``: returns the samples per channel of each
 * frame and sets *fragmented. Whole frames (one per notification) while at least
 * min(8, what fits MTU 247) samples fit; below that, frames sized for MTU 247 are split
 * into fragments of at most mtu - 3 bytes. Returns 0 if nothing can be sent (mtu < 23 or
 * a frame too large even for fragments). */
uint16_t kemg_ble_plan(uint16_t mtu, uint8_t n_channels, uint8_t fmt, int *fragmented);

/* Fragment ``index`` of a frame: writes it to out (at most mtu - 3 bytes) and returns its
 * length, or 0 when index is past the last fragment or the frame needs more than 128. */
size_t kemg_fragment(const uint8_t *frame, size_t len, uint16_t mtu, unsigned index, uint8_t *out, size_t out_cap);

#endif
