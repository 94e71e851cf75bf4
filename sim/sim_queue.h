/*
 * sim_queue.h: the simulator's event queue, ordered by (time_us, seq).
 *
 * An event is "client `client` makes a request at time_us".  Events with
 * equal times leave the queue in the order they were pushed, because every
 * push takes the next value of an increasing sequence counter and ties on
 * time are broken by it.  That makes a run reproducible: the same scenario
 * and seed always process the same events in the same order.
 *
 * The queue is a binary min-heap in one array sized at creation; pushing
 * never allocates.  The simulator keeps exactly one pending event per
 * client, so the capacity is the number of clients.
 *
 * NOTE: the interface (create, push, pop, destroy) is all the simulator
 * uses, so a faster structure (a calendar queue, a radix heap) can replace
 * the heap behind it without touching sim.c.
 */
#ifndef SIM_QUEUE_H
#define SIM_QUEUE_H

#include <stddef.h>
#include <stdint.h>

typedef struct sim_event {
    int64_t time_us;
    uint64_t seq;    /* push order: breaks ties on time_us */
    uint32_t client; /* index into the simulator's client table */
} sim_event;

typedef struct sim_queue sim_queue;

/* Creates an empty queue for up to `capacity` pending events.  Returns NULL
 * when out of memory; free with sim_queue_destroy(). */
sim_queue *sim_queue_create(size_t capacity);

/* Accepts NULL. */
void sim_queue_destroy(sim_queue *q);

/* Adds an event and stamps it with the next sequence number.  Returns 0, or
 * -1 when the queue is full (a caller bug: capacity is fixed). */
int sim_queue_push(sim_queue *q, int64_t time_us, uint32_t client);

/* Removes the earliest event into *out.  Returns 0, or -1 when empty. */
int sim_queue_pop(sim_queue *q, sim_event *out);

size_t sim_queue_size(const sim_queue *q);

#endif
