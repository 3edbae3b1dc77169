/* tests/preload/gen.c — writes a deterministic text file for the sort,
 * gzip and xz runs: `gen BYTES > file`.  Lines of pseudo-random words and
 * numbers (compressible like real text, many duplicate keys for sort).  The
 * same BYTES always gives the same file, on any machine.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static const char *const words[] = {
    "reservoir", "arena", "pool", "heap", "region", "commit", "reserve", "page", "block", "free",
    "malloc", "thread", "cache", "segment", "large", "small", "class", "purge", "decay", "guard",
    "canary", "leak", "quarantine", "fill", "alpha", "beta", "gamma", "delta", "omega", "zeta",
};

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen BYTES\n");
        return 2;
    }
    unsigned long long want = strtoull(argv[1], NULL, 10), done = 0;
    uint64_t x = 88172645463325252ull;
    static char line[512];
    while (done < want) {
        int n = 0, nw;
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        nw = 1 + (int)(x % 9);
        n += snprintf(line + n, sizeof line - (size_t)n, "%06llu", (unsigned long long)(x >> 20) % 1000000);
        for (int i = 0; i < nw; i++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            n += snprintf(line + n, sizeof line - (size_t)n, " %s%u", words[x % 30], (unsigned)(x >> 40) % 100);
        }
        line[n++] = '\n';
        if (fwrite(line, 1, (size_t)n, stdout) != (size_t)n) return 1;
        done += (unsigned long long)n;
    }
    return fflush(stdout) == 0 ? 0 : 1;
}
