/* examples/request_handler.c — a request handler with a per-request arena
 * and scratch arenas (docs/arena.md).
 *
 * Every request gets the same arena, reset when the response has been
 * sent: the parsed request, the headers and the response all live there
 * and die together.  Helpers that need working memory they do not return
 * (here: escaping and formatting) take a scratch arena, passing the
 * request arena as a conflict so their temporaries never interleave with
 * the memory they return.
 *
 * The program serves 20,000 generated requests, checks every response
 * against an independently computed length and checksum, checks that the
 * request arena is back at its start after each request and that its
 * committed memory stays bounded, and prints a summary.  Exit status 0
 * means every check passed; meson test runs it.
 */
#include <stdio.h>
#include <string.h>

#include "reservoir/arena.h"

typedef struct header {
    const char *name, *value;
    struct header *next;
} header_t;

typedef struct request {
    const char *method, *path;
    header_t *headers;
    size_t nheaders;
} request_t;

/* Copies [s, s + n) into the arena as a C string. */
static char *arena_strndup(rsv_arena_t *a, const char *s, size_t n)
{
    char *d = rsv_arena_alloc(a, n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

/* Parses "METHOD PATH\nName: value\n..." into the request arena. */
static request_t *parse(rsv_arena_t *a, const char *text)
{
    request_t *r = RSV_NEW_ZERO(a, request_t);
    const char *sp = strchr(text, ' '), *nl = strchr(text, '\n');
    if (!r || !sp || !nl || sp > nl) return NULL;
    r->method = arena_strndup(a, text, (size_t)(sp - text));
    r->path = arena_strndup(a, sp + 1, (size_t)(nl - sp - 1));
    header_t **tail = &r->headers;
    for (const char *line = nl + 1; *line;) {
        const char *end = strchr(line, '\n');
        const char *colon = strchr(line, ':');
        if (!end || !colon || colon > end) return NULL;
        header_t *h = RSV_NEW_ZERO(a, header_t);
        h->name = arena_strndup(a, line, (size_t)(colon - line));
        h->value = arena_strndup(a, colon + 2, (size_t)(end - colon - 2));
        *tail = h;
        tail = &h->next;
        r->nheaders++;
        line = end + 1;
    }
    return r;
}

/* HTML-escapes s into `out` (the arena the caller keeps); the worst-case
 * buffer is a temporary in a scratch arena that is not `out`. */
static char *escape(rsv_arena_t *out, const char *s)
{
    rsv_arena_t *conflicts[] = { out };
    rsv_temp_t scratch = rsv_scratch_begin(conflicts, 1);
    if (!scratch.arena) return NULL;
    size_t n = strlen(s);
    char *tmp = RSV_NEW_ARRAY(scratch.arena, char, n * 6 + 1);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const char *rep = s[i] == '<' ? "&lt;" : s[i] == '>' ? "&gt;" : s[i] == '&' ? "&amp;" : NULL;
        if (rep) {
            memcpy(tmp + k, rep, strlen(rep));
            k += strlen(rep);
        } else {
            tmp[k++] = s[i];
        }
    }
    char *result = arena_strndup(out, tmp, k);   /* the kept copy, exactly sized */
    rsv_scratch_end(scratch);
    return result;
}

/* Builds the response body in the request arena. */
static char *respond(rsv_arena_t *a, const request_t *r)
{
    /* Pieces are formatted in a scratch arena; only the final body is kept. */
    rsv_arena_t *conflicts[] = { a };
    rsv_temp_t scratch = rsv_scratch_begin(conflicts, 1);
    if (!scratch.arena) return NULL;
    const char **pieces = RSV_NEW_ARRAY(scratch.arena, const char *, r->nheaders + 1);
    size_t total = 0, np = 0;
    char *line = RSV_NEW_ARRAY(scratch.arena, char, 64);
    snprintf(line, 64, "<h1>%s</h1>", r->method);
    pieces[np++] = line;
    total += strlen(line);
    for (const header_t *h = r->headers; h; h = h->next) {
        char *v = escape(scratch.arena, h->value);   /* nested: scratch for scratch */
        size_t n = strlen(h->name) + strlen(v) + 16;
        char *p = RSV_NEW_ARRAY(scratch.arena, char, n);
        snprintf(p, n, "<p>%s=%s</p>", h->name, v);
        pieces[np++] = p;
        total += strlen(p);
    }
    char *body = RSV_NEW_ARRAY(a, char, total + 1);
    size_t k = 0;
    for (size_t i = 0; i < np; i++) {
        size_t n = strlen(pieces[i]);
        memcpy(body + k, pieces[i], n);
        k += n;
    }
    body[k] = 0;
    rsv_scratch_end(scratch);
    return body;
}

/* What the response must be, computed without any arena. */
static void expected(unsigned i, size_t *len, unsigned long long *sum, char *text, size_t cap)
{
    char value[64];
    snprintf(value, sizeof value, "<id %u & more>", i);
    snprintf(text, cap, "GET /item/%u\nHost: example\nX-Id: %s\nX-Pad: %0*u\n", i, value,
             (int)(i % 50), i);
    char body[512];
    char pad[64];
    snprintf(pad, sizeof pad, "%0*u", (int)(i % 50), i);
    snprintf(body, sizeof body, "<h1>GET</h1><p>Host=example</p><p>X-Id=&lt;id %u &amp; more&gt;</p><p>X-Pad=%s</p>",
             i, pad);
    *len = strlen(body);
    *sum = 0;
    for (size_t k = 0; k < *len; k++) *sum = *sum * 131 + (unsigned char)body[k];
}

int main(void)
{
    rsv_arena_opts_t o = { 0 };
    o.name = "request";
    o.retain = 64 << 10;
    rsv_arena_t *req = rsv_arena_create(&o);
    if (!req) {
        fprintf(stderr, "request_handler: cannot create the request arena\n");
        return 1;
    }
    int failures = 0;
    size_t start = rsv_arena_pos(req), max_used = 0;
    unsigned long long all = 0;
    for (unsigned i = 0; i < 20000; i++) {
        char text[256];
        size_t want_len;
        unsigned long long want_sum;
        expected(i, &want_len, &want_sum, text, sizeof text);

        request_t *r = parse(req, text);
        char *body = r ? respond(req, r) : NULL;
        if (!body) {
            failures++;
            continue;
        }
        unsigned long long sum = 0;
        size_t len = strlen(body);
        for (size_t k = 0; k < len; k++) sum = sum * 131 + (unsigned char)body[k];
        if (len != want_len || sum != want_sum) {
            if (failures < 3) fprintf(stderr, "request %u: wrong response \"%s\"\n", i, body);
            failures++;
        }
        all ^= sum;
        size_t used = rsv_arena_pos(req) - start;
        if (used > max_used) max_used = used;
        rsv_arena_reset(req);                 /* the request is over */
        if (rsv_arena_pos(req) != start) failures++;
    }
    rsv_arena_stats_t s;
    rsv_arena_stats(req, &s);
    if (s.committed > (size_t)(256 << 10)) {
        fprintf(stderr, "request_handler: %zu bytes committed for requests of %zu\n", s.committed, max_used);
        failures++;
    }
    /* The scratch arenas are reusable and back at their start. */
    rsv_temp_t t = rsv_scratch_begin(NULL, 0);
    if (!t.arena) failures++;
    rsv_scratch_end(t);
    printf("request_handler: 20000 requests, at most %zu bytes of arena each, "
           "%zu KiB committed, checksum %llx\n", max_used, s.committed >> 10, all);
    rsv_arena_destroy(req);
    if (failures) {
        printf("request_handler: FAILED (%d)\n", failures);
        return 1;
    }
    printf("request_handler: OK\n");
    return 0;
}
