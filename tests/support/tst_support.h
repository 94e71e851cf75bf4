/*
 * tst_support.h: what the CUnit suites share: running the ratelab binary
 * and capturing its output, temporary files, free loopback ports, and a
 * private redis-server per suite.
 *
 * Every server a test starts listens on 127.0.0.1 only.
 */
#ifndef TST_SUPPORT_H
#define TST_SUPPORT_H

#include <stddef.h>
#include <sys/types.h>

#include <CUnit/CUnit.h>

/* Output of a finished command.  Free with tst_output_free(). */
typedef struct tst_output {
    int status;   /* exit status, or 128 + signal, or -1 when it timed out */
    char *out;    /* stdout, NUL-terminated */
    char *err;    /* stderr, NUL-terminated */
} tst_output;

/* Runs argv (argv[0] is a path) with stdin from `input` (NULL: /dev/null),
 * killing it after timeout_s seconds.  Returns 0, or -1 when it could not
 * start. */
int tst_run(char *const argv[], const char *input, int timeout_s, tst_output *out);

/* Runs the ratelab binary with the given arguments (NULL-terminated). */
int tst_ratelab(tst_output *out, const char *arg, ...) __attribute__((sentinel));
/* Same with an argv array (without the program name). */
int tst_ratelab_argv(tst_output *out, char *const args[]);

void tst_output_free(tst_output *out);

/* Creates a fresh directory under $TMPDIR; the returned path is static
 * storage valid until the next call.  Directories are left for inspection. */
const char *tst_tmpdir(void);

/* Writes text to dir/name and returns a malloc'd path (caller frees). */
char *tst_write_file(const char *dir, const char *name, const char *text);

/* Returns a TCP port on 127.0.0.1 that was free a moment ago, or -1. */
int tst_free_port(void);

/* Waits until something accepts TCP connections on 127.0.0.1:port;
 * returns 0, or -1 after timeout_ms. */
int tst_wait_port(int port, int timeout_ms);

/* A private redis-server on 127.0.0.1:port, without persistence. */
typedef struct tst_redis {
    pid_t pid;
    int port;
    char url[64]; /* redis://127.0.0.1:PORT/0 */
} tst_redis;

/* Starts redis-server.  Returns 0; -1 when redis-server is not installed
 * (a message saying how to install it is printed once) or did not start. */
int tst_redis_start(tst_redis *r);
/* Starts it again on the same port after tst_redis_stop(). */
int tst_redis_restart(tst_redis *r);
void tst_redis_stop(tst_redis *r);

/* Starts a process in the background (stdout and stderr to log_path, NULL:
 * /dev/null).  Returns its pid or -1. */
pid_t tst_spawn(char *const argv[], const char *log_path);
/* Sends sig, then waits up to timeout_ms; SIGKILL after that.  Returns the
 * exit status as tst_output.status does. */
int tst_stop(pid_t pid, int sig, int timeout_ms);

/* Runs a suite's tests in CUnit's basic mode and returns the process exit
 * status (0 when every assertion passed).  init/clean may be NULL. */
int tst_main(const char *suite, CU_InitializeFunc init, CU_CleanupFunc clean,
             CU_TestInfo *tests);

/* True when haystack contains needle (NULL haystack: false). */
int tst_contains(const char *haystack, const char *needle);

#endif
