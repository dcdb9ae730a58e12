// What Swift cannot see for the Storage and Tiering targets: O_DIRECT (hidden without _GNU_SOURCE in Glibc's module),
// glibc's malloc_trim/mallopt, and the SSE4.2 CRC32C instruction. liburing's static inline helpers import directly
// through CURing.
#ifndef VS_STORAGE_SHIMS_H
#define VS_STORAGE_SHIMS_H

#include <stddef.h>
#include <stdint.h>

/// open(2)'s O_DIRECT flag.
extern const int vs_O_DIRECT;

/// glibc's malloc_trim(0): returns freed heap to the kernel (tiering calls it after a compaction frees an arena).
int vs_release_free_memory(void);

/// Fixes glibc's mmap threshold at `bytes` (turning off its dynamic growth) and caps malloc arenas at `arenas`.
void vs_configure_malloc(size_t bytes, int arenas);


/// 1 when the CPU has SSE4.2's crc32 instruction (CRC32C in hardware).
int vs_crc32c_hardware_available(void);
/// CRC32C update of `crc` (already inverted, as the Swift code keeps it) over `count` bytes with SSE4.2; only call it
/// when `vs_crc32c_hardware_available()` is 1.
uint32_t vs_crc32c_hardware(uint32_t crc, const void *bytes, size_t count);

#endif
