/* A lock-free single-producer single-consumer ring of sample sets.
 *
 * The producer is the ADC's data-ready path (an interrupt, or the task it wakes), the
 * consumer the streaming task. Each set carries its own sample index, so a set lost to a
 * full ring leaves a jump in the index that the frame assembler turns into a frame
 * boundary: the host sees the loss as an exact gap. Capacity is a power of two; head and
 * tail run freely (uint32, wrapping) and every slot is used. No dynamic allocation: the
 * caller owns the storage. */
#ifndef KEMG_RING_H
#define KEMG_RING_H

#include <stdint.h>

#define KEMG_RING_MAX_CHANNELS 8u

typedef struct {
    uint64_t index;        /* sample index since the session started */
    uint32_t timestamp_us; /* device clock at this sample */
    uint16_t status;       /* KEMG_STATUS_* bits for this sample (lead-off, battery low) */
    int32_t counts[KEMG_RING_MAX_CHANNELS];
} kemg_sample_set;

typedef struct {
    kemg_sample_set *slots;    /* capacity sets, owned by the caller */
    uint32_t capacity;         /* power of two */
    volatile uint32_t head;    /* sets pushed; written by the producer only */
    volatile uint32_t tail;    /* sets popped; written by the consumer only */
    volatile uint32_t dropped; /* sets lost because the ring was full; producer only */
} kemg_ring;

/* Returns 0, or -1 if storage is NULL or capacity is not a power of two >= 2. */
int kemg_ring_init(kemg_ring *r, kemg_sample_set *storage, uint32_t capacity);
/* Producer: copy one set in; returns 0, or -1 when full (counted in dropped). */
int kemg_ring_push(kemg_ring *r, const kemg_sample_set *set);
/* Consumer: copy up to max sets out, oldest first; returns how many. */
uint32_t kemg_ring_pop(kemg_ring *r, kemg_sample_set *out, uint32_t max);
/* Sets waiting (exact from either side's point of view at the moment of reading). */
uint32_t kemg_ring_count(const kemg_ring *r);

#endif
