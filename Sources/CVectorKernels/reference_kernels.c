/* Reference kernels for vector-bench --kernels: what "plain C -O3 -mavx2 -mfma" gives, called without dispatch. */
#include "vector_kernels.h"
#if defined(__x86_64__)
#include <immintrin.h>
#define REF_TARGET __attribute__((target("avx2,fma")))
#else
#define REF_TARGET
#endif

REF_TARGET float vs_reference_l2_f32_plain(const float *a, const float *b, size_t n) {
    float s = 0;
    for (size_t i = 0; i < n; i++) { float d = a[i] - b[i]; s += d * d; }
    return s;
}

#if defined(__x86_64__)
REF_TARGET static inline float ref_hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_hadd_ps(s, s); s = _mm_hadd_ps(s, s);
    return _mm_cvtss_f32(s);
}
REF_TARGET float vs_reference_l2_f32_intrinsics(const float *a, const float *b, size_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = s0; size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
        __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8));
        s0 = _mm256_fmadd_ps(d0, d0, s0); s1 = _mm256_fmadd_ps(d1, d1, s1);
    }
    float s = ref_hsum(_mm256_add_ps(s0, s1));
    for (; i < n; i++) { float d = a[i] - b[i]; s += d * d; }
    return s;
}
REF_TARGET float vs_reference_dot_f32_intrinsics(const float *a, const float *b, size_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = s0; size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
    }
    float s = ref_hsum(_mm256_add_ps(s0, s1));
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}
#else
float vs_reference_l2_f32_intrinsics(const float *a, const float *b, size_t n) { return vs_reference_l2_f32_plain(a, b, n); }
float vs_reference_dot_f32_intrinsics(const float *a, const float *b, size_t n) {
    float s = 0; for (size_t i = 0; i < n; i++) s += a[i] * b[i]; return s;
}
#endif

/* which: 0 plain loop, 1 intrinsics reference, 2 the dispatched VectorIndex L2 kernel (through its pointer). */
double vs_reference_loop(int which, const float *queries, const float *base, size_t n, size_t dim, size_t iterations) {
    vs_distance_fn dispatched = vs_kernel(VS_FLOAT32, 0, 0);
    double sum = 0;
    for (size_t it = 0; it < iterations; it++) {
        const float *q = queries + (it / n % 16) * dim, *x = base + (it % n) * dim;
        float d = which == 0 ? vs_reference_l2_f32_plain(q, x, dim)
                : which == 1 ? vs_reference_l2_f32_intrinsics(q, x, dim) : dispatched(q, x, dim);
        sum += d;
    }
    return sum;
}
