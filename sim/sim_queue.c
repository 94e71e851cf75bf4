/*
 * sim_queue.c: a binary min-heap of events keyed by (time_us, seq).
 *
 * Invariant: for every index i > 0, heap[(i - 1) / 2] sorts before heap[i].
 * Push sifts up and pop sifts down, both O(log n) with no allocation.
 */
#include <stdlib.h>

#include "sim_queue.h"

struct sim_queue {
    sim_event *heap;
    size_t size;
    size_t capacity;
    uint64_t next_seq;
};

static int event_before(const sim_event *a, const sim_event *b)
{
    if (a->time_us != b->time_us)
        return a->time_us < b->time_us;
    return a->seq < b->seq;
}

sim_queue *sim_queue_create(size_t capacity)
{
    sim_queue *q = calloc(1, sizeof(*q));
    if (q == NULL)
        return NULL;
    q->heap = calloc(capacity > 0 ? capacity : 1, sizeof(*q->heap));
    if (q->heap == NULL) {
        free(q);
        return NULL;
    }
    q->capacity = capacity;
    return q;
}

void sim_queue_destroy(sim_queue *q)
{
    if (q == NULL)
        return;
    free(q->heap);
    free(q);
}

int sim_queue_push(sim_queue *q, int64_t time_us, uint32_t client)
{
    if (q->size == q->capacity)
        return -1;

    sim_event ev = {time_us, q->next_seq++, client};
    size_t i = q->size++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!event_before(&ev, &q->heap[parent]))
            break;
        q->heap[i] = q->heap[parent];
        i = parent;
    }
    q->heap[i] = ev;
    return 0;
}

int sim_queue_pop(sim_queue *q, sim_event *out)
{
    if (q->size == 0)
        return -1;

    *out = q->heap[0];
    sim_event last = q->heap[--q->size];
    size_t n = q->size;
    size_t i = 0;

    /* Move the last event down from the root to where it sorts. */
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= n)
            break;
        if (child + 1 < n && event_before(&q->heap[child + 1], &q->heap[child]))
            child++;
        if (!event_before(&q->heap[child], &last))
            break;
        q->heap[i] = q->heap[child];
        i = child;
    }
    if (n > 0)
        q->heap[i] = last;
    return 0;
}

size_t sim_queue_size(const sim_queue *q)
{
    return q->size;
}
