/*
 * tst_support.c: process, file and server helpers for the CUnit suites.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <hiredis/hiredis.h>

#include "tst_support.h"

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return strdup("");
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf != NULL && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (len + 1 >= cap) {
            cap *= 2;
            char *bigger = realloc(buf, cap);
            if (bigger == NULL) {
                free(buf);
                buf = NULL;
            } else {
                buf = bigger;
            }
        }
    }
    fclose(f);
    if (buf != NULL)
        buf[len] = '\0';
    return buf;
}

static int status_of(int wstatus)
{
    if (WIFEXITED(wstatus))
        return WEXITSTATUS(wstatus);
    if (WIFSIGNALED(wstatus))
        return 128 + WTERMSIG(wstatus);
    return -1;
}

int tst_run(char *const argv[], const char *input, int timeout_s, tst_output *out)
{
    char dir[] = "/tmp/rltst.XXXXXX";
    char out_path[64], err_path[64], in_path[64];

    memset(out, 0, sizeof(*out));
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(out_path, sizeof(out_path), "%s/out", dir);
    snprintf(err_path, sizeof(err_path), "%s/err", dir);
    snprintf(in_path, sizeof(in_path), "%s/in", dir);
    if (input != NULL) {
        FILE *f = fopen(in_path, "wb");
        if (f == NULL)
            return -1;
        fputs(input, f);
        fclose(f);
    }

    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int in = open(input != NULL ? in_path : "/dev/null", O_RDONLY);
        int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (in < 0 || o < 0 || e < 0)
            _exit(127);
        dup2(in, 0);
        dup2(o, 1);
        dup2(e, 2);
        execv(argv[0], argv);
        _exit(127);
    }

    long deadline = now_ms() + (long)timeout_s * 1000L;
    int wstatus = 0;
    out->status = -1;
    for (;;) {
        pid_t done = waitpid(pid, &wstatus, WNOHANG);
        if (done == pid) {
            out->status = status_of(wstatus);
            break;
        }
        if (now_ms() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &wstatus, 0);
            out->status = -1;
            break;
        }
        sleep_ms(5);
    }

    out->out = slurp(out_path);
    out->err = slurp(err_path);
    unlink(out_path);
    unlink(err_path);
    unlink(in_path);
    rmdir(dir);
    return 0;
}

int tst_ratelab_argv(tst_output *out, char *const args[])
{
    char *argv[128];
    int n = 0;

    argv[n++] = (char *)RATELAB_BIN;
    for (int i = 0; args[i] != NULL && n < 127; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    return tst_run(argv, NULL, 300, out);
}

int tst_ratelab(tst_output *out, const char *arg, ...)
{
    char *args[127];
    int n = 0;
    va_list ap;

    va_start(ap, arg);
    for (const char *a = arg; a != NULL && n < 126; a = va_arg(ap, const char *))
        args[n++] = (char *)a;
    va_end(ap);
    args[n] = NULL;
    return tst_ratelab_argv(out, args);
}

void tst_output_free(tst_output *out)
{
    free(out->out);
    free(out->err);
    out->out = out->err = NULL;
}

const char *tst_tmpdir(void)
{
    static char path[256];
    const char *base = getenv("TMPDIR");
    snprintf(path, sizeof(path), "%s/ratelab-test.XXXXXX", base ? base : "/tmp");
    if (mkdtemp(path) == NULL)
        return NULL;
    return path;
}

char *tst_write_file(const char *dir, const char *name, const char *text)
{
    size_t len = strlen(dir) + strlen(name) + 2;
    char *path = malloc(len);
    if (path == NULL)
        return NULL;
    snprintf(path, len, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        free(path);
        return NULL;
    }
    fputs(text, f);
    fclose(f);
    return path;
}

int tst_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t alen = sizeof(a);
    int port = -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &alen) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

int tst_wait_port(int port, int timeout_ms)
{
    long deadline = now_ms() + timeout_ms;
    while (now_ms() < deadline) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0)
            return -1;
        struct sockaddr_in a;
        memset(&a, 0, sizeof(a));
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons((uint16_t)port);
        int ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
        close(fd);
        if (ok)
            return 0;
        sleep_ms(20);
    }
    return -1;
}

pid_t tst_spawn(char *const argv[], const char *log_path)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    int fd = open(log_path != NULL ? log_path : "/dev/null",
                  O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int in = open("/dev/null", O_RDONLY);
    if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
    }
    if (in >= 0)
        dup2(in, 0);
    execvp(argv[0], argv);
    _exit(127);
}

int tst_stop(pid_t pid, int sig, int timeout_ms)
{
    int wstatus;
    if (pid <= 0)
        return -1;
    kill(pid, sig);
    long deadline = now_ms() + timeout_ms;
    while (now_ms() < deadline) {
        if (waitpid(pid, &wstatus, WNOHANG) == pid)
            return status_of(wstatus);
        sleep_ms(10);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &wstatus, 0);
    return -1;
}

static int redis_installed(void)
{
    static int warned;
    if (access("/usr/bin/redis-server", X_OK) == 0)
        return 1;
    if (!warned) {
        fprintf(stderr, "redis-server not found: install it with "
                        "'apt-get install redis-server' to run this suite\n");
        warned = 1;
    }
    return 0;
}

static int redis_ping(int port)
{
    struct timeval tv = {0, 200000};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
    int ok = 0;
    if (c != NULL && !c->err) {
        redisReply *r = redisCommand(c, "PING");
        ok = r != NULL && r->type == REDIS_REPLY_STATUS;
        freeReplyObject(r);
    }
    redisFree(c);
    return ok;
}

static int redis_launch(tst_redis *r)
{
    char port[16];
    snprintf(port, sizeof(port), "%d", r->port);
    char *argv[] = {"redis-server", "--port", port, "--bind", "127.0.0.1",
                    "--save", "", "--appendonly", "no", "--daemonize", "no",
                    "--protected-mode", "yes", NULL};
    char *prog = "/usr/bin/redis-server";
    argv[0] = prog;
    r->pid = tst_spawn(argv, NULL);
    if (r->pid < 0)
        return -1;
    long deadline = now_ms() + 5000;
    while (now_ms() < deadline) {
        if (redis_ping(r->port))
            return 0;
        sleep_ms(20);
    }
    tst_stop(r->pid, SIGKILL, 1000);
    r->pid = -1;
    return -1;
}

int tst_redis_start(tst_redis *r)
{
    memset(r, 0, sizeof(*r));
    r->pid = -1;
    if (!redis_installed())
        return -1;
    for (int attempt = 0; attempt < 5; attempt++) {
        r->port = tst_free_port();
        if (r->port > 0 && redis_launch(r) == 0) {
            snprintf(r->url, sizeof(r->url), "redis://127.0.0.1:%d/0", r->port);
            return 0;
        }
    }
    return -1;
}

int tst_redis_restart(tst_redis *r)
{
    return redis_launch(r);
}

void tst_redis_stop(tst_redis *r)
{
    if (r->pid > 0)
        tst_stop(r->pid, SIGTERM, 3000);
    r->pid = -1;
}

int tst_main(const char *suite, CU_InitializeFunc init, CU_CleanupFunc clean,
             CU_TestInfo *tests)
{
    signal(SIGPIPE, SIG_IGN);
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    CU_SuiteInfo suites[] = {{suite, init, clean, NULL, NULL, tests},
                             CU_SUITE_INFO_NULL};
    if (CU_register_suites(suites) != CUE_SUCCESS) {
        fprintf(stderr, "%s: cannot register: %s\n", suite, CU_get_error_msg());
        CU_cleanup_registry();
        return 2;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    unsigned suites_failed = CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    return failed == 0 && suites_failed == 0 ? 0 : 1;
}

int tst_contains(const char *haystack, const char *needle)
{
    return haystack != NULL && strstr(haystack, needle) != NULL;
}
