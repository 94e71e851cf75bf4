/*
 * main.c: the `ratelab` command: dispatch to subcommands, `help`, `version`.
 *
 * ratelab answers whether a client cadence fits under daily request limits
 * (the simulator), and whether a live endpoint enforces the limits it was
 * configured with (the load generator and the probe).  Each subcommand is a
 * cli_command defined in its own cmd_*.c file.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

#ifndef RATELAB_VERSION
#define RATELAB_VERSION "unknown"
#endif

/* In the order `ratelab help` lists them. */
static const cli_command *const commands[] = {
    &cli_cmd_sim,   &cli_cmd_check, &cli_cmd_sweep, &cli_cmd_limits,
    &cli_cmd_serve, &cli_cmd_load,  &cli_cmd_probe, &cli_cmd_merge,
    &cli_cmd_store_bench,
};
#define COMMAND_COUNT (sizeof(commands) / sizeof(commands[0]))

static const cli_command *find_command(const char *name)
{
    for (size_t i = 0; i < COMMAND_COUNT; i++) {
        if (strcmp(commands[i]->name, name) == 0)
            return commands[i];
    }
    return NULL;
}

static void print_overview(FILE *out)
{
    fprintf(out, "ratelab %s: does a client cadence fit under daily request limits,\n"
                 "and does a live endpoint enforce the limits it was given?\n\n"
                 "Usage: ratelab COMMAND [OPTIONS] [ARGS]\n\nCommands:\n",
            RATELAB_VERSION);
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        fprintf(out, "  %-12s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(out, "  %-12s %s\n", "help", "show this list, or one command's options");
    fprintf(out, "  %-12s %s\n", "version", "print the version");
    fprintf(out, "\nExit status: 0 success, 1 a check failed, 2 bad input.\n"
                 "Run 'ratelab help COMMAND' for a command's options.\n");
}

static int run_help(int argc, char **argv)
{
    if (argc < 2) {
        print_overview(stdout);
        return CLI_EXIT_OK;
    }
    const cli_command *c = find_command(argv[1]);
    if (c == NULL) {
        cli_error("unknown command '%s'; run 'ratelab help' for the list", argv[1]);
        return CLI_EXIT_USAGE;
    }
    fputs(c->usage, stdout);
    return CLI_EXIT_OK;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_overview(stderr);
        return CLI_EXIT_USAGE;
    }

    const char *name = argv[1];
    if (strcmp(name, "help") == 0 || strcmp(name, "--help") == 0 ||
        strcmp(name, "-h") == 0)
        return run_help(argc - 1, argv + 1);
    if (strcmp(name, "version") == 0 || strcmp(name, "--version") == 0) {
        printf("ratelab %s\n", RATELAB_VERSION);
        return CLI_EXIT_OK;
    }

    const cli_command *c = find_command(name);
    if (c == NULL) {
        cli_error("unknown command '%s'; run 'ratelab help' for the list", name);
        return CLI_EXIT_USAGE;
    }
    if (cli_check_log_level() != 0)
        return CLI_EXIT_USAGE;
    /* Subcommands see argv[0] = their own name, as getopt expects. */
    return c->run(argc - 1, argv + 1);
}
