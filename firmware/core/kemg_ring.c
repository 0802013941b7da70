#include "kemg_ring.h"

#include <string.h>

int kemg_ring_init(kemg_ring *r, int32_t *storage, uint32_t capacity, uint8_t n_channels) {
    if (!storage || capacity < 2 || (capacity & (capacity - 1)) || n_channels == 0) return -1;
    r->slots = storage;
    r->capacity = capacity;
    r->n_channels = n_channels;
    r->head = r->tail = r->dropped = 0;
    return 0;
}

int kemg_ring_push(kemg_ring *r, const int32_t *sample_set) {
    uint32_t head = r->head, next = (head + 1) & (r->capacity - 1);
    if (next == r->tail) {
        r->dropped++;
        return -1;
    }
    memcpy(&r->slots[head * r->n_channels], sample_set, sizeof(int32_t) * r->n_channels);
    __atomic_store_n(&r->head, next, __ATOMIC_RELEASE);
    return 0;
}

uint32_t kemg_ring_pop(kemg_ring *r, int32_t *out, uint32_t max) {
    uint32_t tail = r->tail, n = 0;
    uint32_t head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
    while (tail != head && n < max) {
        memcpy(&out[n * r->n_channels], &r->slots[tail * r->n_channels], sizeof(int32_t) * r->n_channels);
        tail = (tail + 1) & (r->capacity - 1);
        n++;
    }
    __atomic_store_n(&r->tail, tail, __ATOMIC_RELEASE);
    return n;
}

uint32_t kemg_ring_count(const kemg_ring *r) { return (r->head - r->tail) & (r->capacity - 1); }
