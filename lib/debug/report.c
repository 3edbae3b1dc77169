/* lib/debug/report.c — the debug layer's voice: formats reports in the one
 * fixed format of reservoir/debug.h into a buffer on the stack (or, for the
 * leak report, pages from the vm layer), hands them to the report handler
 * (default: one write to stderr), applies RSV_DEBUG_ABORT and the OOM
 * policy.  Must never allocate from a heap or use stdio: it runs on failure
 * paths and under the allocator that failed.
 */
#include <stdlib.h>
#include <string.h>

#include "debug/impl.h"
#include "internal.h"
#include "os/backtrace.h"
#include "os/os.h"
#include "reservoir/vm.h"

/* ---- text builder ------------------------------------------------------ */

typedef struct dbg_text {
    char *buf;
    size_t cap, len;
    int full;
} dbg_text_t;

static void tx_mem(dbg_text_t *t, const char *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        n = t->cap > t->len + 1 ? t->cap - t->len - 1 : 0;
        t->full = 1;
    }
    memcpy(t->buf + t->len, s, n);
    t->len += n;
    t->buf[t->len] = '\0';
}

static void tx_str(dbg_text_t *t, const char *s) { tx_mem(t, s, strlen(s)); }

static void tx_dec(dbg_text_t *t, size_t v)
{
    char tmp[24];
    size_t n = 0;
    do { tmp[sizeof tmp - 1 - n++] = (char)('0' + v % 10); v /= 10; } while (v);
    tx_mem(t, tmp + sizeof tmp - n, n);
}

static void tx_hex(dbg_text_t *t, uintptr_t v)
{
    char tmp[2 + 2 * sizeof v];
    size_t n = 0;
    do { tmp[sizeof tmp - 1 - n++] = "0123456789abcdef"[v & 15]; v >>= 4; } while (v);
    tmp[sizeof tmp - 1 - n++] = 'x';
    tmp[sizeof tmp - 1 - n++] = '0';
    tx_mem(t, tmp + sizeof tmp - n, n);
}

/* "0x... (module+0x...)" */
static void tx_addr(dbg_text_t *t, const void *a)
{
    char sym[128];
    tx_hex(t, (uintptr_t)a);
    if (rsvi_os_symbolize(a, sym, sizeof sym)) {
        tx_str(t, " (");
        tx_str(t, sym);
        tx_str(t, ")");
    }
}

static void tx_site(dbg_text_t *t, const char *label, const void *site)
{
    tx_str(t, "reservoir:   ");
    tx_str(t, label);
    tx_str(t, " ");
    tx_addr(t, site);
    tx_str(t, "\n");
}

static void tx_frames(dbg_text_t *t, const rsvi_dbg_t *d, uint32_t bt)
{
    unsigned n;
    void *const *f = dbgi_bt_frames(&d->bt, bt, &n);
    for (unsigned i = 0; f && i < n; i++) {
        tx_str(t, "reservoir:     #");
        tx_dec(t, i);
        tx_str(t, " ");
        tx_addr(t, f[i]);
        tx_str(t, "\n");
    }
}

static void tx_head(dbg_text_t *t, rsv_debug_kind_t kind, const char *allocator, const char *name)
{
    tx_str(t, "reservoir: ");
    tx_str(t, rsv_debug_kind_name(kind));
    tx_str(t, ": ");
    tx_str(t, allocator);
    tx_str(t, " \"");
    tx_str(t, name);
    tx_str(t, "\": ");
}

/* ---- delivery ---------------------------------------------------------- */

static void dbg_deliver(const rsv_debug_opts_t *o, rsv_debug_report_t *r, const dbg_text_t *t)
{
    r->text = t->buf;
    r->text_len = t->len;
    if (o && o->report.fn) o->report.fn(o->report.user, r);
    else rsv_debug_report_to_stderr(NULL, r);
}

void dbgi_report(rsvi_dbg_t *d, rsv_debug_kind_t kind, const dbg_entry_t *e,
                 const void *addr, const void *site, const char *label, const char *detail)
{
    char buf[2048];
    dbg_text_t t = {buf, sizeof buf, 0, 0};
    rsv_debug_report_t r;
    memset(&r, 0, sizeof r);
    r.kind = kind;
    r.allocator = d->allocator;
    r.name = d->name;
    r.addr = addr;
    r.site = site;
    tx_head(&t, kind, d->allocator, d->name);
    if (e) {
        r.block = (const void *)e->key;
        r.size = e->size;
        r.offset = (const char *)addr - (const char *)e->key;
        r.alloc_site = e->alloc_site;
        r.free_site = e->free_site;
        tx_str(&t, "block ");
        tx_hex(&t, e->key);
        tx_str(&t, " size ");
        tx_dec(&t, e->size);
        tx_str(&t, ": ");
        tx_str(&t, detail);
        if (addr && (uintptr_t)addr != e->key) {
            tx_str(&t, " at ");
            tx_hex(&t, (uintptr_t)addr);
            tx_str(&t, " (offset ");
            if (r.offset < 0) {
                tx_str(&t, "-");
                tx_dec(&t, (size_t)-r.offset);
            } else {
                tx_str(&t, "+");
                tx_dec(&t, (size_t)r.offset);
            }
            tx_str(&t, ")");
        }
        tx_str(&t, "\n");
        if (e->alloc_site) tx_site(&t, "allocated at", e->alloc_site);
        if (e->bt) tx_frames(&t, d, e->bt);
        if (e->free_site) tx_site(&t, "freed at", e->free_site);
    } else {
        tx_str(&t, "pointer ");
        tx_hex(&t, (uintptr_t)addr);
        tx_str(&t, ": ");
        tx_str(&t, detail);
        tx_str(&t, "\n");
    }
    if (site) tx_site(&t, label, site);
    dbg_deliver(&d->o, &r, &t);
    if (d->o.flags & RSV_DEBUG_ABORT) abort();
}

void rsvi_dbg_oom(const rsv_debug_opts_t *o, const char *allocator, const char *name, size_t size)
{
    if (!o || o->oom == RSV_OOM_NULL) return;
    if (!allocator) allocator = "allocator";
    if (!name) name = "";
    if (o->oom == RSV_OOM_CALL) {
        if (o->oom_handler.fn) o->oom_handler.fn(o->oom_handler.user, allocator, name, size);
        return;
    }
    char buf[256];
    dbg_text_t t = {buf, sizeof buf, 0, 0};
    rsv_debug_report_t r;
    memset(&r, 0, sizeof r);
    r.kind = RSV_BUG_OUT_OF_MEMORY;
    r.allocator = allocator;
    r.name = name;
    r.size = size;
    tx_head(&t, RSV_BUG_OUT_OF_MEMORY, allocator, name);
    tx_str(&t, "allocation of ");
    tx_dec(&t, size);
    tx_str(&t, " bytes failed\n");
    dbg_deliver(o, &r, &t);
    abort();
}

/* ---- leaks ------------------------------------------------------------- */

typedef struct dbg_group {
    uintptr_t key;          /* 0: empty */
    const void *site;
    uint32_t bt;
    size_t blocks, bytes;
    uintptr_t first;        /* a block of the group */
    size_t first_size;
} dbg_group_t;

/* Larger bytes first; ties by more blocks. */
static int grp_before(const dbg_group_t *a, const dbg_group_t *b)
{
    return a->bytes != b->bytes ? a->bytes > b->bytes : a->blocks > b->blocks;
}

static void grp_sift(dbg_group_t *g, size_t i, size_t n)
{
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) return;
        /* heap with the "last" element (smallest bytes) on top */
        if (c + 1 < n && grp_before(&g[c], &g[c + 1])) c++;
        if (!grp_before(&g[i], &g[c])) return;
        dbg_group_t tmp = g[i];
        g[i] = g[c];
        g[c] = tmp;
        i = c;
    }
}

/* Heapsort, largest first, in place (qsort may allocate). */
static void grp_sort(dbg_group_t *g, size_t n)
{
    for (size_t i = n / 2; i-- > 0;) grp_sift(g, i, n);
    for (size_t end = n; end > 1; end--) {
        dbg_group_t tmp = g[0];
        g[0] = g[end - 1];
        g[end - 1] = tmp;
        grp_sift(g, 0, end - 1);
    }
}

/* 1 when e counts in this leak report. */
static int leak_counts(const dbg_entry_t *e, int skip_runtime)
{
    if (e->key <= DBG_KEY_TOMB || e->state != DBG_LIVE) return 0;
    return !(skip_runtime && e->alloc_site && rsvi_os_in_runtime(e->alloc_site));
}

size_t dbgi_leaks_locked(rsvi_dbg_t *d, const char *when, int skip_runtime)
{
    size_t live = 0, live_bytes = 0;
    if (d->live == 0) return 0;
    for (size_t i = 0; i < d->table.cap; i++)
        if (leak_counts(&d->table.slots[i], skip_runtime)) {
            live++;
            live_bytes += d->table.slots[i].size;
        }
    if (live == 0) return 0;
    size_t cap = 16;
    while (cap < 2 * live) cap *= 2;
    size_t gbytes = cap * sizeof(dbg_group_t);
    dbg_group_t *g = dbgi_map(gbytes);
    size_t ngroups = 0;
    if (g) {
        for (size_t i = 0; i < d->table.cap; i++) {
            const dbg_entry_t *e = &d->table.slots[i];
            if (!leak_counts(e, skip_runtime)) continue;
            uintptr_t key = e->bt ? ((uintptr_t)e->bt << 1) | 1 : (uintptr_t)e->alloc_site << 1;
            if (key == 0) key = 2;
            size_t h = (size_t)(((uint64_t)key * 0x9E3779B97F4A7C15ull) >> 20) & (cap - 1);
            while (g[h].key && g[h].key != key) h = (h + 1) & (cap - 1);
            if (!g[h].key) {
                g[h].key = key;
                g[h].site = e->alloc_site;
                g[h].bt = e->bt;
                g[h].first = e->key;
                g[h].first_size = e->size;
                ngroups++;
            }
            g[h].blocks++;
            g[h].bytes += e->size;
            if (e->key < g[h].first) { g[h].first = e->key; g[h].first_size = e->size; }
        }
        size_t n = 0;
        for (size_t i = 0; i < cap; i++)
            if (g[i].key) g[n++] = g[i];
        grp_sort(g, n);
    }
    size_t depth = (d->o.flags & RSV_DEBUG_BACKTRACE) ? d->o.backtrace_depth : 0;
    size_t tbytes = 512 + (ngroups < 4096 ? ngroups : 4096) * (200 + depth * 96);
    tbytes = (tbytes + d->page - 1) & ~(d->page - 1);
    char stackbuf[512];
    char *tb = dbgi_map(tbytes);
    dbg_text_t t = tb ? (dbg_text_t){tb, tbytes, 0, 0} : (dbg_text_t){stackbuf, sizeof stackbuf, 0, 0};
    rsv_debug_report_t r;
    memset(&r, 0, sizeof r);
    r.kind = RSV_BUG_LEAK;
    r.allocator = d->allocator;
    r.name = d->name;
    r.leak_blocks = live;
    r.leak_bytes = live_bytes;
    r.leak_sites = ngroups;
    tx_head(&t, RSV_BUG_LEAK, d->allocator, d->name);
    tx_dec(&t, live);
    tx_str(&t, live == 1 ? " block, " : " blocks, ");
    tx_dec(&t, live_bytes);
    tx_str(&t, " bytes still allocated ");
    tx_str(&t, when);
    if (g) {
        tx_str(&t, " from ");
        tx_dec(&t, ngroups);
        tx_str(&t, ngroups == 1 ? " site" : " sites");
    }
    tx_str(&t, "\n");
    if (g && ngroups) {
        r.block = (const void *)g[0].first;
        r.size = g[0].first_size;
        r.alloc_site = g[0].site;
    }
    /* List sites while they fit, keeping room for the "... more" line. */
    size_t shown = 0;
    size_t full_cap = t.cap;
    if (t.buf == tb) t.cap -= 64;
    for (size_t i = 0; g && t.buf == tb && i < ngroups; i++) {
        size_t before = t.len;
        tx_str(&t, "reservoir:   ");
        tx_dec(&t, g[i].bytes);
        tx_str(&t, " bytes in ");
        tx_dec(&t, g[i].blocks);
        tx_str(&t, g[i].blocks == 1 ? " block allocated at " : " blocks allocated at ");
        tx_addr(&t, g[i].site);
        tx_str(&t, ", first block ");
        tx_hex(&t, g[i].first);
        tx_str(&t, " size ");
        tx_dec(&t, g[i].first_size);
        tx_str(&t, "\n");
        if (g[i].bt) tx_frames(&t, d, g[i].bt);
        if (t.full) {
            t.len = before;
            t.buf[t.len] = '\0';
            t.full = 0;
            break;
        }
        shown++;
    }
    t.cap = full_cap;
    if (g && shown < ngroups) {
        tx_str(&t, "reservoir:   ... ");
        tx_dec(&t, ngroups - shown);
        tx_str(&t, " more sites\n");
    }
    dbg_deliver(&d->o, &r, &t);
    if (tb) dbgi_unmap(tb, tbytes);
    if (g) dbgi_unmap(g, gbytes);
    return live;
}

/* ---- public ------------------------------------------------------------ */

int rsv_debug_available(void)
{
    return RSV_CHECKS >= 1;
}

const char *rsv_debug_kind_name(rsv_debug_kind_t kind)
{
    switch (kind) {
    case RSV_BUG_OUT_OF_MEMORY: return "out-of-memory";
    case RSV_BUG_OVERRUN: return "overrun";
    case RSV_BUG_UNDERRUN: return "underrun";
    case RSV_BUG_USE_AFTER_FREE: return "use-after-free";
    case RSV_BUG_DOUBLE_FREE: return "double-free";
    case RSV_BUG_INVALID_FREE: return "invalid-free";
    case RSV_BUG_INTERIOR_FREE: return "interior-free";
    case RSV_BUG_LEAK: return "leak";
    }
    return "unknown";
}

void rsv_debug_report_to_stderr(void *user, const rsv_debug_report_t *r)
{
    (void)user;
    if (r && r->text) (void)rsvi_os_write_stderr(r->text, r->text_len);
}
