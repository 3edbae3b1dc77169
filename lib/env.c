/* lib/env.c — Reservoir's environment variables (RSV_VERBOSE, RSV_DEBUG,
 * RSV_PURGE_DELAY, RSV_RESERVE, RSV_LARGE_PAGES), parsed once into a static
 * struct.  Must not allocate: the malloc replacement reads these before any
 * heap exists.
 */
#include <stdatomic.h>
#include <string.h>

#include "internal.h"
#include "os/os.h"

static rsvi_env_t env_value;
static atomic_int env_state; /* 0 unparsed, 1 parsing, 2 ready */

static int env_word_is(const char *w, size_t n, const char *lit)
{
    return strlen(lit) == n && memcmp(w, lit, n) == 0;
}

unsigned rsvi_env_parse_debug(const char *s)
{
    static const struct { const char *word; unsigned bits; } words[] = {
        {"fill", RSVI_DBG_FILL}, {"canary", RSVI_DBG_CANARY}, {"guard", RSVI_DBG_GUARD},
        {"guard_under", RSVI_DBG_GUARD | RSVI_DBG_GUARD_UNDER},
        {"quarantine", RSVI_DBG_QUARANTINE}, {"leaks", RSVI_DBG_LEAKS},
        {"oom_abort", RSVI_DBG_OOM_ABORT}, {"backtrace", RSVI_DBG_BACKTRACE},
        {"all", RSVI_DBG_ALL}, {"1", RSVI_DBG_ALL},
    };
    unsigned bits = 0;
    while (s && *s) {
        size_t n = strcspn(s, ",: ");
        for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
            if (env_word_is(s, n, words[i].word)) bits |= words[i].bits;
        s += n;
        if (*s) s++;
    }
    return bits;
}

size_t rsvi_env_parse_size(const char *s)
{
    size_t v = 0;
    if (!s || *s < '0' || *s > '9') return 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        size_t d = (size_t)(*s - '0');
        if (v > (SIZE_MAX - d) / 10) return 0;
        v = v * 10 + d;
    }
    unsigned shift = 0;
    switch (*s) {
    case 'k': case 'K': shift = 10; s++; break;
    case 'm': case 'M': shift = 20; s++; break;
    case 'g': case 'G': shift = 30; s++; break;
    case 't': case 'T': shift = 40; s++; break;
    default: break;
    }
    if (*s == 'b' || *s == 'B') s++;
    if (*s != '\0') return 0;
    if (shift && v > (SIZE_MAX >> shift)) return 0;
    return v << shift;
}

static void env_parse(rsvi_env_t *e)
{
    char buf[128];
    memset(e, 0, sizeof *e);
    e->purge_delay_ms = -1;
    if (rsvi_os_getenv("RSV_VERBOSE", buf, sizeof buf)) e->verbose = buf[0] && buf[0] != '0';
    if (rsvi_os_getenv("RSV_DEBUG", buf, sizeof buf)) e->debug = rsvi_env_parse_debug(buf);
    if (rsvi_os_getenv("RSV_PURGE_DELAY", buf, sizeof buf)) {
        size_t v = rsvi_env_parse_size(buf);
        if (v || strcmp(buf, "0") == 0) e->purge_delay_ms = (long)(v > 0x7fffffff ? 0x7fffffff : v);
    }
    if (rsvi_os_getenv("RSV_RESERVE", buf, sizeof buf)) e->reserve = rsvi_env_parse_size(buf);
    if (rsvi_os_getenv("RSV_LARGE_PAGES", buf, sizeof buf)) e->large_pages = buf[0] && buf[0] != '0';
}

const rsvi_env_t *rsvi_env(void)
{
    int st = atomic_load_explicit(&env_state, memory_order_acquire);
    if (st == 2) return &env_value;
    int expect = 0;
    if (atomic_compare_exchange_strong(&env_state, &expect, 1)) {
        env_parse(&env_value);
        atomic_store_explicit(&env_state, 2, memory_order_release);
    } else {
        while (atomic_load_explicit(&env_state, memory_order_acquire) != 2) { /* another thread parses */ }
    }
    return &env_value;
}
