/*
 * fuzz_server_body.c: the reference server's request handling without
 * HTTP: arbitrary bytes as the body of each limited route, through
 * srv_body_parse and then srv_handle_access (status and JSON body, as
 * libmicrohttpd would send them) with a memory store.
 *
 * The first input byte picks the route and the policy; the rest is the
 * body, given with its length and no terminator, as srv_http.c passes it.
 * The application state is set up here the way srv_server_create() sets it
 * up, without a daemon; keep the two in step.  Every reply must have a
 * known status and a body that is valid JSON.
 */
#include <jansson.h>

#include "fuzz_common.h"
#include "srv_internal.h"

static rl_limits fuzz_limits;
static srv_app fuzz_apps[2]; /* [0] deployed policy, [1] atomic */

static int memory_factory(void *user, rl_store **out, rl_error *err)
{
    (void)user;
    *out = rl_store_memory_create();
    if (*out == NULL) {
        rl_error_set(err, "out of memory creating the memory store");
        return RL_ERR_NOMEM;
    }
    return 0;
}

static void app_init(srv_app *app, rl_policy policy)
{
    rl_error err;

    memset(app, 0, sizeof(*app));
    srv_config_init(&app->cfg);
    app->cfg.limits = &fuzz_limits;
    app->cfg.policy = policy;
    app->cfg.store_factory = memory_factory;
    app->role_miner = rl_limits_role_index(&fuzz_limits, "miner");
    app->role_validator = rl_limits_role_index(&fuzz_limits, "validator");
    pthread_mutex_init(&app->store_log_lock, NULL);
    rl_limiter_init(&app->limiter, &fuzz_limits, NULL);
    app->limiter.window = app->cfg.window;
    app->limiter.policy = policy;
    if (srv_store_pool_create(memory_factory, NULL, 0, &app->stores, &err) < 0) {
        fprintf(stderr, "fuzz_server_body: %s\n", err.message);
        abort();
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    rl_limits_init_defaults(&fuzz_limits);
    app_init(&fuzz_apps[0], RL_POLICY_DEPLOYED);
    app_init(&fuzz_apps[1], RL_POLICY_ATOMIC);
    return 0;
}

static void check_body_parse(const char *body, size_t len, srv_body_kind kind)
{
    srv_access_request req;
    json_t *errors = NULL;
    int rc = srv_body_parse(body, len, kind, &req, &errors);

    FUZZ_CHECK(rc == 0 || rc == 1 || rc == RL_ERR_NOMEM, "status %d", rc);
    if (rc == 1) {
        FUZZ_CHECK(json_array_size(errors) > 0, "422 without errors");
        char *text = json_dumps(errors, JSON_COMPACT);
        FUZZ_CHECK(text != NULL, "errors do not serialise");
        free(text);
    }
    if (rc == 0)
        FUZZ_CHECK(req.hotkey[0] != '\0', "accepted without a hotkey");
    json_decref(errors);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const srv_route routes[] = {SRV_ROUTE_FOLDER, SRV_ROUTE_VALIDATOR,
                                       SRV_ROUTE_MINER_SPECIFIC};
    /* 2025-01-01T00:05:00Z: bodies with timestamp 1735689600 are fresh. */
    const int64_t now_us = 1735689900LL * 1000000LL;
    srv_reply reply = {0};
    char *body;

    if (size == 0 || size - 1 > SRV_BODY_MAX)
        return 0;
    body = fuzz_copy(data + 1, size - 1);
    if (body == NULL)
        return 0;
    check_body_parse(body, size - 1, data[0] & 1 ? SRV_BODY_VALIDATOR : SRV_BODY_MINER);

    srv_app *app = &fuzz_apps[(data[0] >> 2) & 1];
    srv_handle_access(app, routes[((data[0] >> 3) & 3) % 3], body, size - 1, now_us,
                      &reply);
    FUZZ_CHECK(reply.status >= 200 && reply.status < 600, "status %u", reply.status);
    FUZZ_CHECK(reply.result < SRV_RESULT_COUNT, "result %d", (int)reply.result);
    FUZZ_CHECK(reply.body != NULL, "status %u without a body", reply.status);
    json_error_t jerr;
    json_t *parsed = json_loads(reply.body, 0, &jerr);
    FUZZ_CHECK(parsed != NULL, "reply body is not JSON: %s", reply.body);
    json_decref(parsed);
    srv_reply_free(&reply);
    free(body);
    return 0;
}
