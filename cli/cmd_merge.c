/*
 * cmd_merge.c: `ratelab merge`, which adds load results written by
 * `ratelab load --out` (on one machine or several) into one.
 *
 * Counts and histograms add exactly because every result uses the same
 * bucket layout; the merged percentiles are those of all the requests
 * together, not an average of percentiles.  Rates add, as for runs that
 * took place at the same time.
 *
 * Exit status: 0 merged, 2 a file is missing, unreadable or not a result.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "lg_json.h"

static const char merge_usage[] =
    "Usage: ratelab merge [--json] [--out FILE] RESULT.json...\n"
    "\n"
    "Merge the JSON results of 'ratelab load --out FILE' runs, for example\n"
    "from several machines loading one endpoint at the same time.  Status\n"
    "and error counts and the latency histograms add exactly, so the merged\n"
    "percentiles are those of every request together.  Requests per second\n"
    "add up; the duration is the longest run's.  Time series add bucket by\n"
    "bucket from each run's start, when every result has one of the same\n"
    "bucket width.\n"
    "\n"
    "Options:\n"
    "  --json        print the merged result as JSON instead of text\n"
    "  --out FILE    also write the merged JSON result to FILE\n"
    "  -h, --help    print this help\n"
    "\n"
    "Exit status: 0 merged, 2 bad input (a file that is not a load result,\n"
    "or histograms of another layout).\n";

#define MERGE_FILE_MAX_BYTES (64u << 20)

/* Reads one result file into r (initialised by the caller). */
static int read_result(const char *path, lg_result *r)
{
    rl_error err;
    json_error_t jerr;
    size_t len;
    char *text = cli_read_file(path, MERGE_FILE_MAX_BYTES, &len);
    if (text == NULL)
        return CLI_EXIT_USAGE;
    json_t *doc = json_loadb(text, len, 0, &jerr);
    free(text);
    if (doc == NULL) {
        cli_error("%s:%d: invalid JSON: %s", path, jerr.line, jerr.text);
        return CLI_EXIT_USAGE;
    }
    int rc = lg_result_from_json(r, doc, path, &err);
    json_decref(doc);
    if (rc < 0) {
        cli_error("%s", err.message);
        return CLI_EXIT_USAGE;
    }
    return 0;
}

static int merge_files(char **paths, int n, lg_result *acc)
{
    int rc = read_result(paths[0], acc);
    int any_series = rc == 0 && acc->stats.series != NULL;
    for (int i = 1; rc == 0 && i < n; i++) {
        lg_result one;
        if (lg_result_init(&one) < 0) {
            cli_error("out of memory");
            return CLI_EXIT_USAGE;
        }
        rc = read_result(paths[i], &one);
        any_series |= rc == 0 && one.stats.series != NULL;
        if (rc == 0)
            lg_result_merge(acc, &one);
        lg_result_free(&one);
    }
    if (rc == 0 && any_series && acc->stats.series == NULL)
        fprintf(stderr, "ratelab merge: warning: the time series are left out, because not "
                        "every result has one with the same bucket width\n");
    return rc;
}

static int merge_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'j'},
        {"out", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int json = 0, ch;
    const char *out_path = NULL;
    rl_error err;

    opterr = 0;
    optind = 1;
    while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        if (ch == ':')
            return cli_usage_error("merge", "option '%s' needs a value", argv[optind - 1]);
        if (ch == '?')
            return cli_usage_error("merge", "unknown option '%s'", argv[optind - 1]);
        if (ch == 'h') {
            fputs(merge_usage, stdout);
            return CLI_EXIT_OK;
        }
        if (ch == 'j')
            json = 1;
        else
            out_path = optarg;
    }
    if (optind >= argc)
        return cli_usage_error("merge", "no result files given: name the JSON files "
                                        "written by 'ratelab load --out FILE'");

    lg_result acc;
    if (lg_result_init(&acc) < 0) {
        cli_error("out of memory");
        return CLI_EXIT_USAGE;
    }
    int rc = merge_files(argv + optind, argc - optind, &acc);
    json_t *doc = rc == 0 ? lg_result_to_json(&acc) : NULL;
    if (rc == 0 && doc == NULL) {
        cli_error("out of memory while writing the merged result");
        rc = CLI_EXIT_USAGE;
    }
    if (rc == 0 && out_path != NULL && lg_json_write(doc, out_path, &err) < 0)
        rc = CLI_EXIT_USAGE;
    if (rc == 0 && json && lg_json_write(doc, NULL, &err) < 0)
        rc = CLI_EXIT_USAGE;
    if (rc == CLI_EXIT_USAGE && doc != NULL)
        cli_error("%s", err.message);
    if (rc == 0 && !json)
        lg_result_print_text(stdout, &acc);
    json_decref(doc);
    lg_result_free(&acc);
    return rc;
}

const cli_command cli_cmd_merge = {
    .name = "merge",
    .summary = "merge JSON results of load runs into one (exact histograms)",
    .usage = merge_usage,
    .run = merge_main,
};
