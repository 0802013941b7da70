/* A lock-free single-producer single-consumer ring of sample sets (one int32 per channel).
 * The producer is the ADC's data-ready interrupt, the consumer the streaming task. The
 * capacity must be a power of two; one slot is kept free to tell full from empty. */
#ifndef KEMG_RING_H
#define KEMG_RING_H

#include <stdint.h>

#define KEMG_RING_MAX_CHANNELS 8u

typedef struct {
    int32_t *slots;          /* capacity * n_channels int32, owned by the caller */
    uint32_t capacity;       /* power of two */
    uint8_t n_channels;
    volatile uint32_t head;  /* written by the producer only */
    volatile uint32_t tail;  /* written by the consumer only */
    volatile uint32_t dropped; /* sample sets lost because the ring was full */
} kemg_ring;

int kemg_ring_init(kemg_ring *r, int32_t *storage, uint32_t capacity, uint8_t n_channels);
/* Producer: push one sample set; returns 0, or -1 when full (counted in dropped). */
int kemg_ring_push(kemg_ring *r, const int32_t *sample_set);
/* Consumer: pop up to max sample sets into out (interleaved); returns how many. */
uint32_t kemg_ring_pop(kemg_ring *r, int32_t *out, uint32_t max);
uint32_t kemg_ring_count(const kemg_ring *r);

#endif
