/*
 * rpt_junit.c: JUnit XML for CI systems.
 *
 * The document is the common subset that Jenkins, GitLab and the GitHub
 * test-report actions read: <testsuites> holding one <testsuite>, whose
 * <testcase> elements have a classname (the scenario's name) and a name
 * (the [expect] key), and a <failure message="..."> child when the
 * expectation failed.  The message is the expectation's explanation,
 * e.g. "outcome fits: failed (rejects)"; the failure's text adds the
 * verdict line and the caller's note.  A scenario without expectations
 * gives one passing test case named "verdict", so every scenario shows up.
 *
 * Everything written between tags or in an attribute goes through
 * rpt_xml_escape().
 */
#include <stdlib.h>
#include <string.h>

#include "rpt_formats.h"

#define VERDICT_MAX 1024

char *rpt_xml_escape(const char *text)
{
    size_t len = 0;

    for (const char *c = text; *c != '\0'; c++)
        len += strchr("&<>\"'", *c) != NULL ? 6 : 1;
    char *out = malloc(len + 1), *o = out;
    if (out == NULL)
        return NULL;

    for (const unsigned char *c = (const unsigned char *)text; *c != '\0'; c++) {
        const char *entity = NULL;
        switch (*c) {
        case '&': entity = "&amp;"; break;
        case '<': entity = "&lt;"; break;
        case '>': entity = "&gt;"; break;
        case '"': entity = "&quot;"; break;
        case '\'': entity = "&apos;"; break;
        default: break;
        }
        if (entity != NULL) {
            strcpy(o, entity);
            o += strlen(entity);
        } else if (*c < 0x20 && *c != '\t' && *c != '\n' && *c != '\r') {
            *o++ = '?'; /* not allowed anywhere in XML 1.0 */
        } else {
            *o++ = (char)*c;
        }
    }
    *o = '\0';
    return out;
}

/* Writes text escaped; returns -1 when out of memory. */
static int put_escaped(FILE *out, const char *text)
{
    char *escaped = rpt_xml_escape(text);

    if (escaped == NULL)
        return -1;
    fputs(escaped, out);
    free(escaped);
    return 0;
}

static void count_cases(const sim_result *const *results, size_t n, size_t *tests,
                        size_t *failures)
{
    *tests = 0;
    *failures = 0;
    for (size_t i = 0; i < n; i++) {
        const sim_result *r = results[i];
        *tests += r->nexpectations > 0 ? (size_t)r->nexpectations : 1;
        for (int k = 0; k < r->nexpectations; k++)
            *failures += !r->expectations[k].met;
    }
}

/* One <testcase>; returns -1 when out of memory. */
static int write_case(FILE *out, const sim_result *r, const char *name,
                      const sim_expect_result *e, const char *verdict, const char *note)
{
    int rc = 0;

    fputs("    <testcase classname=\"", out);
    rc |= put_escaped(out, r->name);
    fputs("\" name=\"", out);
    rc |= put_escaped(out, name);
    fputs("\" time=\"0\">\n", out);
    if (e != NULL && !e->met) {
        fputs("      <failure type=\"expectation\" message=\"", out);
        rc |= put_escaped(out, e->explanation);
        fputs("\">", out);
        rc |= put_escaped(out, verdict);
        if (note != NULL) {
            fputc('\n', out);
            rc |= put_escaped(out, note);
        }
        fputs("</failure>\n", out);
    } else {
        fputs("      <system-out>", out);
        rc |= put_escaped(out, e != NULL ? e->explanation : verdict);
        fputs("</system-out>\n", out);
    }
    fputs("    </testcase>\n", out);
    return rc;
}

int rpt_junit_write(FILE *out, const char *suite, const sim_result *const *results,
                    size_t n, const char *const *notes)
{
    char verdict[VERDICT_MAX];
    size_t tests, failures;
    int rc = 0;

    count_cases(results, n, &tests, &failures);
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"", out);
    rc |= put_escaped(out, suite);
    fprintf(out, "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\">\n", tests, failures);
    fputs("  <testsuite name=\"", out);
    rc |= put_escaped(out, suite);
    fprintf(out, "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"0\">\n",
            tests, failures);

    for (size_t i = 0; i < n && rc == 0; i++) {
        const sim_result *r = results[i];
        const char *note = notes != NULL ? notes[i] : NULL;

        rpt_text_verdict(r, verdict, sizeof(verdict));
        if (r->nexpectations == 0)
            rc |= write_case(out, r, "verdict", NULL, verdict, note);
        for (int k = 0; k < r->nexpectations; k++)
            rc |= write_case(out, r, r->expectations[k].key, &r->expectations[k],
                             verdict, note);
    }
    fputs("  </testsuite>\n</testsuites>\n", out);
    if (rc != 0)
        return RPT_ERR_NOMEM;
    return ferror(out) ? RPT_ERR_IO : RPT_OK;
}
