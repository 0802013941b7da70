/* Frame assembly: sample sets (with their indices) in, data frames out.
 *
 * The assembler collects sample sets into data frames of samples_per_frame sets. A frame's
 * first_sample is the index of its first set and its timestamp that set's clock, so the
 * host can place every frame exactly. When a set's index is not the next one (sets were
 * lost before reaching the assembler, for example to a full ring), the frame being filled
 * is sent as it is and a new one starts at the new index: the host sees the loss as a gap
 * of exactly the lost samples. The status of a frame is the OR of its sets' status bits;
 * a sample outside the format's range is sent as the range's limit and the frame gets
 * KEMG_STATUS_SATURATION, as does a sample at the limit (the ADC's own clipping). */
#ifndef KEMG_FRAME_H
#define KEMG_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "kemg_proto.h"
#include "kemg_ring.h"

#define KEMG_ASM_MAX_VALUES 256u /* samples_per_frame x n_channels */

typedef struct {
    uint8_t n_channels;
    uint8_t fmt;
    uint16_t samples_per_frame;
    uint16_t n;                  /* sets in the frame being filled */
    uint16_t status;
    uint32_t first_timestamp_us;
    uint64_t first_sample;
    uint64_t next_index;         /* index expected next */
    uint32_t frames;             /* frames emitted */
    uint32_t gaps;               /* index jumps seen */
    uint32_t lost_frames;        /* frames that did not fit the caller's buffer */
    int32_t counts[KEMG_ASM_MAX_VALUES];
} kemg_assembler;

/* Returns 0, or -1 if a parameter is out of range (channels 1-8, samples_per_frame >= 1,
 * n_channels x samples_per_frame <= KEMG_ASM_MAX_VALUES). */
int kemg_asm_init(kemg_assembler *a, uint8_t n_channels, uint8_t fmt, uint16_t samples_per_frame);

/* Bytes a frame of this assembler can take (the out_cap to pass). */
size_t kemg_asm_frame_bytes(const kemg_assembler *a);

/* Add one sample set. When it completes a frame, or its index jumps and a partial frame
 * is pending, writes that frame to out and returns its length; otherwise returns 0. At
 * most one frame results from one call. */
size_t kemg_asm_add(kemg_assembler *a, const kemg_sample_set *set, uint8_t *out, size_t out_cap);

/* Send the partial frame now (on stop, or before changing samples_per_frame). Returns its
 * length, or 0 if nothing was pending. */
size_t kemg_asm_flush(kemg_assembler *a, uint8_t *out, size_t out_cap);

/* Change the frame size (after a flush; the next frame uses it). Returns 0 or -1. */
int kemg_asm_set_samples_per_frame(kemg_assembler *a, uint16_t samples_per_frame);

#endif
