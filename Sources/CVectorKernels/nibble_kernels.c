/* 4-bit and 2-bit traversal codes: int8 query × packed codes, AVX-512 VNNI or AVX2 with a scalar fallback (chosen once). */
#include "vector_kernels.h"
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define VS_NIBBLE_X86 1
#else
#define VS_NIBBLE_X86 0
#endif

/* Block b of a code is 32 bytes: byte j holds dimension 64b + j in its low nibble and 64b + 32 + j in its high
 * nibble, so one 32-byte load unpacks into two runs of 32 consecutive dimensions matching the query's bytes. */
static int32_t scalar_u4_dot(const int8_t *q, const uint8_t *c, size_t blocks) {
    int32_t s = 0;
    for (size_t b = 0; b < blocks; b++, q += 64, c += 32)
        for (int j = 0; j < 32; j++) s += (int32_t)q[j] * (c[j] & 15) + (int32_t)q[32 + j] * (c[j] >> 4);
    return s;
}

/* Block b of a 2-bit code is 16 bytes: byte j holds dimensions 64b + j, + 16 + j, + 32 + j and + 48 + j in its bit
 * pairs 0-1, 2-3, 4-5 and 6-7, so shifting one 16-byte load by 0, 2, 4 and 6 gives four runs of 16 consecutive
 * dimensions in the query's order. */
static int32_t scalar_u2_dot(const int8_t *q, const uint8_t *c, size_t blocks) {
    int32_t s = 0;
    for (size_t b = 0; b < blocks; b++, q += 64, c += 16)
        for (int j = 0; j < 16; j++)
            s += (int32_t)q[j] * (c[j] & 3) + (int32_t)q[16 + j] * ((c[j] >> 2) & 3)
                 + (int32_t)q[32 + j] * ((c[j] >> 4) & 3) + (int32_t)q[48 + j] * (c[j] >> 6);
    return s;
}

#if VS_NIBBLE_X86
__attribute__((target("avx2"))) static inline int32_t avx2_sum_epi32(__m256i acc) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}

__attribute__((target("avx2"))) static int32_t avx2_u2_dot(const int8_t *q, const uint8_t *c, size_t blocks) {
    const __m256i mask = _mm256_set1_epi8(3), ones = _mm256_set1_epi16(1);
    __m256i acc = _mm256_setzero_si256();
    for (size_t b = 0; b < blocks; b++, q += 64, c += 16) {
        __m128i packed = _mm_loadu_si128((const __m128i *)c);
        __m256i first = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(packed, 2), packed), mask);
        __m256i second = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(packed, 6), _mm_srli_epi16(packed, 4)), mask);
        __m256i pairs = _mm256_add_epi16(_mm256_maddubs_epi16(first, _mm256_loadu_si256((const __m256i *)q)),
                                         _mm256_maddubs_epi16(second, _mm256_loadu_si256((const __m256i *)(q + 32))));
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, ones));
    }
    return avx2_sum_epi32(acc);
}

__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
static int32_t vnni_u2_dot(const int8_t *q, const uint8_t *c, size_t blocks) {
    /* 128-bit lane k of the broadcast is shifted right by 2k, then every byte keeps its low bit pair. */
    const __m512i shifts = _mm512_set_epi64(6, 6, 4, 4, 2, 2, 0, 0), mask = _mm512_set1_epi8(3);
    __m512i acc = _mm512_setzero_si512();
    for (size_t b = 0; b < blocks; b++, q += 64, c += 16) {
        __m512i packed = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)c));
        __m512i codes = _mm512_and_si512(_mm512_srlv_epi64(packed, shifts), mask);
        acc = _mm512_dpbusd_epi32(acc, codes, _mm512_loadu_si512((const void *)q));
    }
    return _mm512_reduce_add_epi32(acc);
}

__attribute__((target("avx2"))) static int32_t avx2_u4_dot(const int8_t *q, const uint8_t *c, size_t blocks) {
    const __m256i mask = _mm256_set1_epi8(15), ones = _mm256_set1_epi16(1);
    __m256i acc = _mm256_setzero_si256();
    for (size_t b = 0; b < blocks; b++, q += 64, c += 32) {
        __m256i packed = _mm256_loadu_si256((const __m256i *)c);
        __m256i lo = _mm256_and_si256(packed, mask), hi = _mm256_and_si256(_mm256_srli_epi16(packed, 4), mask);
        /* u8 × s8 pairs summed into s16: |2 × 15 × 128| × 2 runs stays far below 32767. */
        __m256i pairs = _mm256_add_epi16(_mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i *)q)),
                                         _mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i *)(q + 32))));
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, ones));
    }
    return avx2_sum_epi32(acc);
}

__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
static int32_t vnni_u4_dot(const int8_t *q, const uint8_t *c, size_t blocks) {
    const __m256i mask = _mm256_set1_epi8(15);
    __m512i acc = _mm512_setzero_si512();
    for (size_t b = 0; b < blocks; b++, q += 64, c += 32) {
        __m256i packed = _mm256_loadu_si256((const __m256i *)c);
        __m256i lo = _mm256_and_si256(packed, mask), hi = _mm256_and_si256(_mm256_srli_epi16(packed, 4), mask);
        __m512i codes = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
        acc = _mm512_dpbusd_epi32(acc, codes, _mm512_loadu_si512((const void *)q));
    }
    return _mm512_reduce_add_epi32(acc);
}
#endif

typedef int32_t (*vs_u4_dot_fn)(const int8_t *, const uint8_t *, size_t);
static vs_u4_dot_fn u4_dot = scalar_u4_dot, u2_dot = scalar_u2_dot;
static int u4_level = 0;

__attribute__((constructor)) static void vs_pick_nibble_kernels(void) {
#if VS_NIBBLE_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl")
        && __builtin_cpu_supports("avx512vnni")) {
        u4_dot = vnni_u4_dot;
        u2_dot = vnni_u2_dot;
        u4_level = 2;
    } else if (__builtin_cpu_supports("avx2")) {
        u4_dot = avx2_u4_dot;
        u2_dot = avx2_u2_dot;
        u4_level = 1;
    }
#endif
}

int vs_u4_kernel_level(void) { return u4_level; }

void vs_u4_force_kernel_level(int level) {
    u4_dot = scalar_u4_dot;
    u2_dot = scalar_u2_dot;
    u4_level = 0;
#if VS_NIBBLE_X86
    if (level >= 2 && __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512vl")) { u4_dot = vnni_u4_dot; u2_dot = vnni_u2_dot; u4_level = 2; }
    else if (level >= 1 && __builtin_cpu_supports("avx2")) { u4_dot = avx2_u4_dot; u2_dot = avx2_u2_dot; u4_level = 1; }
#endif
}

int32_t vs_u4_dot(const int8_t *query, const uint8_t *code, size_t blocks) { return u4_dot(query, code, blocks); }
int32_t vs_u2_dot(const int8_t *query, const uint8_t *code, size_t blocks) { return u2_dot(query, code, blocks); }

/* One estimate from a code's levels and the three constants after them (`packed` bytes per 64-dimension block). */
static inline float low_bit_estimate(const vs_u4_query *query, const uint8_t *code, size_t blocks, size_t packed,
                                     vs_u4_dot_fn dot) {
    float tail[3]; /* low, step, ‖reconstruction‖² — unaligned after the levels */
    memcpy(tail, code + blocks * packed, sizeof tail);
    float d = query->mean + tail[0] * query->sum + tail[1] * query->scale * (float)dot(query->values, code, blocks);
    return query->euclidean ? query->norm2 + tail[2] - 2 * d : 1 - d;
}

static void low_bit_estimates(const vs_u4_query *query, const uint8_t *const *codes, size_t count, size_t blocks,
                              size_t packed, vs_u4_dot_fn dot, float *out) {
    for (size_t i = 0; i < count; i++) out[i] = low_bit_estimate(query, codes[i], blocks, packed, dot);
}

static void low_bit_estimates_at(const vs_u4_query *query, const uint8_t *base, size_t stride, const uint32_t *ids,
                                 size_t count, size_t blocks, size_t packed, vs_u4_dot_fn dot, float *out) {
    for (size_t i = 0; i < count; i++) vs_prefetch_span(base + (size_t)ids[i] * stride, stride);
    for (size_t i = 0; i < count; i++)
        out[i] = low_bit_estimate(query, base + (size_t)ids[i] * stride, blocks, packed, dot);
}

void vs_u4_estimates(const vs_u4_query *query, const uint8_t *const *codes, size_t count, size_t blocks, float *out) {
    low_bit_estimates(query, codes, count, blocks, 32, u4_dot, out);
}

void vs_u4_estimates_at(const vs_u4_query *query, const uint8_t *base, size_t stride, const uint32_t *ids, size_t count,
                        size_t blocks, float *out) {
    low_bit_estimates_at(query, base, stride, ids, count, blocks, 32, u4_dot, out);
}

void vs_u2_estimates(const vs_u4_query *query, const uint8_t *const *codes, size_t count, size_t blocks, float *out) {
    low_bit_estimates(query, codes, count, blocks, 16, u2_dot, out);
}

void vs_u2_estimates_at(const vs_u4_query *query, const uint8_t *base, size_t stride, const uint32_t *ids, size_t count,
                        size_t blocks, float *out) {
    low_bit_estimates_at(query, base, stride, ids, count, blocks, 16, u2_dot, out);
}
