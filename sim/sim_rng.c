/*
 * sim_rng.c: xoshiro256** and splitmix64 (see sim_rng.h for the choice and
 * the per-client streams).
 *
 * Both algorithms are written from their published definitions.
 * splitmix64 adds the 64-bit golden-ratio increment to its state and mixes
 * the sum with two xor-shift-multiply rounds.  xoshiro256** outputs
 * rotl(s1 * 5, 7) * 9 and updates its four words with shifts, xors and one
 * rotation.
 */
#include "sim_rng.h"

#define SIM_GOLDEN_GAMMA 0x9e3779b97f4a7c15ULL

static uint64_t rotl64(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* The splitmix64 output function applied to one value. */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t sim_splitmix64_next(uint64_t *state)
{
    *state += SIM_GOLDEN_GAMMA;
    return mix64(*state);
}

void sim_rng_seed(sim_rng *rng, uint64_t seed)
{
    uint64_t sm = seed;

    for (int i = 0; i < 4; i++)
        rng->s[i] = sim_splitmix64_next(&sm);

    /* splitmix64 is a bijection on its counter, so four consecutive outputs
     * are never all zero; the check documents the invariant xoshiro needs. */
    if ((rng->s[0] | rng->s[1] | rng->s[2] | rng->s[3]) == 0)
        rng->s[0] = SIM_GOLDEN_GAMMA;
}

void sim_rng_seed_stream(sim_rng *rng, uint64_t seed, uint64_t pop_index,
                         uint64_t client_index)
{
    /* Each index is mixed in separately (not added), so (pop 0, client 1)
     * and (pop 1, client 0) do not collide. */
    uint64_t key = mix64(seed + SIM_GOLDEN_GAMMA);
    key = mix64(key ^ mix64(pop_index + 1));
    key = mix64(key ^ mix64((client_index + 1) * SIM_GOLDEN_GAMMA));
    sim_rng_seed(rng, key);
}

uint64_t sim_rng_next(sim_rng *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = rotl64(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl64(s[3], 45);
    return result;
}

int64_t sim_rng_uniform_i64(sim_rng *rng, int64_t lo, int64_t hi)
{
    uint64_t span = (uint64_t)hi - (uint64_t)lo + 1; /* 0 means all 2^64 values */

    if (span == 0)
        return (int64_t)sim_rng_next(rng);

    /* Accept draws below the largest multiple of span that fits in 2^64. */
    uint64_t limit = UINT64_MAX - (UINT64_MAX % span + 1) % span;
    uint64_t x;
    do {
        x = sim_rng_next(rng);
    } while (x > limit);
    return (int64_t)((uint64_t)lo + x % span);
}
