/*
 * cmd_limits.c: `ratelab limits`, which prints the limits in force and where
 * each value came from (default, environment, or a file's line or JSON
 * path), as text or JSON.
 *
 * The limits are loaded exactly as every other command loads them
 * (cli_load_limits), so what this command prints is what `sim`, `serve`
 * and `check` use.  Bad input exits 2 with one message; nothing is printed
 * on stdout then.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"

#define LIMITS_SCHEMA_VERSION 1

static const char limits_usage[] =
    "Usage: ratelab limits [--env FILE]... [--container NAME] [--json]\n"
    "\n"
    "Print the limits in force and where each value came from.\n"
    "\n"
    "Sources, each overriding the one before:\n"
    "  1. the defaults: DAILY_LIMIT_PER_MINER 20, DAILY_LIMIT_PER_VALIDATOR\n"
    "     10000, TOTAL_DAILY_LIMIT 200000;\n"
    "  2. the environment of this command;\n"
    "  3. each --env FILE, in the order given (a later file overrides an\n"
    "     earlier one).\n"
    "DAILY_LIMIT_PER_<ROLE> sets the per-client limit of role <role> (lower\n"
    "case); TOTAL_DAILY_LIMIT sets the total shared by all clients.\n"
    "\n"
    "Options:\n"
    "  --env FILE        a dotenv file (KEY=value lines) or a container task\n"
    "                    definition (JSON, read when the file starts with '{');\n"
    "                    repeatable; '-' reads standard input\n"
    "  --container NAME  in a task definition, the container whose environment\n"
    "                    applies; needed when several containers set limits\n"
    "  --json            print JSON (schema_version 1) instead of a table\n"
    "  -h, --help        print this help\n"
    "\n"
    "Values must be plain decimal integers from 0 to 9007199254740992: no sign,\n"
    "spaces, suffix, exponent or leading zero.  A file that sets a limit twice\n"
    "is an error.  See docs/limits.md.\n"
    "\n"
    "Exit status: 0 printed, 2 bad option or bad limit input (one message on\n"
    "stderr naming the file, line or JSON path, variable and value).\n";

typedef struct limits_options {
    const char **env_files; /* argv strings; the array is malloc'd */
    int n_env_files;
    const char *container;
    int json;
    int help;
    cli_once container_once; /* the first --container */
} limits_options;

/* Parses the options into *opt.  Returns 0, or CLI_EXIT_USAGE after
 * printing the message. */
static int parse_options(int argc, char **argv, limits_options *opt)
{
    static const struct option longopts[] = {
        {"env", required_argument, NULL, 'e'},
        {"container", required_argument, NULL, 'c'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;

    opterr = 0; /* messages below instead of getopt's own */
    optind = 1;
    while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'e':
            if (optarg[0] == '\0')
                return cli_usage_error("limits", "--env needs a file name");
            opt->env_files[opt->n_env_files++] = optarg;
            break;
        case 'c':
            if (cli_option_once("limits", &opt->container_once, "--container", optarg,
                                optarg) != 0)
                return CLI_EXIT_USAGE;
            if (optarg[0] == '\0')
                return cli_usage_error("limits", "--container needs a container "
                                                 "name");
            opt->container = optarg;
            break;
        case 'j':
            opt->json = 1;
            break;
        case 'h':
            opt->help = 1;
            break;
        case ':':
            return cli_usage_error("limits", "option '%s' needs a value",
                                   argv[optind - 1]);
        default:
            return cli_usage_error("limits", "unknown option '%s'",
                                   argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_error("limits", "unexpected argument '%s': files are "
                                         "given with --env FILE",
                               argv[optind]);
    if (opt->container != NULL && opt->n_env_files == 0)
        return cli_usage_error("limits", "--container needs a task definition "
                                         "given with --env FILE");
    return 0;
}

/* The variable that sets a role's limit: "miner" -> DAILY_LIMIT_PER_MINER. */
static void role_variable(const char *role, char *buf, size_t size)
{
    int n = snprintf(buf, size, "DAILY_LIMIT_PER_");
    for (size_t i = 0; role[i] != '\0' && (size_t)n + i + 1 < size; i++) {
        char c = role[i];
        buf[n + i] = (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
        buf[n + i + 1] = '\0';
    }
}

static void print_table(const rl_limits *l)
{
    int name_width = 12, value_width = 8;
    char value[32];

    /* Widen the columns for long role names and large values. */
    for (int i = 0; i < l->nroles; i++) {
        int n = (int)strlen(l->roles[i].name);
        int v = snprintf(value, sizeof(value), "%lld",
                         (long long)l->roles[i].per_client.value);
        name_width = n + 1 > name_width ? n + 1 : name_width;
        value_width = v + 1 > value_width ? v + 1 : value_width;
    }
    int v = snprintf(value, sizeof(value), "%lld", (long long)l->total.value);
    value_width = v + 1 > value_width ? v + 1 : value_width;

    for (int i = 0; i < l->nroles; i++) {
        snprintf(value, sizeof(value), "%lld", (long long)l->roles[i].per_client.value);
        printf("%-*s %-*s %s\n", name_width, l->roles[i].name, value_width, value,
               l->roles[i].per_client.origin);
    }
    snprintf(value, sizeof(value), "%lld", (long long)l->total.value);
    printf("%-*s %-*s %s\n", name_width, "total", value_width, value,
           l->total.origin);
}

/* One limit as a JSON object; NULL when out of memory. */
static json_t *limit_json(const char *value_key, const rl_limit_value *v,
                          const char *variable)
{
    return json_pack("{s:I, s:s, s:s, s:s}", value_key, (json_int_t)v->value,
                     "source", rl_source_name(v->source), "origin", v->origin,
                     "variable", variable);
}

/* Builds the --json document (see docs/limits.md); NULL when out of memory.
 * The caller releases it with json_decref. */
static json_t *limits_json(const rl_limits *l)
{
    char variable[64];
    json_t *root = json_object();
    json_t *limits = json_object();
    json_t *roles = json_object();
    int failed = root == NULL || limits == NULL || roles == NULL;

    /* json_object_set_new takes the reference even when it fails. */
    failed |= json_object_set_new(root, "schema_version",
                                  json_integer(LIMITS_SCHEMA_VERSION)) != 0;
    failed |= json_object_set_new(root, "limits", limits) != 0;
    failed |= json_object_set_new(limits, "roles", roles) != 0;
    for (int i = 0; i < l->nroles && !failed; i++) {
        role_variable(l->roles[i].name, variable, sizeof(variable));
        failed |= json_object_set_new(roles, l->roles[i].name,
                                      limit_json("per_client",
                                                 &l->roles[i].per_client,
                                                 variable)) != 0;
    }
    failed |= json_object_set_new(limits, "total",
                                  limit_json("per_window", &l->total,
                                             "TOTAL_DAILY_LIMIT")) != 0;
    if (failed) {
        json_decref(root);
        return NULL;
    }
    return root;
}

static int print_json(const rl_limits *l)
{
    json_t *doc = limits_json(l);
    char *text = doc != NULL ? json_dumps(doc, JSON_INDENT(2)) : NULL;

    json_decref(doc);
    if (text == NULL) {
        cli_error("limits: out of memory while writing JSON");
        return CLI_EXIT_USAGE;
    }
    printf("%s\n", text);
    free(text);
    return CLI_EXIT_OK;
}

static int run_limits(int argc, char **argv)
{
    limits_options opt = {0};
    rl_limits limits;
    int rc;

    /* Every --env takes an argument, so argc bounds their number. */
    opt.env_files = calloc((size_t)argc, sizeof(*opt.env_files));
    if (opt.env_files == NULL) {
        cli_error("limits: out of memory");
        return CLI_EXIT_USAGE;
    }
    rc = parse_options(argc, argv, &opt);
    if (rc != 0)
        goto out;
    if (opt.help) {
        fputs(limits_usage, stdout);
        goto out;
    }

    rc = cli_load_limits(&limits, opt.env_files, opt.n_env_files, opt.container);
    if (rc != 0)
        goto out;
    if (opt.json) {
        rc = print_json(&limits);
    } else {
        print_table(&limits);
        rc = CLI_EXIT_OK;
    }
out:
    free(opt.env_files);
    return rc;
}

const cli_command cli_cmd_limits = {
    "limits",
    "print the limits in force and where each value came from",
    limits_usage,
    run_limits,
};
