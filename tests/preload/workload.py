# tests/preload/workload.py — a mixed allocation workload for the malloc
# replacement: dicts, lists, strings, bytes, json and sorting from many
# threads (the GIL serialises Python code, but CPython's allocator calls
# still come from every thread, and objects built in one thread die in
# another through a shared queue).  The output depends only on the data,
# never on scheduling, so it must be identical under any allocator.
# Scale with RSV_PRELOAD_SCALE (percent, default 100).
import json
import os
import queue
import threading
import zlib

SCALE = max(1, int(os.environ.get("RSV_PRELOAD_SCALE", "100")))
ROUNDS = 120 * SCALE // 100
THREADS = 8


def rng(seed):
    x = seed * 2654435761 % 2**32 or 1
    while True:
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        yield x


def build(r):
    d = {}
    for _ in range(next(r) % 200 + 1):
        k = "key%d_%s" % (next(r) % 5000, "x" * (next(r) % 50))
        n = next(r)
        if n % 3 == 0:
            d[k] = [next(r) % 1000 for _ in range(n % 100)]
        elif n % 3 == 1:
            d[k] = "v" * (n % 3000) + str(n)
        else:
            d[k] = {"n": n, "b": bytes(n % 256) * (n % 40)}.get("n")
    return d


def worker(tid, out, q):
    r = rng(tid + 1)
    crc = 0
    for i in range(ROUNDS):
        d = build(r)
        s = json.dumps(d, sort_keys=True)
        crc = zlib.crc32(s.encode(), crc)
        back = json.loads(s)
        words = sorted(back.keys(), key=lambda w: (len(w), w))
        crc = zlib.crc32("|".join(words).encode(), crc)
        big = [str(j) * (j % 7) for j in range(next(r) % 5000)]
        crc = zlib.crc32("".join(big[::97]).encode(), crc)
        if i % 2:
            q.put(back)           # dies in another thread
        try:
            other = q.get_nowait()
            del other             # which item we get depends on scheduling: not hashed
        except queue.Empty:
            pass
        del d, s, back, words, big
    out[tid] = crc


def main():
    out = [0] * THREADS
    q = queue.Queue()
    ts = [threading.Thread(target=worker, args=(t, out, q)) for t in range(THREADS)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    left = 0
    while not q.empty():
        q.get()
        left += 1
    # The number of queued items left depends on scheduling; not printed.
    for t, c in enumerate(out):
        print("thread %d crc %08x" % (t, c))


main()
