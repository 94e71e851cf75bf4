/*
 * rpt_gnuplot.c: finds gnuplot and runs it on written scripts, bounded in
 * time.
 *
 * gnuplot is optional at run time: without it the scripts stay on disk and
 * the note tells the reader the command that renders them.  Which gnuplot:
 * $RATELAB_GNUPLOT when set and not empty (a path; a path that is not an
 * executable file counts as "not found", which is how tests simulate a
 * machine without gnuplot), else the first executable "gnuplot" on PATH.
 *
 * The child runs in the output directory (the scripts find their data
 * there), reads /dev/null and writes stdout and stderr to gnuplot.log in
 * that directory; the log is removed when gnuplot succeeds and wrote
 * nothing.  After timeout_s seconds it is killed (SIGKILL) and reaped, so
 * no call leaves a process behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rpt_formats.h"

#define GP_PATH_MAX 4096
#define GP_ARGS_MAX 16

static int is_executable_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* Finds the gnuplot binary; returns 0 and fills path, or -1. */
static int find_gnuplot(char *path, size_t len)
{
    const char *forced = getenv("RATELAB_GNUPLOT");
    const char *dirs = getenv("PATH");

    if (forced != NULL && forced[0] != '\0') {
        snprintf(path, len, "%s", forced);
        return is_executable_file(path) ? 0 : -1;
    }
    while (dirs != NULL && *dirs != '\0') {
        const char *colon = strchr(dirs, ':');
        size_t n = colon != NULL ? (size_t)(colon - dirs) : strlen(dirs);
        if (n > 0 && (size_t)snprintf(path, len, "%.*s/gnuplot", (int)n, dirs) < len &&
            is_executable_file(path))
            return 0;
        dirs = colon != NULL ? colon + 1 : NULL;
    }
    return -1;
}

/* In the child: set up stdin, stdout, stderr and the directory, then exec.
 * Never returns. */
static void exec_child(const char *gnuplot, const char *dir, char *const *argv)
{
    int in = open("/dev/null", O_RDONLY);
    if (chdir(dir) != 0)
        _exit(126);
    int log = open("gnuplot.log", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || log < 0 || dup2(in, 0) < 0 || dup2(log, 1) < 0 || dup2(log, 2) < 0)
        _exit(126);
    execv(gnuplot, argv);
    _exit(127);
}

/* Waits for pid up to timeout_s; kills it after that.  Returns the wait
 * status, or -1 when it timed out. */
static int wait_bounded(pid_t pid, int timeout_s)
{
    struct timespec pause = {0, 20 * 1000 * 1000};
    long waited_ms = 0;
    int status;

    for (;;) {
        pid_t got = waitpid(pid, &status, WNOHANG);
        if (got == pid)
            return status;
        if (got < 0 && errno != EINTR)
            return -1;
        if (waited_ms >= (long)timeout_s * 1000) {
            kill(pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
            return -1;
        }
        nanosleep(&pause, NULL);
        waited_ms += 20;
    }
}

/* Reads the first line of dir/gnuplot.log into buf ("" when empty). */
static void first_log_line(const char *dir, char *buf, size_t len)
{
    char path[GP_PATH_MAX];
    FILE *f;

    buf[0] = '\0';
    snprintf(path, sizeof(path), "%s/gnuplot.log", dir);
    f = fopen(path, "r");
    if (f == NULL)
        return;
    while (fgets(buf, (int)len, f) != NULL && strspn(buf, " \t\r\n") == strlen(buf))
        ;
    fclose(f);
    buf[strcspn(buf, "\r\n")] = '\0';
}

static void remove_empty_log(const char *dir)
{
    char path[GP_PATH_MAX];
    struct stat st;

    snprintf(path, sizeof(path), "%s/gnuplot.log", dir);
    if (stat(path, &st) == 0 && st.st_size == 0)
        unlink(path);
}

/* "gnuplot DIR/a.gp DIR/b.gp": the command a reader can run. */
static void render_command(const char *dir, const char *const *scripts, size_t n,
                           char *buf, size_t len)
{
    size_t used = (size_t)snprintf(buf, len, "gnuplot");

    for (size_t i = 0; i < n && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, " %s/%s", dir, scripts[i]);
}

rpt_render_result rpt_plot_render(const char *dir, const char *const *scripts,
                                  size_t nscripts, int timeout_s, char *note,
                                  size_t note_len)
{
    char gnuplot[GP_PATH_MAX], command[RPT_NOTE_MAX / 2], line[256];
    char *argv[GP_ARGS_MAX + 2];

    render_command(dir, scripts, nscripts, command, sizeof(command));
    if (nscripts > GP_ARGS_MAX || find_gnuplot(gnuplot, sizeof(gnuplot)) < 0) {
        snprintf(note, note_len, "gnuplot not found; render with: %s", command);
        return RPT_NO_GNUPLOT;
    }
    argv[0] = "gnuplot";
    for (size_t i = 0; i < nscripts; i++)
        argv[i + 1] = (char *)scripts[i];
    argv[nscripts + 1] = NULL;

    fflush(NULL); /* the child must not repeat buffered output */
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(note, note_len, "could not start gnuplot (%s); render with: %s",
                 strerror(errno), command);
        return RPT_RENDER_FAILED;
    }
    if (pid == 0)
        exec_child(gnuplot, dir, argv);

    int status = wait_bounded(pid, timeout_s);
    if (status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        remove_empty_log(dir);
        note[0] = '\0';
        return RPT_RENDERED;
    }
    first_log_line(dir, line, sizeof(line));
    if (status == -1)
        snprintf(note, note_len, "gnuplot did not finish within %d s and was stopped; "
                                 "see %s/gnuplot.log, render with: %s",
                 timeout_s, dir, command);
    else
        snprintf(note, note_len, "gnuplot failed (%s%s); see %s/gnuplot.log, render "
                                 "with: %s",
                 line[0] ? "" : "no message", line, dir, command);
    return RPT_RENDER_FAILED;
}
