#include "kemg_frame.h"

int kemg_asm_init(kemg_assembler *a, uint8_t n_channels, uint8_t fmt, uint16_t samples_per_frame) {
    if (!a || n_channels == 0 || n_channels > KEMG_RING_MAX_CHANNELS || fmt > KEMG_FMT_S24) return -1;
    a->n_channels = n_channels;
    a->fmt = fmt;
    a->samples_per_frame = 0;
    a->n = 0;
    a->status = 0;
    a->first_timestamp_us = 0;
    a->first_sample = a->next_index = 0;
    a->frames = a->gaps = a->lost_frames = 0;
    return kemg_asm_set_samples_per_frame(a, samples_per_frame);
}

int kemg_asm_set_samples_per_frame(kemg_assembler *a, uint16_t samples_per_frame) {
    if (samples_per_frame == 0 || (size_t)samples_per_frame * a->n_channels > KEMG_ASM_MAX_VALUES || a->n) return -1;
    a->samples_per_frame = samples_per_frame;
    return 0;
}

size_t kemg_asm_frame_bytes(const kemg_assembler *a) {
    size_t nb = a->fmt == KEMG_FMT_S24 ? 3u : 2u;
    return kemg_data_header_size(a->n_channels) + (size_t)a->samples_per_frame * a->n_channels * nb + KEMG_CRC_BYTES;
}

size_t kemg_asm_flush(kemg_assembler *a, uint8_t *out, size_t out_cap) {
    kemg_data_header h;
    size_t len;
    if (a->n == 0) return 0;
    h.n_channels = a->n_channels;
    h.fmt = a->fmt;
    h.n_samples = a->n;
    h.status = a->status;
    h.lead_off_high = 0;
    h.first_sample = a->first_sample;
    h.timestamp_us = a->first_timestamp_us;
    len = kemg_pack_data(out, out_cap, &h, a->counts);
    a->n = 0;
    a->status = 0;
    if (len) a->frames++;
    else a->lost_frames++;
    return len;
}

size_t kemg_asm_add(kemg_assembler *a, const kemg_sample_set *set, uint8_t *out, size_t out_cap) {
    int32_t lo = a->fmt == KEMG_FMT_S24 ? -8388608 : -32768, hi = a->fmt == KEMG_FMT_S24 ? 8388607 : 32767;
    size_t sent = 0;
    int32_t *dst;
    if (a->n && set->index != a->next_index) { /* sets were lost: close the frame at the gap */
        a->gaps++;
        sent = kemg_asm_flush(a, out, out_cap);
    } else if (a->n == 0 && a->frames + a->lost_frames > 0 && set->index != a->next_index) {
        a->gaps++;
    }
    if (a->n == 0) {
        a->first_sample = set->index;
        a->first_timestamp_us = set->timestamp_us;
    }
    dst = &a->counts[(size_t)a->n * a->n_channels];
    for (uint8_t c = 0; c < a->n_channels; c++) {
        int32_t v = set->counts[c];
        if (v >= hi || v <= lo) {
            a->status |= KEMG_STATUS_SATURATION;
            v = v > hi ? hi : (v < lo ? lo : v);
        }
        dst[c] = v;
    }
    a->status |= set->status;
    a->n++;
    a->next_index = set->index + 1;
    if (a->n == a->samples_per_frame && !sent) return kemg_asm_flush(a, out, out_cap);
    return sent;
}
