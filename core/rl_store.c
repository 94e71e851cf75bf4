/*
 * rl_store.c: the backend-independent side of stores: the wrappers that
 * dispatch through a backend's rl_store_ops, and the names of policies and
 * outcomes.
 */
#include <string.h>

#include "rl_store.h"

int rl_store_check_and_count(rl_store *s, const rl_check *check, rl_decision *out)
{
    return s->ops->check_and_count(s, check, out);
}

int rl_store_read(rl_store *s, const char *key, int64_t now_us, int64_t *value)
{
    return s->ops->read(s, key, now_us, value);
}

int rl_store_key_count(rl_store *s, int64_t now_us, int64_t *count)
{
    return s->ops->key_count(s, now_us, count);
}

void rl_store_destroy(rl_store *s)
{
    if (s != NULL)
        s->ops->destroy(s);
}

int rl_policy_parse(const char *text, rl_policy *out, rl_error *err)
{
    if (text != NULL && strcmp(text, "deployed") == 0) {
        *out = RL_POLICY_DEPLOYED;
        return RL_OK;
    }
    if (text != NULL && strcmp(text, "atomic") == 0) {
        *out = RL_POLICY_ATOMIC;
        return RL_OK;
    }
    rl_error_set(err,
                 "invalid policy '%s': expected 'deployed' (the service's separate "
                 "read and increment steps) or 'atomic'",
                 text != NULL ? text : "");
    return RL_ERR_INVALID;
}

const char *rl_policy_name(rl_policy p)
{
    switch (p) {
    case RL_POLICY_DEPLOYED:
        return "deployed";
    case RL_POLICY_ATOMIC:
        return "atomic";
    }
    return "unknown";
}

const char *rl_outcome_name(rl_outcome o)
{
    switch (o) {
    case RL_ALLOWED:
        return "allowed";
    case RL_REJECTED_GLOBAL:
        return "global";
    case RL_REJECTED_CLIENT:
        return "client";
    }
    return "unknown";
}
