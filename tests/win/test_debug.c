/* tests/win/test_debug.c — the debug layer in the Windows build (TAP under
 * Wine): the parts with OS-specific code — guard pages on VirtualAlloc
 * reservations (a child process takes the access violation),
 * CaptureStackBackTrace backtraces and module+offset names — plus one
 * check per reported error over a msvcrt-backed test backend.
 */
#include <process.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "debug/dbg.h"
#include "internal.h"
#include "os/backtrace.h"
#include "reservoir.h"
#include "reservoir/win32.h"
#include "spawn.h"
#include "tap.h"

static void *be_alloc(void *ctx, size_t size, size_t align)
{
    (void)ctx;
    return _aligned_malloc(size ? size : 1, align < 16 ? 16 : align);
}
static void be_free(void *ctx, void *raw) { (void)ctx; _aligned_free(raw); }
static const rsvi_dbg_backend_t be = {be_alloc, be_free, NULL, 0, NULL, 0, 0};

static rsv_debug_report_t last;
static char last_text[4096];
static int reports;
static void capture(void *user, const rsv_debug_report_t *r)
{
    (void)user;
    last = *r;
    size_t n = r->text_len < sizeof last_text - 1 ? r->text_len : sizeof last_text - 1;
    memcpy(last_text, r->text, n);
    last_text[n] = '\0';
    reports++;
}

static rsvi_dbg_t *make(unsigned flags)
{
    rsv_debug_opts_t o;
    memset(&o, 0, sizeof o);
    o.flags = flags;
    o.report.fn = capture;
    return rsvi_dbg_create(&o, &be, "heap", "w");
}

static void on_segv(int sig)
{
    (void)sig;
    _exit(42);
}

/* Child started with RSV_DEBUG set: the bug `what` through the façade or
 * malloc; the debug layer must stop the program (abort: exit code 3). */
static int env_child(const char *what)
{
    signal(SIGSEGV, on_segv);
    if (strcmp(what, "facade") == 0) {
        HANDLE h = RsvHeapCreate(0, 0, 0);
        char *p = RsvHeapAlloc(h, 0, 24);
        p[24] = 1;
        RsvHeapFree(h, 0, p);
    } else if (strcmp(what, "malloc") == 0) {
        char *p = rsv_malloc(40);
        rsv_free(p);
        rsv_free(p);
    } else if (strcmp(what, "guard") == 0) {
        volatile char *p = rsv_malloc(16);
        p[16] = 1;
    }
    return 0;
}

/* Child: the write named by `what` must fault. */
static int child_main(const char *what)
{
    signal(SIGSEGV, on_segv);
    int under = strcmp(what, "under") == 0;
    rsvi_dbg_t *d = make(RSV_DEBUG_GUARD | RSV_DEBUG_GUARD_EXACT | RSV_DEBUG_QUARANTINE
                         | (under ? RSV_DEBUG_GUARD_UNDER : 0));
    if (!d) return 2;
    volatile char *p = rsvi_dbg_alloc(d, 13, 0, 0, NULL);
    if (!p) return 3;
    p[0] = 1;
    if (strcmp(what, "over") == 0) p[13] = 1;
    if (under) p[-1] = 1;
    if (strcmp(what, "uaf") == 0) {
        rsvi_dbg_free(d, (void *)p, NULL);
        p[0] = 1;
    }
    return 0;
}

static void *__attribute__((noinline)) leak_here(rsvi_dbg_t *d)
{
    return rsvi_dbg_alloc(d, 77, 0, 0, RSVI_DBG_SITE());
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--child") == 0) return child_main(argv[2]);
    if (argc == 3 && strcmp(argv[1], "--env") == 0) return env_child(argv[2]);

    /* RSV_DEBUG reaches the façade's heaps and malloc in a new process. */
    static const char *const envs[][3] = {{"RSV_DEBUG=canary", "facade", "3"},
                                          {"RSV_DEBUG=fill", "malloc", "3"},
                                          {"RSV_DEBUG=guard", "guard", "42"}};
    /* The allocators' hooks exist only with rsv_checks >= on. */
    int hooked = rsv_debug_available();
    for (int i = 0; hooked && i < 3; i++) {
        _putenv(envs[i][0]);
        intptr_t rc = spawn_self(argv[0], "--env", envs[i][1]);
        CHECK(rc == atoi(envs[i][2]), "%s: %s bug stops the program (child exit %d)", envs[i][0], envs[i][1],
              (int)rc);
    }
    _putenv("RSV_DEBUG=");

    static const char *faults[] = {"over", "under", "uaf"};
    for (int i = 0; i < 3; i++) {
        intptr_t rc = spawn_self(argv[0], "--child", faults[i]);
        CHECK(rc == 42, "guard page: %s faults at the access (child exit %d)", faults[i], (int)rc);
    }

    rsvi_dbg_t *d = make(RSV_DEBUG_FILL | RSV_DEBUG_CANARY | RSV_DEBUG_QUARANTINE);
    CHECK(d != NULL, "debug state on VirtualAlloc pages");
    unsigned char *p = rsvi_dbg_alloc(d, 24, 0, 0, (void *)0x1234);
    CHECK(p && p[0] == 0xCD && p[23] == 0xCD, "new block filled with 0xCD");
    p[24] = 0;
    rsvi_dbg_free(d, p, (void *)0x5678);
    CHECK(reports == 1 && last.kind == RSV_BUG_OVERRUN && last.block == p && last.size == 24
          && last.offset == 24, "overrun reported with block, size and offset");
    CHECK(strncmp(last_text, "reservoir: overrun: heap \"w\": block 0x", 38) == 0, "report format: %.60s",
          last_text);
    CHECK(p[0] == 0xDD, "freed block reads 0xDD");
    rsvi_dbg_free(d, p, (void *)0x9abc);
    CHECK(reports == 2 && last.kind == RSV_BUG_DOUBLE_FREE && last.free_site == (void *)0x5678
          && last.site == (void *)0x9abc, "double free reported with both sites");
    static char foreign[8];
    rsvi_dbg_free(d, foreign, NULL);
    CHECK(reports == 3 && last.kind == RSV_BUG_INVALID_FREE, "foreign free reported");
    rsvi_dbg_destroy(d, NULL);

    d = make(RSV_DEBUG_GUARD);
    char *g = rsvi_dbg_alloc(d, 16, 0, 0, NULL);
    rsv_vm_info_t info;
    CHECK(g && rsv_vm_query(g + 16, &info) == 0 && info.state != RSV_VM_COMMITTED,
          "guard block ends at an uncommitted page");
    rsvi_dbg_free(d, g, NULL);
    rsvi_dbg_destroy(d, NULL);

    d = make(RSV_DEBUG_LEAKS | RSV_DEBUG_BACKTRACE);
    reports = 0;
    CHECK(leak_here(d) != NULL, "allocation with a backtrace");
    rsvi_dbg_destroy(d, NULL);
    CHECK(reports == 1 && last.kind == RSV_BUG_LEAK && last.leak_blocks == 1 && last.leak_bytes == 77,
          "leak reported at destroy");
    CHECK(strstr(last_text, "reservoir:     #0 0x") != NULL, "backtrace frames listed");
    CHECK(strstr(last_text, ".exe+0x") != NULL, "frames named module+offset: %.200s", last_text);

    if (!hooked) {
        printf("# rsv_checks=off: the allocators ignore debug options; their checks are skipped\n");
        return tap_done();
    }
    /* The allocators with debug options. */
    rsv_debug_opts_t o;
    memset(&o, 0, sizeof o);
    o.flags = RSV_DEBUG_CANARY | RSV_DEBUG_QUARANTINE | RSV_DEBUG_LEAKS;
    o.report.fn = capture;
    rsv_arena_opts_t ao = {0};
    ao.debug = &o;
    rsv_arena_t *ar = rsv_arena_create(&ao);
    size_t mark = rsv_arena_pos(ar);
    char *ap = rsv_arena_alloc(ar, 24);
    ap[24] = 1;
    reports = 0;
    rsv_arena_pop_to(ar, mark);
    CHECK(reports == 1 && last.kind == RSV_BUG_OVERRUN && last.block == ap, "arena: overrun found at pop_to");
    ap[3] = 1;
    (void)rsv_arena_alloc(ar, 64);
    CHECK(reports == 2 && last.kind == RSV_BUG_USE_AFTER_FREE && last.offset == 3,
          "arena: write after pop found when the memory is reused");
    rsv_arena_destroy(ar);
    CHECK(reports == 3 && last.kind == RSV_BUG_LEAK && last.leak_blocks == 1, "arena: leak at destroy");

    reports = 0;
    rsv_pool_opts_t po = {0};
    po.block_size = 32;
    po.debug = &o;
    rsv_pool_t *pl = rsv_pool_create(&po);
    char *pb = rsv_pool_alloc(pl);
    pb[-1] = 1;
    rsv_pool_free(pl, pb);
    CHECK(reports == 1 && last.kind == RSV_BUG_UNDERRUN && last.offset == -1, "pool: underrun found at free");
    (void)rsv_pool_alloc(pl);
    rsv_pool_destroy(pl);
    CHECK(reports == 2 && last.kind == RSV_BUG_LEAK && last.leak_blocks == 1, "pool: leak at destroy");

    reports = 0;
    rsv_heap_opts_t ho = {0};
    ho.debug = &o;
    rsv_heap_t *hp = rsv_heap_create(&ho);
    char *hb = rsv_heap_alloc(hp, 50);
    CHECK(rsv_heap_usable_size(hp, hb) == 50 && rsv_heap_of(hb) == hp, "heap: decorated block found by address");
    rsv_heap_free(hp, hb);
    rsv_heap_free(hp, hb);
    CHECK(reports == 1 && last.kind == RSV_BUG_DOUBLE_FREE, "heap: double free");
    rsv_heap_destroy(hp);

    void *frames[8];
    CHECK(rsvi_os_backtrace(frames, 8) >= 2, "CaptureStackBackTrace returns frames");
    return tap_done();
}
