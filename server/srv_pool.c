/*
 * srv_pool.c: one store per worker thread, or one store for all.
 *
 * A store whose backend is not thread-safe (Redis: one connection, one
 * thread at a time) must not be shared by libmicrohttpd's workers.  Each
 * worker gets its own store, created on the worker's first request and
 * found again through a pthread key without locking.  The pool remembers every
 * store it created and destroys them all in srv_store_pool_destroy(),
 * which must run after the workers have stopped.
 */
#include <stdlib.h>
#include <string.h>

#include "srv_internal.h"

struct srv_store_pool {
    srv_store_factory factory;
    void *user;
    int per_thread;
    rl_store *shared;   /* per_thread == 0 */
    pthread_key_t key;  /* per_thread == 1: the thread's rl_store * */
    int key_made;
    pthread_mutex_t lock; /* guards all[] */
    rl_store **all;
    size_t n_all, cap_all;
};

int srv_store_pool_create(srv_store_factory factory, void *user, int per_thread,
                          srv_store_pool **out, rl_error *err)
{
    srv_store_pool *p = calloc(1, sizeof(*p));
    int rc;

    *out = NULL;
    if (p == NULL) {
        rl_error_set(err, "out of memory creating the store pool");
        return RL_ERR_NOMEM;
    }
    p->factory = factory;
    p->user = user;
    p->per_thread = per_thread;
    pthread_mutex_init(&p->lock, NULL);

    if (per_thread) {
        if (pthread_key_create(&p->key, NULL) != 0) {
            rl_error_set(err, "cannot create a thread-local key for the store pool");
            srv_store_pool_destroy(p);
            return RL_ERR_NOMEM;
        }
        p->key_made = 1;
    } else {
        rc = factory(user, &p->shared, err);
        if (rc < 0) {
            srv_store_pool_destroy(p);
            return rc;
        }
    }
    *out = p;
    return 0;
}

/* Records a new store so that destroy finds it; 0 or RL_ERR_NOMEM. */
static int remember(srv_store_pool *p, rl_store *s)
{
    int rc = 0;

    pthread_mutex_lock(&p->lock);
    if (p->n_all == p->cap_all) {
        size_t cap = p->cap_all == 0 ? 8 : p->cap_all * 2;
        rl_store **bigger = realloc(p->all, cap * sizeof(*bigger));
        if (bigger == NULL) {
            rc = RL_ERR_NOMEM;
        } else {
            p->all = bigger;
            p->cap_all = cap;
        }
    }
    if (rc == 0)
        p->all[p->n_all++] = s;
    pthread_mutex_unlock(&p->lock);
    return rc;
}

int srv_store_pool_get(srv_store_pool *p, rl_store **out, rl_error *err)
{
    rl_store *s;
    int rc;

    if (!p->per_thread) {
        *out = p->shared;
        return 0;
    }
    s = pthread_getspecific(p->key);
    if (s != NULL) {
        *out = s;
        return 0;
    }

    /* First request on this thread.  A failure leaves the slot empty, so
     * the next request tries again. */
    rc = p->factory(p->user, &s, err);
    if (rc < 0)
        return rc;
    if (pthread_setspecific(p->key, s) != 0 || remember(p, s) < 0) {
        pthread_setspecific(p->key, NULL);
        rl_error_set(err, "out of memory registering a worker's store");
        rl_store_destroy(s);
        return RL_ERR_NOMEM;
    }
    *out = s;
    return 0;
}

void srv_store_pool_destroy(srv_store_pool *p)
{
    if (p == NULL)
        return;
    rl_store_destroy(p->shared);
    for (size_t i = 0; i < p->n_all; i++)
        rl_store_destroy(p->all[i]);
    free(p->all);
    if (p->key_made)
        pthread_key_delete(p->key);
    pthread_mutex_destroy(&p->lock);
    free(p);
}
