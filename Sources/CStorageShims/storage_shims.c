// Compiled with _GNU_SOURCE so <fcntl.h> defines O_DIRECT.
#define _GNU_SOURCE
#include <fcntl.h>
#include "storage_shims.h"

const int vs_O_DIRECT = O_DIRECT;

#include <malloc.h>
int vs_release_free_memory(void) { return malloc_trim(0); }

void vs_configure_malloc(size_t bytes, int arenas) {
    mallopt(M_MMAP_THRESHOLD, (int)bytes);
    mallopt(M_ARENA_MAX, arenas);
}

/* CRC32C with SSE4.2's crc32 instruction: ~20x the table-driven Swift loop, which cost ~10 % of a tiered search's
 * CPU (every page read is verified). Chosen at run time so the binary still runs on CPUs without SSE4.2. */
#include <string.h>
#include <nmmintrin.h>

int vs_crc32c_hardware_available(void) { return __builtin_cpu_supports("sse4.2") ? 1 : 0; }

__attribute__((target("sse4.2")))
uint32_t vs_crc32c_hardware(uint32_t crc, const void *bytes, size_t count) {
    const unsigned char *p = bytes;
    uint64_t c = crc;
    while (count >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        c = _mm_crc32_u64(c, word);
        p += 8;
        count -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (count > 0) {
        c32 = _mm_crc32_u8(c32, *p);
        p++;
        count--;
    }
    return c32;
}
