/* Distance kernels: AVX2/FMA/F16C versions and portable scalar fallbacks, picked once at load time. */
#include "vector_kernels.h"
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define VS_HAVE_X86 1
#endif

/* ---------- scalar element loads (portable) ---------- */
static inline float half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1Fu, mant = h & 0x3FFu, bits;
    if (exp == 0) {
        if (mant == 0) bits = sign;
        else { /* subnormal: renormalise */
            exp = 127 - 15 + 1;
            while (!(mant & 0x400u)) { mant <<= 1; exp--; }
            bits = sign | (exp << 23) | ((mant & 0x3FFu) << 13);
        }
    } else if (exp == 31) bits = sign | 0x7F800000u | (mant << 13);
    else bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
    float f; memcpy(&f, &bits, 4); return f;
}
static inline float bf16_to_float(uint16_t h) { uint32_t bits = (uint32_t)h << 16; float f; memcpy(&f, &bits, 4); return f; }

#define LOAD_S_F32(p, i) (((const float *)(p))[i])
#define LOAD_S_F16(p, i) half_to_float(((const uint16_t *)(p))[i])
#define LOAD_S_BF16(p, i) bf16_to_float(((const uint16_t *)(p))[i])

#define DEFINE_SCALAR(NAME, QL, XL)                                                                   \
    static float scalar_l2_##NAME(const void *q, const void *x, size_t n) {                           \
        float s = 0; for (size_t i = 0; i < n; i++) { float d = QL(q, i) - XL(x, i); s += d * d; }    \
        return s;                                                                                     \
    }                                                                                                 \
    static float scalar_dot_##NAME(const void *q, const void *x, size_t n) {                          \
        float s = 0; for (size_t i = 0; i < n; i++) s += QL(q, i) * XL(x, i);                         \
        return s;                                                                                     \
    }
DEFINE_SCALAR(f32, LOAD_S_F32, LOAD_S_F32)
DEFINE_SCALAR(f32_f16, LOAD_S_F32, LOAD_S_F16)
DEFINE_SCALAR(f16_f16, LOAD_S_F16, LOAD_S_F16)
DEFINE_SCALAR(f32_bf16, LOAD_S_F32, LOAD_S_BF16)
DEFINE_SCALAR(bf16_bf16, LOAD_S_BF16, LOAD_S_BF16)

static float scalar_l2_f64(const void *q, const void *x, size_t n) {
    const double *a = q, *b = x; double s = 0;
    for (size_t i = 0; i < n; i++) { double d = a[i] - b[i]; s += d * d; }
    return (float)s;
}
static float scalar_dot_f64(const void *q, const void *x, size_t n) {
    const double *a = q, *b = x; double s = 0;
    for (size_t i = 0; i < n; i++) s += a[i] * b[i];
    return (float)s;
}

#if VS_HAVE_X86
#define VS_TARGET __attribute__((target("avx2,fma,f16c")))
VS_TARGET static inline __m256 load8_f32(const void *p, size_t i) { return _mm256_loadu_ps((const float *)p + i); }
VS_TARGET static inline __m256 load8_f16(const void *p, size_t i) {
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)p + i)));
}
VS_TARGET static inline __m256 load8_bf16(const void *p, size_t i) {
    __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)((const uint16_t *)p + i)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
}
VS_TARGET static inline float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* Four independent accumulators hide the FMA latency; the tail is done lane by lane. */
#define DEFINE_AVX2(NAME, QV, XV, QL, XL)                                                             \
    VS_TARGET static float avx2_l2_##NAME(const void *q, const void *x, size_t n) {                   \
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;                                   \
        size_t i = 0;                                                                                 \
        for (; i + 32 <= n; i += 32) {                                                                \
            __m256 d0 = _mm256_sub_ps(QV(q, i), XV(x, i));                                            \
            __m256 d1 = _mm256_sub_ps(QV(q, i + 8), XV(x, i + 8));                                   \
            __m256 d2 = _mm256_sub_ps(QV(q, i + 16), XV(x, i + 16));                                  \
            __m256 d3 = _mm256_sub_ps(QV(q, i + 24), XV(x, i + 24));                                  \
            a0 = _mm256_fmadd_ps(d0, d0, a0); a1 = _mm256_fmadd_ps(d1, d1, a1);                       \
            a2 = _mm256_fmadd_ps(d2, d2, a2); a3 = _mm256_fmadd_ps(d3, d3, a3);                       \
        }                                                                                             \
        for (; i + 8 <= n; i += 8) { __m256 d = _mm256_sub_ps(QV(q, i), XV(x, i)); a0 = _mm256_fmadd_ps(d, d, a0); } \
        float s = hsum8(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));                 \
        for (; i < n; i++) { float d = QL(q, i) - XL(x, i); s += d * d; }                             \
        return s;                                                                                     \
    }                                                                                                 \
    VS_TARGET static float avx2_dot_##NAME(const void *q, const void *x, size_t n) {                  \
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;                                   \
        size_t i = 0;                                                                                 \
        for (; i + 32 <= n; i += 32) {                                                                \
            a0 = _mm256_fmadd_ps(QV(q, i), XV(x, i), a0);                                             \
            a1 = _mm256_fmadd_ps(QV(q, i + 8), XV(x, i + 8), a1);                                     \
            a2 = _mm256_fmadd_ps(QV(q, i + 16), XV(x, i + 16), a2);                                   \
            a3 = _mm256_fmadd_ps(QV(q, i + 24), XV(x, i + 24), a3);                                   \
        }                                                                                             \
        for (; i + 8 <= n; i += 8) a0 = _mm256_fmadd_ps(QV(q, i), XV(x, i), a0);                      \
        float s = hsum8(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));                 \
        for (; i < n; i++) s += QL(q, i) * XL(x, i);                                                  \
        return s;                                                                                     \
    }
DEFINE_AVX2(f32, load8_f32, load8_f32, LOAD_S_F32, LOAD_S_F32)
DEFINE_AVX2(f32_f16, load8_f32, load8_f16, LOAD_S_F32, LOAD_S_F16)
DEFINE_AVX2(f16_f16, load8_f16, load8_f16, LOAD_S_F16, LOAD_S_F16)
DEFINE_AVX2(f32_bf16, load8_f32, load8_bf16, LOAD_S_F32, LOAD_S_BF16)
DEFINE_AVX2(bf16_bf16, load8_bf16, load8_bf16, LOAD_S_BF16, LOAD_S_BF16)

VS_TARGET static inline double hsum4d(__m256d v) {
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}
VS_TARGET static float avx2_l2_f64(const void *q, const void *x, size_t n) {
    const double *a = q, *b = x; __m256d s0 = _mm256_setzero_pd(), s1 = s0; size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256d d0 = _mm256_sub_pd(_mm256_loadu_pd(a + i), _mm256_loadu_pd(b + i));
        __m256d d1 = _mm256_sub_pd(_mm256_loadu_pd(a + i + 4), _mm256_loadu_pd(b + i + 4));
        s0 = _mm256_fmadd_pd(d0, d0, s0); s1 = _mm256_fmadd_pd(d1, d1, s1);
    }
    double s = hsum4d(_mm256_add_pd(s0, s1));
    for (; i < n; i++) { double d = a[i] - b[i]; s += d * d; }
    return (float)s;
}
VS_TARGET static float avx2_dot_f64(const void *q, const void *x, size_t n) {
    const double *a = q, *b = x; __m256d s0 = _mm256_setzero_pd(), s1 = s0; size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        s0 = _mm256_fmadd_pd(_mm256_loadu_pd(a + i), _mm256_loadu_pd(b + i), s0);
        s1 = _mm256_fmadd_pd(_mm256_loadu_pd(a + i + 4), _mm256_loadu_pd(b + i + 4), s1);
    }
    double s = hsum4d(_mm256_add_pd(s0, s1));
    for (; i < n; i++) s += a[i] * b[i];
    return (float)s;
}

VS_TARGET static inline __m256 load8_u8(const uint8_t *p) {
    return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)p)));
}
VS_TARGET static float avx2_sq8_l2(const float *q, const float *w, const uint8_t *c, size_t n) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0; size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(q + i), load8_u8(c + i));
        __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(q + i + 8), load8_u8(c + i + 8));
        a0 = _mm256_fmadd_ps(_mm256_mul_ps(d0, d0), _mm256_loadu_ps(w + i), a0);
        a1 = _mm256_fmadd_ps(_mm256_mul_ps(d1, d1), _mm256_loadu_ps(w + i + 8), a1);
    }
    float s = hsum8(_mm256_add_ps(a0, a1));
    for (; i < n; i++) { float d = q[i] - (float)c[i]; s += w[i] * d * d; }
    return s;
}
VS_TARGET static float avx2_sq8_dot(const float *q, const uint8_t *c, size_t n) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0; size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), load8_u8(c + i), a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 8), load8_u8(c + i + 8), a1);
    }
    float s = hsum8(_mm256_add_ps(a0, a1));
    for (; i < n; i++) s += q[i] * (float)c[i];
    return s;
}
#endif

static float scalar_sq8_l2(const float *q, const float *w, const uint8_t *c, size_t n) {
    float s = 0; for (size_t i = 0; i < n; i++) { float d = q[i] - (float)c[i]; s += w[i] * d * d; } return s;
}
static float scalar_sq8_dot(const float *q, const uint8_t *c, size_t n) {
    float s = 0; for (size_t i = 0; i < n; i++) s += q[i] * (float)c[i]; return s;
}

/* ---------- dispatch, decided once before main() ---------- */
static int use_avx2 = 0;
__attribute__((constructor)) static void vs_pick_kernels(void) {
#if VS_HAVE_X86
    __builtin_cpu_init();
    use_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
#endif
}
int vs_kernels_have_avx2(void) { return use_avx2; }

vs_distance_fn vs_kernel(int type, int dot, int queryIsStored) {
#if VS_HAVE_X86
    if (use_avx2) switch (type) {
        case VS_FLOAT32: return dot ? avx2_dot_f32 : avx2_l2_f32;
        case VS_FLOAT64: return dot ? avx2_dot_f64 : avx2_l2_f64;
        case VS_FLOAT16: return queryIsStored ? (dot ? avx2_dot_f16_f16 : avx2_l2_f16_f16) : (dot ? avx2_dot_f32_f16 : avx2_l2_f32_f16);
        case VS_BFLOAT16: return queryIsStored ? (dot ? avx2_dot_bf16_bf16 : avx2_l2_bf16_bf16) : (dot ? avx2_dot_f32_bf16 : avx2_l2_f32_bf16);
    }
#endif
    switch (type) {
        case VS_FLOAT32: return dot ? scalar_dot_f32 : scalar_l2_f32;
        case VS_FLOAT64: return dot ? scalar_dot_f64 : scalar_l2_f64;
        case VS_FLOAT16: return queryIsStored ? (dot ? scalar_dot_f16_f16 : scalar_l2_f16_f16) : (dot ? scalar_dot_f32_f16 : scalar_l2_f32_f16);
        case VS_BFLOAT16: return queryIsStored ? (dot ? scalar_dot_bf16_bf16 : scalar_l2_bf16_bf16) : (dot ? scalar_dot_f32_bf16 : scalar_l2_f32_bf16);
    }
    return 0;
}

float vs_sq8_l2(const float *q, const float *w, const uint8_t *c, size_t n) {
#if VS_HAVE_X86
    if (use_avx2) return avx2_sq8_l2(q, w, c, n);
#endif
    return scalar_sq8_l2(q, w, c, n);
}
float vs_sq8_dot(const float *q, const uint8_t *c, size_t n) {
#if VS_HAVE_X86
    if (use_avx2) return avx2_sq8_dot(q, c, n);
#endif
    return scalar_sq8_dot(q, c, n);
}

void vs_f16_to_f32(const uint16_t *src, float *dst, size_t n) { for (size_t i = 0; i < n; i++) dst[i] = half_to_float(src[i]); }
void vs_bf16_to_f32(const uint16_t *src, float *dst, size_t n) { for (size_t i = 0; i < n; i++) dst[i] = bf16_to_float(src[i]); }
