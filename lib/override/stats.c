/* lib/override/stats.c — the default heap's statistics as text, for
 * RSV_VERBOSE at exit and malloc_stats(): formatted into a caller's buffer
 * with no stdio and no allocation, written with rsvi_os_write_stderr.
 *
 * Must never: allocate, call stdio, or take a lock other than the heap's
 * own (rsv_heap_stats), so it is safe at exit while threads still run.
 */
#include <string.h>

#include "internal.h"
#include "os/os.h"
#include "override.h"

/* An append-only cursor over a fixed buffer; output past the end is
 * dropped, and the buffer stays NUL-terminated. */
typedef struct ovr_out {
    char *buf;
    size_t size, len;
} ovr_out_t;

static void out_str(ovr_out_t *o, const char *s)
{
    while (*s && o->len + 1 < o->size) o->buf[o->len++] = *s++;
    if (o->size) o->buf[o->len] = '\0';
}

static void out_uint(ovr_out_t *o, size_t v)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    char rev[24];
    for (size_t i = 0; i < n; i++) rev[i] = tmp[n - 1 - i];
    rev[n] = '\0';
    out_str(o, rev);
}

/* "123 B", "12.3 KiB", "4.0 GiB": one decimal, binary units. */
static void out_bytes(ovr_out_t *o, size_t v)
{
    static const char *const units[] = {" B", " KiB", " MiB", " GiB", " TiB"};
    unsigned u = 0;
    size_t whole = v, tenth = 0;
    while (whole >= 1024 && u + 1 < sizeof units / sizeof units[0]) {
        tenth = (whole % 1024) * 10 / 1024;
        whole /= 1024;
        u++;
    }
    out_uint(o, whole);
    if (u) {
        out_str(o, ".");
        out_uint(o, tenth);
    }
    out_str(o, units[u]);
}

size_t rsvi_override_format_stats(char *buf, size_t size, const char *title)
{
    ovr_out_t o = {buf, size, 0};
    if (size) buf[0] = '\0';
    rsv_heap_t *h = rsv_heap_default();
    out_str(&o, "reservoir: ");
    out_str(&o, title);
    if (!h) {
        out_str(&o, ": no default heap\n");
        return o.len;
    }
    rsv_heap_stats_t st;
    rsv_heap_stats(h, &st);
    out_str(&o, ": default heap statistics\nreservoir:   reserved ");
    out_bytes(&o, st.reserved);
    out_str(&o, ", committed ");
    out_bytes(&o, st.committed);
    out_str(&o, " (peak ");
    out_bytes(&o, st.peak_committed);
    out_str(&o, ")\nreservoir:   in use ");
    out_bytes(&o, st.in_use);
    out_str(&o, " (peak ");
    out_bytes(&o, st.peak_in_use);
    out_str(&o, ") in ");
    out_uint(&o, st.blocks);
    out_str(&o, " blocks, ");
    out_uint(&o, st.large_blocks);
    out_str(&o, " large\nreservoir:   errors reported: ");
    out_uint(&o, rsvi_override_error_count());
    out_str(&o, "\n");
    int any = 0;
    for (unsigned i = 0; i < RSV_HEAP_STAT_CLASSES && st.class_size[i]; i++) {
        if (!st.class_blocks[i]) continue;
        out_str(&o, any ? ", " : "reservoir:   live blocks by class size:");
        if (!any) out_str(&o, " ");
        any = 1;
        out_uint(&o, st.class_size[i]);
        out_str(&o, ":");
        out_uint(&o, st.class_blocks[i]);
    }
    if (any) out_str(&o, "\n");
    return o.len;
}

void rsvi_override_print_stats(const char *title)
{
    char buf[4096];
    size_t n = rsvi_override_format_stats(buf, sizeof buf, title);
    (void)rsvi_os_write_stderr(buf, n);
}
