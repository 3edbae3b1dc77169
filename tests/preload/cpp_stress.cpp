// tests/preload/cpp_stress.cpp — std::string, std::map and std::vector from
// 8 threads, with most objects destroyed by a thread other than the one
// that built them (a shared queue), so the allocator sees cross-thread
// frees through libstdc++'s operator new/delete.  The printed checksum is
// independent of scheduling, so it must be the same under any allocator.
// Scale with RSV_PRELOAD_SCALE (percent, default 100).
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Item {
    std::string name;
    std::map<std::string, std::vector<std::uint32_t>> fields;
};

std::mutex queue_lock;
std::deque<std::unique_ptr<Item>> queue;
std::atomic<std::uint64_t> consumed_sum{0};
std::atomic<long> consumed_count{0};

std::uint64_t digest(const Item &it)
{
    std::uint64_t h = 1469598103934665603ull;
    for (char c : it.name) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    for (const auto &kv : it.fields) {
        for (char c : kv.first) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
        for (std::uint32_t v : kv.second) h = (h ^ v) * 1099511628211ull;
    }
    return h;
}

std::unique_ptr<Item> make_item(unsigned thread, long n, std::uint32_t &x)
{
    auto it = std::make_unique<Item>();
    it->name = "item-" + std::to_string(thread) + "-" + std::to_string(n);
    int nfields = 1 + static_cast<int>(x % 12);
    for (int f = 0; f < nfields; f++) {
        x ^= x << 13; x ^= x >> 17; x ^= x << 5;
        std::string key = "field_" + std::to_string(x % 1000) + std::string(x % 40, 'k');
        auto &vec = it->fields[key];
        std::size_t len = (x >> 4) % ((x & 63) == 0 ? 20000 : 64);
        for (std::size_t i = 0; i < len; i++) vec.push_back(static_cast<std::uint32_t>(i * x));
    }
    return it;
}

void worker(unsigned id, long items)
{
    std::uint32_t x = 2463534242u + id * 7919u;
    std::vector<std::unique_ptr<Item>> local;
    for (long n = 0; n < items; n++) {
        auto it = make_item(id, n, x);
        if (n % 4 == 0) {
            local.push_back(std::move(it));   // freed by this thread later
            if (local.size() > 64) {
                consumed_sum += digest(*local.front());
                consumed_count++;
                local.erase(local.begin());
            }
        } else {
            std::lock_guard<std::mutex> g(queue_lock);
            queue.push_back(std::move(it));
        }
        // Consume (destroy) whatever other threads produced.
        for (int k = 0; k < 3; k++) {
            std::unique_ptr<Item> got;
            {
                std::lock_guard<std::mutex> g(queue_lock);
                if (queue.empty()) break;
                got = std::move(queue.front());
                queue.pop_front();
            }
            consumed_sum += digest(*got);
            consumed_count++;
        }
    }
    for (auto &it : local) {
        consumed_sum += digest(*it);
        consumed_count++;
    }
}

}  // namespace

int main()
{
    long scale = 100;
    if (const char *s = std::getenv("RSV_PRELOAD_SCALE")) scale = std::atol(s);
    if (scale < 1) scale = 1;
    const long items = 25000 * scale / 100;
    std::vector<std::thread> threads;
    for (unsigned i = 0; i < 8; i++) threads.emplace_back(worker, i, items);
    for (auto &t : threads) t.join();
    for (auto &it : queue) {
        consumed_sum += digest(*it);
        consumed_count++;
    }
    queue.clear();
    std::printf("cpp_stress: %ld items, checksum %016llx\n", consumed_count.load(),
                static_cast<unsigned long long>(consumed_sum.load()));
    return consumed_count.load() == 8 * items ? 0 : 1;
}
