/*
 * cli_report.c: --format, --out and --junit for `ratelab sim` and
 * `ratelab check` (see cli_report.h for the layout of --out).
 *
 * Runs are kept until the end because Markdown, JSON and JUnit are one
 * document over all of them.  A run's time series exists only with --out;
 * without it nothing is collected.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "cli_report.h"
#include "rpt.h"
#include "rpt_formats.h"

#define REPORT_PATH_MAX 4096

int cli_format_parse(const char *command, const char *text, cli_format *out)
{
    static const char *const names[] = {"text", "md", "json", "csv"};

    for (int i = 0; i < 4; i++) {
        if (strcmp(text, names[i]) == 0) {
            *out = (cli_format)i;
            return 0;
        }
    }
    return cli_usage_error(command, "--format '%s': expected text, md, json or csv",
                           text);
}

int cli_report_wants_series(const cli_report *rep)
{
    return rep->out_dir != NULL;
}

/* The observer of a run: the time-series collector and the command's own. */
typedef struct run_observers {
    sim_series_collector *collector;
    sim_request_fn fn;
    void *user;
} run_observers;

static void observe_all(void *user, const sim_request_info *info)
{
    run_observers *o = user;

    if (o->collector != NULL)
        sim_series_observe(o->collector, info);
    if (o->fn != NULL)
        o->fn(o->user, info);
}

int cli_report_run_scenario(const cli_report *rep, const sim_scenario *sc,
                            const sim_config *cfg, sim_result **r, sim_series **s)
{
    run_observers obs = {NULL, rep->observer, rep->observer_user};
    sim_config run_cfg = *cfg;
    rl_error err;
    int rc = 0;

    *r = NULL;
    *s = NULL;
    if (cli_report_wants_series(rep))
        rc = sim_series_collector_create(sc, &obs.collector, &err);
    if (obs.collector != NULL || obs.fn != NULL) {
        run_cfg.on_request = observe_all;
        run_cfg.user = &obs;
    }
    if (rc == 0)
        rc = sim_run(sc, &run_cfg, r, &err);
    if (rc == 0 && obs.collector != NULL)
        rc = sim_series_finish(obs.collector, s, &err);
    sim_series_collector_destroy(obs.collector);
    if (rc == 0)
        return 0;

    cli_error("%s", err.message);
    sim_result_destroy(*r);
    *r = NULL;
    return CLI_EXIT_USAGE;
}

/* ---- scenario paths ----------------------------------------------------- */

void cli_path_list_free(cli_path_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->paths[i]);
    free(l->paths);
    l->paths = NULL;
    l->n = l->cap = 0;
}

static int path_list_add(cli_path_list *l, const char *path)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        char **bigger = realloc(l->paths, cap * sizeof(*bigger));
        if (bigger == NULL)
            goto nomem;
        l->paths = bigger;
        l->cap = cap;
    }
    l->paths[l->n] = strdup(path);
    if (l->paths[l->n] == NULL)
        goto nomem;
    l->n++;
    return 0;

nomem:
    cli_error("out of memory listing scenario files");
    return -1;
}

static int compare_paths(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_scenario_name(const char *name)
{
    size_t n = strlen(name);

    return name[0] != '.' && n > 4 && strcmp(name + n - 4, ".ini") == 0;
}

/* Checks that the *.ini entry `name` of dir is a regular file (a link to
 * one counts) and adds it.  Anything else named *.ini is an error, not
 * skipped: a run that silently drops a scenario would pass a gate it was
 * meant to fail.  Returns 0, or -1 after printing the error. */
static int add_directory_entry(cli_path_list *l, const char *dir, const char *name)
{
    char path[SIM_PATH_MAX];
    struct stat st;
    int n = snprintf(path, sizeof(path), "%s%s%s", dir,
                     dir[strlen(dir) - 1] == '/' ? "" : "/", name);

    if (n < 0 || (size_t)n >= sizeof(path)) {
        cli_error("%s/%s: the path is too long (at most %d bytes); move the "
                  "scenario to a shorter path",
                  dir, name, SIM_PATH_MAX - 1);
        return -1;
    }
    if (stat(path, &st) != 0) {
        int saved = errno;
        if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
            cli_error("cannot read %s: it is a symbolic link whose target cannot "
                      "be read (%s); fix or remove the link",
                      path, strerror(saved));
        else
            cli_error("cannot read %s: %s", path, strerror(saved));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        cli_error("cannot use %s: it is %s, but a scenario must be a regular file; "
                  "rename it so that its name does not end in .ini, or move it out "
                  "of %s",
                  path,
                  S_ISDIR(st.st_mode) ? "a directory" : "a FIFO, socket or device", dir);
        return -1;
    }
    return path_list_add(l, path);
}

/* Adds the *.ini files directly in dir, sorted by name. */
static int add_directory(cli_path_list *l, const char *dir)
{
    DIR *d = opendir(dir);
    size_t first = l->n;
    struct dirent *e;
    int rc = 0;

    if (d == NULL) {
        cli_error("cannot open directory %s: %s", dir, strerror(errno));
        return -1;
    }
    for (;;) {
        errno = 0;
        e = readdir(d);
        if (e == NULL) {
            if (errno != 0) {
                cli_error("cannot list directory %s: %s", dir, strerror(errno));
                rc = -1;
            }
            break;
        }
        if (is_scenario_name(e->d_name) && add_directory_entry(l, dir, e->d_name) < 0) {
            rc = -1;
            break;
        }
    }
    closedir(d);
    if (rc == 0 && l->n == first) {
        cli_error("no scenario files (*.ini) in directory %s; name a file or a "
                  "directory that contains some",
                  dir);
        rc = -1;
    }
    if (rc == 0)
        qsort(l->paths + first, l->n - first, sizeof(*l->paths), compare_paths);
    return rc;
}

int cli_collect_scenarios(cli_path_list *l, int argc, char *const *argv)
{
    for (int i = 0; i < argc; i++) {
        struct stat st;
        int rc;

        if (stat(argv[i], &st) != 0) {
            cli_error("cannot read %s: %s", argv[i], strerror(errno));
            return -1;
        }
        if (S_ISDIR(st.st_mode)) {
            rc = add_directory(l, argv[i]);
        } else if (S_ISREG(st.st_mode)) {
            rc = path_list_add(l, argv[i]);
        } else {
            /* A FIFO or a device could block the read forever. */
            cli_error("cannot use %s: it is a FIFO, socket or device; name a "
                      "scenario file or a directory of them",
                      argv[i]);
            rc = -1;
        }
        if (rc < 0)
            return -1;
    }
    return 0;
}

int cli_report_add(cli_report *rep, sim_result *r, sim_series *s, char *note)
{
    if (rep->n == rep->cap) {
        size_t cap = rep->cap ? rep->cap * 2 : 16;
        cli_report_run *bigger = realloc(rep->runs, cap * sizeof(*bigger));
        if (bigger == NULL) {
            cli_error("out of memory keeping the results for the report");
            sim_result_destroy(r);
            sim_series_destroy(s);
            free(note);
            return CLI_EXIT_USAGE;
        }
        rep->runs = bigger;
        rep->cap = cap;
    }
    rep->runs[rep->n++] = (cli_report_run){r, s, note};
    return 0;
}

void cli_report_free(cli_report *rep)
{
    for (size_t i = 0; i < rep->n; i++) {
        sim_result_destroy(rep->runs[i].result);
        sim_series_destroy(rep->runs[i].series);
        free(rep->runs[i].note);
    }
    free(rep->runs);
    json_decref(rep->json_extra);
    rep->runs = NULL;
    rep->json_extra = NULL;
    rep->n = rep->cap = 0;
}

/* ---- writers ------------------------------------------------------------ */

typedef int (*write_fn)(FILE *out, const cli_report *rep, const void *arg);

/* Opens path, calls fn, closes; prints an error and returns CLI_EXIT_USAGE
 * on failure. */
static int write_to_path(const char *path, write_fn fn, const cli_report *rep,
                         const void *arg)
{
    FILE *out = fopen(path, "w");
    int rc;

    if (out == NULL) {
        cli_error("cannot write %s: %s", path, strerror(errno));
        return CLI_EXIT_USAGE;
    }
    rc = fn(out, rep, arg);
    if (fclose(out) != 0 && rc == 0)
        rc = RPT_ERR_IO;
    if (rc != 0) {
        cli_error("cannot write %s: %s", path, rpt_strerror(rc));
        return CLI_EXIT_USAGE;
    }
    return 0;
}

/* The results as the array the writers take; the caller frees it. */
static const sim_result **result_array(const cli_report *rep)
{
    const sim_result **a = calloc(rep->n + 1, sizeof(*a));

    for (size_t i = 0; a != NULL && i < rep->n; i++)
        a[i] = rep->runs[i].result;
    return a;
}

static const char **note_array(const cli_report *rep)
{
    const char **a = calloc(rep->n + 1, sizeof(*a));

    for (size_t i = 0; a != NULL && i < rep->n; i++)
        a[i] = rep->runs[i].note;
    return a;
}

static int write_md(FILE *out, const cli_report *rep, const void *arg)
{
    const char *plot_note = arg;
    const sim_result **results = result_array(rep);
    const char **notes = note_array(rep);
    char title[64];
    int rc = RPT_ERR_NOMEM;

    snprintf(title, sizeof(title), "ratelab %s report", rep->command);
    rpt_md_options opt = {rep->md_title != NULL ? rep->md_title : title, rep->md_intro,
                          notes, plot_note != NULL, plot_note};
    if (plot_note != NULL && plot_note[0] == '\0')
        opt.plot_note = NULL;
    if (results != NULL && notes != NULL)
        rc = rpt_md_write(out, results, rep->n, &opt);
    free(results);
    free(notes);
    return rc;
}

static int write_json(FILE *out, const cli_report *rep, const void *arg)
{
    json_t *doc = rpt_json_document_create();
    int rc = doc == NULL ? RPT_ERR_NOMEM : 0;

    (void)arg;
    for (size_t i = 0; rc == 0 && i < rep->n; i++)
        rc = rpt_json_document_add(doc, rep->runs[i].result);
    if (rc == 0 && rep->json_extra != NULL &&
        json_object_set(doc, "check", rep->json_extra) < 0)
        rc = RPT_ERR_NOMEM;
    if (rc == 0)
        rc = rpt_json_write(out, doc);
    json_decref(doc);
    return rc;
}

static int write_csv(FILE *out, const cli_report *rep, const void *arg)
{
    const sim_result **results = result_array(rep);
    int rc = results == NULL ? RPT_ERR_NOMEM : rpt_csv_summary(out, results, rep->n);

    (void)arg;
    free(results);
    return rc;
}

static int write_junit(FILE *out, const cli_report *rep, const void *arg)
{
    const sim_result **results = result_array(rep);
    const char **notes = note_array(rep);
    char suite[64];
    int rc = RPT_ERR_NOMEM;

    (void)arg;
    snprintf(suite, sizeof(suite), "ratelab %s", rep->command);
    if (results != NULL && notes != NULL)
        rc = rpt_junit_write(out, suite, results, rep->n, notes);
    free(results);
    free(notes);
    return rc;
}

static int write_hourly(FILE *out, const cli_report *rep, const void *arg)
{
    const cli_report_run *run = arg;
    (void)rep;
    return rpt_csv_hourly(out, run->result, run->series);
}

static int write_usage(FILE *out, const cli_report *rep, const void *arg)
{
    const cli_report_run *run = arg;
    (void)rep;
    return rpt_csv_usage(out, run->result, run->series);
}

/* ---- the --out directory ---------------------------------------------- */

/* Creates a directory and its missing parents. */
static int make_dirs(const char *path)
{
    char buf[REPORT_PATH_MAX];

    if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf)) {
        cli_error("cannot create %s: the path is too long", path);
        return CLI_EXIT_USAGE;
    }
    for (char *p = buf + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            break;
        *p = '/';
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
        cli_error("cannot create directory %s: %s", buf, strerror(errno));
        return CLI_EXIT_USAGE;
    }
    return 0;
}

/* Names must be unique: each scenario gets DIR/NAME. */
static int check_unique_names(const cli_report *rep)
{
    for (size_t i = 0; i < rep->n; i++) {
        for (size_t j = 0; j < i; j++) {
            if (strcmp(rep->runs[i].result->name, rep->runs[j].result->name) == 0) {
                cli_error("--out: scenarios %s and %s are both named '%s'; give one "
                          "of them another name = in [scenario]",
                          rep->runs[j].result->path, rep->runs[i].result->path,
                          rep->runs[i].result->name);
                return CLI_EXIT_USAGE;
            }
        }
    }
    return 0;
}

/* Writes DIR/NAME/ for one run and renders its plots; the first reason
 * plots were not rendered goes into reason (left as is when rendered). */
static int write_scenario_dir(const cli_report *rep, const cli_report_run *run,
                              char *reason, size_t reason_len)
{
    static const char *const scripts[] = {"usage.gp", "global.gp", "hourly.gp"};
    char dir[REPORT_PATH_MAX], path[REPORT_PATH_MAX + 16], note[RPT_NOTE_MAX];
    int rc;

    snprintf(dir, sizeof(dir), "%s/%s", rep->out_dir, run->result->name);
    if ((rc = make_dirs(dir)) != 0)
        return rc;
    snprintf(path, sizeof(path), "%s/hourly.csv", dir);
    if ((rc = write_to_path(path, write_hourly, rep, run)) != 0)
        return rc;
    snprintf(path, sizeof(path), "%s/usage.csv", dir);
    if ((rc = write_to_path(path, write_usage, rep, run)) != 0)
        return rc;
    if (rpt_plot_write(dir, run->result, run->series, rep->limits_from) != 0) {
        cli_error("cannot write the gnuplot scripts in %s: %s", dir, strerror(errno));
        return CLI_EXIT_USAGE;
    }

    rpt_render_result how = rpt_plot_render(dir, scripts, 3, RPT_GNUPLOT_TIMEOUT_S,
                                            note, sizeof(note));
    if (how != RPT_RENDERED) {
        fprintf(stderr, "ratelab: note: %s\n", note);
        if (reason[0] == '\0')
            snprintf(reason, reason_len, "%s",
                     how == RPT_NO_GNUPLOT ? "gnuplot not found" : "gnuplot failed");
    }
    return 0;
}

static int write_out_dir(const cli_report *rep)
{
    char path[REPORT_PATH_MAX + 16], reason[64] = "", plot_note[256] = "";
    int rc = check_unique_names(rep);

    if (rc == 0)
        rc = make_dirs(rep->out_dir);
    for (size_t i = 0; rc == 0 && i < rep->n; i++)
        rc = write_scenario_dir(rep, &rep->runs[i], reason, sizeof(reason));
    if (rc != 0)
        return rc;

    if (reason[0] != '\0')
        snprintf(plot_note, sizeof(plot_note), "Plots not rendered: %s.", reason);
    snprintf(path, sizeof(path), "%s/report.md", rep->out_dir);
    rc = write_to_path(path, write_md, rep, plot_note);
    snprintf(path, sizeof(path), "%s/report.json", rep->out_dir);
    if (rc == 0)
        rc = write_to_path(path, write_json, rep, NULL);
    snprintf(path, sizeof(path), "%s/summary.csv", rep->out_dir);
    if (rc == 0)
        rc = write_to_path(path, write_csv, rep, NULL);
    return rc;
}

/* Prints the chosen format on stdout (text is the command's own). */
static int print_stdout(const cli_report *rep)
{
    int rc = 0;

    switch (rep->format) {
    case CLI_FORMAT_TEXT:
        return 0;
    case CLI_FORMAT_MD:
        rc = write_md(stdout, rep, NULL);
        break;
    case CLI_FORMAT_JSON:
        rc = write_json(stdout, rep, NULL);
        break;
    case CLI_FORMAT_CSV:
        rc = write_csv(stdout, rep, NULL);
        break;
    }
    if (fflush(stdout) != 0 && rc == 0)
        rc = RPT_ERR_IO;
    if (rc != 0) {
        cli_error("cannot write the report: %s", rpt_strerror(rc));
        return CLI_EXIT_USAGE;
    }
    return 0;
}

int cli_report_finish(cli_report *rep)
{
    int rc = print_stdout(rep);

    if (rc == 0 && rep->out_dir != NULL)
        rc = write_out_dir(rep);
    if (rc == 0 && rep->junit_path != NULL)
        rc = write_to_path(rep->junit_path, write_junit, rep, NULL);
    return rc;
}
