/*
 * replay_main.c: a main() for the fuzz harnesses without libFuzzer, so the
 * normal and sanitized builds run every harness over its seed corpus as a
 * ctest test (tests/suites/fuzz_corpus.cmake).
 *
 * Usage: fuzz_replay_<target> FILE|DIR...  Each file, and each regular
 * file directly in a directory, is passed once to LLVMFuzzerTestOneInput.
 * A broken promise aborts, as under libFuzzer; the exit status is 0 when
 * every input ran, 2 when one could not be read.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

/* The largest input read; seeds are far smaller (the biggest is 4 KiB). */
#define REPLAY_INPUT_MAX (4u << 20)

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = malloc(REPLAY_INPUT_MAX);
    size_t n = 0;
    int rc = 2;

    if (f == NULL || buf == NULL) {
        fprintf(stderr, "fuzz replay: cannot read %s\n", path);
        goto out;
    }
    n = fread(buf, 1, REPLAY_INPUT_MAX, f);
    if (ferror(f)) {
        fprintf(stderr, "fuzz replay: cannot read %s\n", path);
        goto out;
    }
    LLVMFuzzerTestOneInput(buf, n);
    rc = 0;
out:
    if (f != NULL)
        fclose(f);
    free(buf);
    return rc;
}

static int replay_path(const char *path, int *count)
{
    struct stat st;
    DIR *dir;
    struct dirent *e;
    char child[4096];
    int rc = 0;

    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        (*count)++;
        return replay_file(path);
    }
    dir = opendir(path);
    if (dir == NULL) {
        fprintf(stderr, "fuzz replay: cannot open directory %s\n", path);
        return 2;
    }
    while ((e = readdir(dir)) != NULL) {
        snprintf(child, sizeof(child), "%s/%s", path, e->d_name);
        if (e->d_name[0] == '.' || stat(child, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        (*count)++;
        if (replay_file(child) != 0)
            rc = 2;
    }
    closedir(dir);
    return rc;
}

int main(int argc, char **argv)
{
    int rc = 0, count = 0;

    if (LLVMFuzzerInitialize != NULL)
        LLVMFuzzerInitialize(&argc, &argv);
    for (int i = 1; i < argc; i++)
        if (replay_path(argv[i], &count) != 0)
            rc = 2;
    printf("fuzz replay: %d inputs ran\n", count);
    return count > 0 ? rc : 2;
}
