/*
 * sim_parallel.c: a small pool of pthreads that hands out job indexes.
 *
 * Part of the simulator library (see sim_parallel.h for the contract).
 * Workers take the next index with an atomic increment until none is
 * left; there is no queue, no lock and no allocation per job.  The calling
 * thread works too, so `threads` = 1 runs everything in order on the
 * caller's thread without starting any.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "sim_parallel.h"

typedef struct pool {
    atomic_size_t next; /* the next job index to hand out */
    size_t n;
    sim_job_fn job;
    void *user;
} pool;

int sim_parallel_threads(int requested)
{
    long n = requested;

    if (n <= 0)
        n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    return n > SIM_THREADS_MAX ? SIM_THREADS_MAX : (int)n;
}

static void *work(void *arg)
{
    pool *p = arg;

    for (;;) {
        size_t i = atomic_fetch_add(&p->next, 1);
        if (i >= p->n)
            return NULL;
        p->job(p->user, i);
    }
}

int sim_parallel_for(size_t n, int threads, sim_job_fn job, void *user)
{
    pthread_t tids[SIM_THREADS_MAX];
    int started = 0;
    pool p;

    atomic_init(&p.next, 0);
    p.n = n;
    p.job = job;
    p.user = user;
    threads = sim_parallel_threads(threads);
    if ((size_t)threads > n)
        threads = n > 0 ? (int)n : 1;

    /* threads - 1 helpers; a failed start leaves the work to the others. */
    for (int i = 1; i < threads; i++) {
        if (pthread_create(&tids[started], NULL, work, &p) != 0)
            break;
        started++;
    }
    work(&p);
    for (int i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    return 0;
}

typedef struct run_many {
    const sim_scenario *scenarios;
    const sim_config *cfg;
    sim_result **results;
    int *status;
    rl_error *errors;
} run_many;

static void run_one(void *user, size_t i)
{
    run_many *m = user;

    m->status[i] = sim_run(&m->scenarios[i], m->cfg, &m->results[i], &m->errors[i]);
}

int sim_run_many(const sim_scenario *scenarios, size_t n, const sim_config *cfg,
                 int threads, sim_result **results, int *status, rl_error *errors)
{
    run_many m = {scenarios, cfg, results, status, errors};
    int rc = sim_parallel_for(n, threads, run_one, &m);

    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (status[i] < 0)
            rc = status[i];
    }
    return rc;
}
