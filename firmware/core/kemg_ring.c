#include "kemg_ring.h"

#include <stddef.h>

/* Index loads and stores use the GCC/Clang atomic builtins (acquire/release) so that a set
 * is completely written before the other side can see it; both ESP32 toolchains and the
 * host gcc provide them. */

int kemg_ring_init(kemg_ring *r, kemg_sample_set *storage, uint32_t capacity) {
    if (!r || !storage || capacity < 2 || (capacity & (capacity - 1))) return -1;
    r->slots = storage;
    r->capacity = capacity;
    r->head = r->tail = r->dropped = 0;
    return 0;
}

int kemg_ring_push(kemg_ring *r, const kemg_sample_set *set) {
    uint32_t head = r->head; /* only this side writes head */
    uint32_t tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
    if (head - tail >= r->capacity) {
        r->dropped++;
        return -1;
    }
    r->slots[head & (r->capacity - 1)] = *set;
    __atomic_store_n(&r->head, head + 1, __ATOMIC_RELEASE);
    return 0;
}

uint32_t kemg_ring_pop(kemg_ring *r, kemg_sample_set *out, uint32_t max) {
    uint32_t tail = r->tail; /* only this side writes tail */
    uint32_t head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
    uint32_t n = 0;
    while (tail != head && n < max) {
        out[n++] = r->slots[tail & (r->capacity - 1)];
        tail++;
    }
    __atomic_store_n(&r->tail, tail, __ATOMIC_RELEASE);
    return n;
}

uint32_t kemg_ring_count(const kemg_ring *r) {
    return __atomic_load_n(&r->head, __ATOMIC_ACQUIRE) - __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
}
