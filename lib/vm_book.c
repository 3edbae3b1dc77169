/* lib/vm_book.c — the bookkeeping behind rsv_vm_query and the vm layer's
 * argument checks (see vm_book.h for the model).
 *
 * Owns: two treaps (reservations, committed runs) keyed by start address,
 * their node pool and their lock (lib/lock.h, held across the system call
 * each update records).  Nodes come in 64 KiB chunks straight
 * from the OS backend (never from a heap, never through rsv_vm_*, so the
 * book does not record itself); chunks are kept for reuse, never returned.
 * A treap node's priority is a hash fixed when the node is handed out, so
 * the shape is random whatever order the addresses arrive in: expected
 * depth O(log n).  Must never allocate from a heap, print, or call back
 * into rsv_vm_*.
 */
#include "vm_book.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#include "internal.h"
#include "lock.h"
#include "os/os.h"
#include "os/thread.h"

#define VMB_CHUNK ((size_t)64 << 10)

typedef rsvi_vmb_node_t node;

static node *vmb_resv_root, *vmb_run_root, *vmb_free;
static size_t vmb_free_count, vmb_resv_count, vmb_run_count;
static uint64_t vmb_seq;
static rsvi_lock_t vmb_mutex;
static atomic_int vmb_fork_hooked;   /* our own atfork hook is registered */
static atomic_int vmb_fork_adopted;  /* another layer's hooks take the lock */

/* ---- lock and fork ------------------------------------------------------- */

/* Which hook took the lock for the fork under way (read and written by
 * the forking thread only, inside its fork handlers): each releases only
 * what it took, so the lock is taken once whichever runs first. */
static int vmb_fork_own;     /* vmb_fork_prepare */
static int vmb_fork_taken;   /* rsvi_vmb_fork_lock (an adopting layer) */

static void vmb_fork_prepare(void)
{
    if (atomic_load(&vmb_fork_adopted) || vmb_fork_taken) return;
    rsvi_lock(&vmb_mutex);
    vmb_fork_own = 1;
}

static void vmb_fork_release(void)
{
    if (!vmb_fork_own) return;
    vmb_fork_own = 0;
    rsvi_unlock(&vmb_mutex);
}

/* A fork while another thread holds the lock must not leave the child
 * locked forever: take the lock across fork.  The hook is claimed before it
 * is registered, so a registration that re-enters the allocator does not
 * recurse. */
static void vmb_fork_hook(void)
{
    if (!atomic_load_explicit(&vmb_fork_hooked, memory_order_acquire) &&
        !atomic_exchange(&vmb_fork_hooked, 1))
        (void)rsvi_os_atfork(vmb_fork_prepare, vmb_fork_release, vmb_fork_release);
}

#if defined(__GNUC__)
/* Registered at load time as well, so that the hook normally precedes those
 * of layers above (prepare hooks run in reverse order: theirs first, then
 * this one), whichever layer touches the vm first. */
__attribute__((constructor)) static void vmb_fork_hook_early(void)
{
    vmb_fork_hook();
}
#endif

void rsvi_vmb_lock(void)
{
    vmb_fork_hook();
    rsvi_lock(&vmb_mutex);
}

void rsvi_vmb_unlock(void)
{
    rsvi_unlock(&vmb_mutex);
}

void rsvi_vmb_fork_adopt(void)
{
    atomic_store(&vmb_fork_adopted, 1);
}

void rsvi_vmb_fork_lock(void)
{
    if (vmb_fork_own) return;   /* our own hook ran first and holds it */
    rsvi_lock(&vmb_mutex);
    vmb_fork_taken = 1;
}

void rsvi_vmb_fork_unlock(void)
{
    if (!vmb_fork_taken) return;
    vmb_fork_taken = 0;
    rsvi_unlock(&vmb_mutex);
}

/* ---- node pool ----------------------------------------------------------- */

int rsvi_vmb_prepare(unsigned k)
{
    while (vmb_free_count < k) {
        void *chunk = NULL;
        unsigned granted = 0;
        int e = rsvi_os_reserve(VMB_CHUNK, 0, 0, &chunk, &granted);
        if (e) return ENOMEM;
        if (rsvi_os_commit(chunk, VMB_CHUNK, RSV_PROT_RW) != 0) {
            (void)rsvi_os_release(chunk, VMB_CHUNK);
            return ENOMEM;
        }
        node *n = chunk;
        for (size_t i = 0; i < VMB_CHUNK / sizeof *n; i++) {
            n[i].left = vmb_free;
            vmb_free = &n[i];
            vmb_free_count++;
        }
    }
    return 0;
}

static uint32_t vmb_hash(uint64_t x)
{
    x += 0x9E3779B97F4A7C15u;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9u;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBu;
    return (uint32_t)(x ^ (x >> 31));
}

/* Takes a prepared node (the caller guaranteed one is free). */
static node *vmb_take(uintptr_t start, uintptr_t end, unsigned aux)
{
    node *n = vmb_free;
    vmb_free = n->left;
    vmb_free_count--;
    memset(n, 0, sizeof *n);
    n->start = start;
    n->end = end;
    n->aux = aux;
    n->prio = vmb_hash(++vmb_seq);
    return n;
}

static void vmb_give(node *n)
{
    n->left = vmb_free;
    vmb_free = n;
    vmb_free_count++;
}

/* ---- treap --------------------------------------------------------------- */

static void tr_insert(node **t, node *n)
{
    if (!*t) {
        *t = n;
        return;
    }
    node *p = *t;
    if (n->start < p->start) {
        tr_insert(&p->left, n);
        if (p->left->prio > p->prio) {
            node *l = p->left;
            p->left = l->right;
            l->right = p;
            *t = l;
        }
    } else {
        tr_insert(&p->right, n);
        if (p->right->prio > p->prio) {
            node *r = p->right;
            p->right = r->left;
            r->left = p;
            *t = r;
        }
    }
}

/* Unlinks the node whose key is `key` (it must be present). */
static void tr_remove(node **t, uintptr_t key)
{
    while (*t && (*t)->start != key) t = key < (*t)->start ? &(*t)->left : &(*t)->right;
    node *n = *t;
    if (!n) return;
    for (;;) {
        if (!n->left) { *t = n->right; break; }
        if (!n->right) { *t = n->left; break; }
        if (n->left->prio > n->right->prio) {
            node *l = n->left;
            n->left = l->right;
            l->right = n;
            *t = l;
            t = &l->right;
        } else {
            node *r = n->right;
            n->right = r->left;
            r->left = n;
            *t = r;
            t = &r->left;
        }
    }
    n->left = n->right = NULL;
}

/* The node with the largest start <= key, or NULL. */
static node *tr_floor(node *t, uintptr_t key)
{
    node *best = NULL;
    while (t) {
        if (t->start <= key) { best = t; t = t->right; }
        else t = t->left;
    }
    return best;
}

/* The node with the smallest start >= key, or NULL. */
static node *tr_ceil(node *t, uintptr_t key)
{
    node *best = NULL;
    while (t) {
        if (t->start >= key) { best = t; t = t->left; }
        else t = t->right;
    }
    return best;
}

/* ---- reservations -------------------------------------------------------- */

const rsvi_vmb_node_t *rsvi_vmb_find(uintptr_t addr)
{
    node *n = tr_floor(vmb_resv_root, addr);
    return n && addr < n->end ? n : NULL;
}

void rsvi_vmb_add(uintptr_t start, size_t size, unsigned flags, size_t unit)
{
    node *n = vmb_take(start, start + size, flags);
    n->unit = unit;
    tr_insert(&vmb_resv_root, n);
    vmb_resv_count++;
}

void rsvi_vmb_remove(const rsvi_vmb_node_t *resv)
{
    uintptr_t lo = resv->start, hi = resv->end;
    node *r;
    while ((r = tr_ceil(vmb_run_root, lo)) != NULL && r->start < hi) {
        tr_remove(&vmb_run_root, r->start);
        vmb_give(r);
        vmb_run_count--;
    }
    node *n = tr_floor(vmb_resv_root, lo);
    tr_remove(&vmb_resv_root, lo);
    vmb_give(n);
    vmb_resv_count--;
}

/* ---- runs ---------------------------------------------------------------- */

void rsvi_vmb_set(const rsvi_vmb_node_t *resv, uintptr_t lo, uintptr_t hi,
                  int committed, unsigned prot)
{
    /* A run that starts before lo and reaches into [lo, hi): keep its head,
     * and its tail when it also runs past hi. */
    node *n = tr_floor(vmb_run_root, lo);
    if (n && n->start < lo && n->end > lo) {
        if (committed && n->aux == prot && n->end >= hi) return; /* no change */
        if (n->end > hi) {
            tr_insert(&vmb_run_root, vmb_take(hi, n->end, n->aux));
            vmb_run_count++;
        }
        n->end = lo;
    }
    /* Runs starting inside [lo, hi): drop them, or trim the one that runs
     * past hi (its new start stays between its neighbours' keys). */
    while ((n = tr_ceil(vmb_run_root, lo)) != NULL && n->start < hi) {
        if (n->end > hi) {
            if (committed && n->aux == prot) {
                /* Same protection: extend it backwards and merge below. */
                n->start = lo;
                goto merge;
            }
            n->start = hi;
            break;
        }
        tr_remove(&vmb_run_root, n->start);
        vmb_give(n);
        vmb_run_count--;
    }
    if (!committed) return;
    n = vmb_take(lo, hi, prot);
    tr_insert(&vmb_run_root, n);
    vmb_run_count++;
merge:
    /* Merge with equal neighbours inside the same reservation so each run
     * is maximal (what rsv_vm_query reports). */
    if (n->start > resv->start) {
        node *p = tr_floor(vmb_run_root, n->start - 1);
        if (p && p->end == n->start && p->aux == n->aux) {
            p->end = n->end;
            tr_remove(&vmb_run_root, n->start);
            vmb_give(n);
            vmb_run_count--;
            n = p;
        }
    }
    if (n->end < resv->end) {
        node *s = tr_ceil(vmb_run_root, n->end);
        if (s && s->start == n->end && s->aux == n->aux) {
            n->end = s->end;
            tr_remove(&vmb_run_root, s->start);
            vmb_give(s);
            vmb_run_count--;
        }
    }
}

int rsvi_vmb_committed(uintptr_t lo, uintptr_t hi, unsigned *first_prot)
{
    node *n = tr_floor(vmb_run_root, lo);
    if (!n || n->end <= lo) return 0;
    *first_prot = n->aux;
    /* Walk the chain of touching runs until it covers hi. */
    while (n->end < hi) {
        node *s = tr_ceil(vmb_run_root, n->end);
        if (!s || s->start != n->end) return 0;
        n = s;
    }
    return 1;
}

void rsvi_vmb_describe(const rsvi_vmb_node_t *resv, uintptr_t addr, rsv_vm_info_t *info)
{
    memset(info, 0, sizeof *info);
    uintptr_t page = resv->unit;
    addr &= ~(page - 1);
    info->alloc_base = (void *)resv->start;
    info->alloc_size = resv->end - resv->start;
    info->flags = resv->aux;
    info->page_size = resv->unit;
    info->exact = 1;
    node *n = tr_floor(vmb_run_root, addr);
    if (n && n->end > addr) {
        info->state = RSV_VM_COMMITTED;
        info->prot = n->aux;
        info->base = (void *)n->start;
        info->size = n->end - n->start;
        return;
    }
    /* A gap between runs: RESERVED from the previous run's end (or the
     * reservation's start) to the next run's start (or its end). */
    uintptr_t lo = n && n->end > resv->start ? n->end : resv->start;
    node *s = tr_ceil(vmb_run_root, addr);
    uintptr_t hi = s && s->start < resv->end ? s->start : resv->end;
    info->state = RSV_VM_RESERVED;
    info->prot = RSV_PROT_NONE;
    info->base = (void *)lo;
    info->size = hi - lo;
}

size_t rsvi_vmb_reservations(void) { return vmb_resv_count; }
size_t rsvi_vmb_runs(void) { return vmb_run_count; }

/* ---- validator ----------------------------------------------------------- */

/* Checks one treap: keys ascending and intervals disjoint (in-order), each
 * node's priority >= its children's.  Returns the node count, or -1.
 * Recursion depth is the treap's depth. */
static long vmb_check_tree(const node *t, uintptr_t *last_end)
{
    if (!t) return 0;
    if ((t->left && t->left->prio > t->prio) || (t->right && t->right->prio > t->prio)) return -1;
    long l = vmb_check_tree(t->left, last_end);
    if (l < 0 || t->start < *last_end || t->end <= t->start) return -1;
    *last_end = t->end;
    long r = vmb_check_tree(t->right, last_end);
    return r < 0 ? -1 : l + r + 1;
}

/* In-order walk of the runs: each inside one reservation, aligned to its
 * unit, and not mergeable with the run before it. */
static int vmb_check_runs(const node *t, const node **prev)
{
    if (!t) return 1;
    if (!vmb_check_runs(t->left, prev)) return 0;
    const node *r = rsvi_vmb_find(t->start);
    if (!r || t->end > r->end || (t->start | t->end) & (r->unit - 1)) return 0;
    if (t->aux & ~(unsigned)RSV_PROT_RWX) return 0;
    if (*prev && (*prev)->end == t->start && (*prev)->aux == t->aux && (*prev)->start >= r->start) return 0;
    *prev = t;
    return vmb_check_runs(t->right, prev);
}

int rsvi_vmb_validate(void)
{
    uintptr_t end = 0;
    long nr = vmb_check_tree(vmb_resv_root, &end);
    if (nr < 0 || (size_t)nr != vmb_resv_count) return EFAULT;
    end = 0;
    long nu = vmb_check_tree(vmb_run_root, &end);
    if (nu < 0 || (size_t)nu != vmb_run_count) return EFAULT;
    const node *prev = NULL;
    return vmb_check_runs(vmb_run_root, &prev) ? 0 : EFAULT;
}
