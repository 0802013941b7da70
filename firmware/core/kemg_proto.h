/* kneeemg sensor protocol: the portable core shared by the firmware and the host build.
 * C99, no dynamic allocation. See docs/protocol.md for the byte layout. */
#ifndef KEMG_PROTO_H
#define KEMG_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define KEMG_VERSION 1u
#define KEMG_T_DATA 1u
#define KEMG_T_INFO 2u
#define KEMG_T_COMMAND 4u
#define KEMG_FMT_S16 0u
#define KEMG_FMT_S24 1u
#define KEMG_DATA_HEADER 20u
#define KEMG_INFO_HEADER 24u
#define KEMG_LABEL_BYTES 8u
#define KEMG_CRC_BYTES 2u
#define KEMG_COMMAND_BYTES 10u

#define KEMG_STATUS_SATURATION 0x0100u
#define KEMG_STATUS_BATTERY_LOW 0x0200u
#define KEMG_STATUS_LEAD_OFF_HIGH 0x0400u

enum kemg_command { KEMG_CMD_START = 1, KEMG_CMD_STOP = 2, KEMG_CMD_SET_RATE = 3, KEMG_CMD_REQUEST_INFO = 4 };

/* CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final xor). */
uint16_t kemg_crc16(const uint8_t *data, size_t len);

/* COBS. Encode writes at most len + len/254 + 1 bytes; returns bytes written, 0 if out_cap
 * is too small. Decode returns bytes written, or (size_t)-1 on malformed input. */
size_t kemg_cobs_encode(const uint8_t *in, size_t len, uint8_t *out, size_t out_cap);
size_t kemg_cobs_decode(const uint8_t *in, size_t len, uint8_t *out, size_t out_cap);

/* Pack a data frame of n_samples x n_channels interleaved int32 counts. Returns the frame
 * length (CRC included) or 0 if out_cap is too small or a sample is out of range. */
size_t kemg_pack_data(uint8_t *out, size_t out_cap, uint64_t first_sample, uint32_t timestamp_us,
                      uint16_t status, uint8_t fmt, const int32_t *counts, uint16_t n_samples,
                      uint8_t n_channels);

/* Pack an info frame; labels is n_channels strings (truncated to 8 bytes). */
size_t kemg_pack_info(uint8_t *out, size_t out_cap, float fs_hz, float uv_per_count, uint32_t device_id,
                      const uint8_t firmware[3], uint8_t fmt, uint8_t battery_pct, const char *const *labels,
                      uint8_t n_channels);

/* Parse a command frame. Returns 0 on success, -1 if damaged (CRC, length, version, type). */
int kemg_parse_command(const uint8_t *frame, size_t len, uint8_t *command, uint32_t *argument);

/* Parse a data frame's header and check its CRC. Returns 0 on success. */
int kemg_parse_data_header(const uint8_t *frame, size_t len, uint8_t *n_channels, uint8_t *fmt,
                           uint16_t *n_samples, uint16_t *status, uint64_t *first_sample, uint32_t *timestamp_us);

/* Samples per channel that fit one BLE notification at the negotiated ATT MTU. */
uint16_t kemg_samples_per_notification(uint16_t mtu, uint8_t n_channels, uint8_t fmt);

#endif
