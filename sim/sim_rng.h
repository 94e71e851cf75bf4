/*
 * sim_rng.h: the simulator's random numbers: xoshiro256** seeded through
 * splitmix64.
 *
 * Generator: xoshiro256** 1.0 (Blackman and Vigna, 2018), 256 bits of state,
 * period 2^256 - 1.  Its state is filled from splitmix64 (Steele, Lea and
 * Flood's SplittableRandom mixer), as the xoshiro authors recommend, so any
 * 64-bit seed, zero included, gives a well-mixed non-zero state.
 *
 * Streams: the simulator gives every client its own generator, derived from
 * (scenario seed, population index, client index) by sim_rng_seed_stream().
 * A client's draws therefore never depend on the order in which events of
 * different clients are processed, nor on how many threads a later version
 * uses: the same seed reproduces every request time bit for bit.
 *
 * The generator is a plain value (no allocation, no global state); copying
 * it forks the sequence.
 */
#ifndef SIM_RNG_H
#define SIM_RNG_H

#include <stdint.h>

typedef struct sim_rng {
    uint64_t s[4]; /* never all zero */
} sim_rng;

/* Advances a splitmix64 state by one step and returns its next output. */
uint64_t sim_splitmix64_next(uint64_t *state);

/* Seeds from one 64-bit value: four splitmix64 outputs of `seed`. */
void sim_rng_seed(sim_rng *rng, uint64_t seed);

/*
 * Seeds the stream of client `client_index` of population `pop_index` in a
 * scenario seeded with `seed`.  Distinct (pop_index, client_index) pairs
 * give unrelated streams for the same seed.
 */
void sim_rng_seed_stream(sim_rng *rng, uint64_t seed, uint64_t pop_index,
                         uint64_t client_index);

/* Returns the next 64 random bits. */
uint64_t sim_rng_next(sim_rng *rng);

/*
 * Returns an integer uniform in [lo, hi] (both included; lo <= hi), without
 * modulo bias: draws that fall in the incomplete last block of 2^64 are
 * rejected and redrawn.
 */
int64_t sim_rng_uniform_i64(sim_rng *rng, int64_t lo, int64_t hi);

#endif
