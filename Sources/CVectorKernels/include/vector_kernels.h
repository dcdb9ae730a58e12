/* Distance kernels for VectorIndex (AVX2/FMA with a scalar fallback chosen once at startup) and the few atomics it needs. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <sched.h>

/* Element type codes; must match VectorElementType's raw values on the Swift side. */
enum { VS_FLOAT32 = 0, VS_FLOAT64 = 1, VS_FLOAT16 = 2, VS_BFLOAT16 = 3 };

/* A distance kernel: squared L2 or dot product between a query and a stored vector of `dim` elements.
 * For FLOAT64 the query is float64 and the sum is kept in double; for the other types the query is float32
 * (or, when `queryIsStored` was asked for, in the stored element type) and the sum is float32. */
typedef float (*vs_distance_fn)(const void *query, const void *stored, size_t dim);

/* Returns the kernel for (elementType, dot ? dot product : squared L2); queryIsStored selects the variant whose
 * first argument is also in the stored element type (used to compare two stored vectors while building). */
vs_distance_fn vs_kernel(int elementType, int dot, int queryIsStored);

/* 1 when the AVX2+FMA(+F16C) kernels were selected. */
int vs_kernels_have_avx2(void);

/* SQ8 estimates: codes are per-dimension 8-bit quantized values.
 * L2: sum_i weight[i] * (queryInCodeUnits[i] - code[i])^2.  Dot: sum_i queryScaled[i] * code[i]. */
float vs_sq8_l2(const float *queryInCodeUnits, const float *weights, const uint8_t *codes, size_t dim);
float vs_sq8_dot(const float *queryScaled, const uint8_t *codes, size_t dim);

/* Element conversions to float32 (exact for FLOAT16 and BFLOAT16). */
void vs_f16_to_f32(const uint16_t *src, float *dst, size_t n);
void vs_bf16_to_f32(const uint16_t *src, float *dst, size_t n);

/* References for the kernel micro-benchmark: a plain loop and straight intrinsics, both built with -O3 and
 * avx2+fma enabled, called directly (no dispatch). */
float vs_reference_l2_f32_plain(const float *a, const float *b, size_t dim);
float vs_reference_l2_f32_intrinsics(const float *a, const float *b, size_t dim);
float vs_reference_dot_f32_intrinsics(const float *a, const float *b, size_t dim);
/* Runs `iterations` distances of `fn`-kind kernels entirely inside C, to time them without Swift call overhead. */
double vs_reference_loop(int which, const float *queries, const float *base, size_t n, size_t dim, size_t iterations);

/* ---- atomics (static inline so Swift inlines them; TSan understands __atomic builtins) ---- */
static inline void vs_spin_lock(uint32_t *word) {
    unsigned spins = 0;
    while (__atomic_exchange_n(word, 1u, __ATOMIC_ACQUIRE)) {
        while (__atomic_load_n(word, __ATOMIC_RELAXED)) {
            /* Two shared cores: a holder may be descheduled, so yield instead of burning the slice. */
            if (++spins > 64) { sched_yield(); spins = 0; }
#if defined(__x86_64__)
            else __builtin_ia32_pause();
#endif
        }
    }
}
static inline void vs_spin_unlock(uint32_t *word) { __atomic_store_n(word, 0u, __ATOMIC_RELEASE); }
static inline uint8_t vs_load_acquire_u8(const uint8_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline void vs_store_release_u8(uint8_t *p, uint8_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
static inline uint64_t vs_fetch_add_u64(uint64_t *p, uint64_t v) { return __atomic_fetch_add(p, v, __ATOMIC_RELAXED); }
static inline void vs_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }
/* Every cache line of [p, p + bytes), including a last partial one. */
static inline void vs_prefetch_span(const void *p, size_t bytes) {
    const char *c = (const char *)p;
    for (size_t offset = 0; offset < bytes; offset += 64) __builtin_prefetch(c + offset, 0, 3);
    if (bytes > 0) __builtin_prefetch(c + bytes - 1, 0, 3);
}

/* ---- 4-bit traversal codes (nibble_kernels.c) ----
 * A code is `blocks` × 32 bytes of nibbles (block b, byte j: dimension 64b + j low, 64b + 32 + j high) followed by
 * three float32 (unaligned): the vector's low value, its step, and the squared norm of its reconstruction.
 * A prepared query holds `values` (int8, 64 per block, zero past the dimension) = round(query / scale), plus the
 * constants of the estimate  dot = mean + low·sum + step·scale·Σ values·nibbles. */
typedef struct {
    const int8_t *values;
    float scale;     /* query ≈ values × scale */
    float sum;       /* Σ query */
    float mean;      /* query · training mean */
    float norm2;     /* ‖query‖² */
    int euclidean;   /* 1: squared L2 = norm2 + ‖x‖² − 2·dot; 0: 1 − dot */
} vs_u4_query;

int32_t vs_u4_dot(const int8_t *query, const uint8_t *code, size_t blocks);
void vs_u4_estimates(const vs_u4_query *query, const uint8_t *const *codes, size_t count, size_t blocks, float *out);
/* The same for the codes of `ids` in one array of `stride`-byte codes: every code is prefetched before the first
 * estimate, so a walk step's DRAM misses overlap instead of queueing behind each other. */
void vs_u4_estimates_at(const vs_u4_query *query, const uint8_t *base, size_t stride, const uint32_t *ids, size_t count,
                        size_t blocks, float *out);
/* 2-bit codes: `blocks` × 16 bytes (block b, byte j: dimensions 64b + j, + 16, + 32, + 48 in bit pairs 0-1, 2-3,
 * 4-5, 6-7), then the same three float32; the same query and estimate with levels 0…3 instead of 0…15. */
int32_t vs_u2_dot(const int8_t *query, const uint8_t *code, size_t blocks);
void vs_u2_estimates(const vs_u4_query *query, const uint8_t *const *codes, size_t count, size_t blocks, float *out);
void vs_u2_estimates_at(const vs_u4_query *query, const uint8_t *base, size_t stride, const uint32_t *ids, size_t count,
                        size_t blocks, float *out);
/* Both code widths' kernels: 2 = AVX-512 VNNI, 1 = AVX2, 0 = scalar. Forcing a lower level is for tests and benchmarks (not thread-safe). */
int vs_u4_kernel_level(void);
void vs_u4_force_kernel_level(int level);
