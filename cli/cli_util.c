/*
 * cli_util.c: helpers shared by the subcommands: error messages, whole-file
 * reads, the limits every command loads the same way, the stderr logger.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

extern char **environ;

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("ratelab: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int cli_usage_error(const char *command, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "ratelab %s: ", command);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'ratelab help %s'.\n", command);
    va_end(ap);
    return CLI_EXIT_USAGE;
}

int cli_parse_u64(const char *text, uint64_t *out)
{
    char *end;

    if (text[0] < '0' || text[0] > '9')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

int cli_option_once(const char *command, cli_once *slot, const char *option,
                    const char *arg, const char *value)
{
    if (slot->option == NULL) {
        *slot = (cli_once){option, arg, value};
        return 0;
    }
    if (strcmp(slot->value, value) == 0)
        return 0;

    if (strcmp(slot->option, option) == 0)
        return cli_usage_error(command, "%s given twice with different values, '%s' "
                                        "and '%s': give it once",
                               option, slot->arg != NULL ? slot->arg : slot->value,
                               arg != NULL ? arg : value);
    return cli_usage_error(command, "%s%s%s and %s%s%s conflict: give one of them",
                           slot->option, slot->arg != NULL ? " " : "",
                           slot->arg != NULL ? slot->arg : "", option,
                           arg != NULL ? " " : "", arg != NULL ? arg : "");
}

char *cli_read_file(const char *path, size_t max_bytes, size_t *len_out)
{
    int from_stdin = strcmp(path, "-") == 0;
    FILE *f = from_stdin ? stdin : fopen(path, "rb");
    if (f == NULL) {
        cli_error("cannot read %s: %s", path, strerror(errno));
        return NULL;
    }

    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    while (buf != NULL) {
        if (len + 1 >= cap) {
            char *bigger = realloc(buf, cap * 2);
            if (bigger == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
        size_t n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
        if (len > max_bytes) {
            cli_error("cannot read %s: larger than %zu bytes", path, max_bytes);
            free(buf);
            buf = NULL;
            break;
        }
        if (n == 0) {
            if (ferror(f)) {
                cli_error("cannot read %s: %s", path, strerror(errno));
                free(buf);
                buf = NULL;
            }
            break;
        }
    }
    if (buf == NULL && errno == ENOMEM)
        cli_error("cannot read %s: out of memory", path);
    if (!from_stdin)
        fclose(f);
    if (buf == NULL)
        return NULL;

    buf[len] = '\0';
    if (len_out != NULL)
        *len_out = len;
    return buf;
}

/* Deployment files are small; anything larger is not one. */
#define CLI_ENV_FILE_MAX (4u << 20)

int cli_load_limits(rl_limits *limits, const char *const *env_files,
                    int n_env_files, const char *container)
{
    rl_error err;
    int taskdefs = 0;

    rl_limits_init_defaults(limits);
    if (rl_limits_apply_environment_logged(limits, environ, cli_logger(), &err) < 0) {
        cli_error("%s", err.message);
        return CLI_EXIT_USAGE;
    }

    for (int i = 0; i < n_env_files; i++) {
        size_t len;
        char *text = cli_read_file(env_files[i], CLI_ENV_FILE_MAX, &len);
        if (text == NULL)
            return CLI_EXIT_USAGE;
        taskdefs += rl_limits_text_is_taskdef(text, len);
        int rc = rl_limits_apply_file_logged(limits, text, len, env_files[i],
                                             container, cli_logger(), &err);
        free(text);
        if (rc < 0) {
            cli_error("%s", err.message);
            return CLI_EXIT_USAGE;
        }
    }

    /* A container name with only dotenv files would otherwise do nothing. */
    if (container != NULL && taskdefs == 0) {
        cli_error("--container %s: no --env file is a task definition (JSON), "
                  "and a container is chosen only from one: remove --container "
                  "or add the task definition",
                  container);
        return CLI_EXIT_USAGE;
    }
    return 0;
}

static void stderr_sink(void *user, rl_log_level level, const char *line)
{
    (void)user;
    fprintf(stderr, "ratelab: %s: %s\n", rl_log_level_name(level), line);
}

int cli_check_log_level(void)
{
    const char *env = getenv("RATELAB_LOG");

    if (env != NULL && rl_log_level_parse(env) < 0) {
        cli_error("invalid RATELAB_LOG='%s': expected error, warn, info or debug "
                  "(or unset it for info)",
                  env);
        return CLI_EXIT_USAGE;
    }
    return 0;
}

const rl_logger *cli_logger(void)
{
    static rl_logger logger;
    static int ready;

    /* main() has rejected an invalid RATELAB_LOG before any command runs. */
    if (!ready) {
        const char *env = getenv("RATELAB_LOG");
        int level = env != NULL ? rl_log_level_parse(env) : RL_LOG_INFO;
        logger.sink = stderr_sink;
        logger.user = NULL;
        logger.max_level = level < 0 ? RL_LOG_INFO : (rl_log_level)level;
        ready = 1;
    }
    return &logger;
}
