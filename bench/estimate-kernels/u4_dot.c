// bench/estimate-kernels/u4_dot.c: ns per 4-bit (int8 x nibble, AVX-512 VNNI) estimate of a 384-d code, 16 random codes of a 50k set per batch.
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#define N 50000
#define CB 204
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
static int32_t dot(const int8_t *q, const uint8_t *c, size_t blocks) {
    const __m256i mask = _mm256_set1_epi8(15); __m512i acc = _mm512_setzero_si512();
    for (size_t b = 0; b < blocks; b++, q += 64, c += 32) {
        __m256i packed = _mm256_loadu_si256((const __m256i *)c);
        __m256i lo = _mm256_and_si256(packed, mask), hi = _mm256_and_si256(_mm256_srli_epi16(packed, 4), mask);
        acc = _mm512_dpbusd_epi32(acc, _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1), _mm512_loadu_si512(q));
    }
    return _mm512_reduce_add_epi32(acc);
}
int main(){ uint8_t *codes=malloc((size_t)N*CB); for(size_t i=0;i<(size_t)N*CB;i++)codes[i]=rand(); int8_t q[384]; for(int i=0;i<384;i++)q[i]=rand();
 const uint8_t *ptr[16]; double best=1e9; long sink=0;
 for(int round=0;round<5;round++){ srand(7); double t0=now(); for(int it=0;it<50000;it++){ for(int i=0;i<16;i++){ptr[i]=codes+(size_t)(rand()%N)*CB; for(int l=0;l<CB;l+=64)__builtin_prefetch(ptr[i]+l); __builtin_prefetch(ptr[i]+CB-1);} for(int i=0;i<16;i++){ float tail[3]; memcpy(tail,ptr[i]+192,12); sink+=dot(q,ptr[i],6)*(long)tail[0];} } double t=now()-t0; if(t<best)best=t;}
 printf("4-bit vnni: %.1f ns/vector (incl. rand + code misses)\n", best/50000/16*1e9); return sink==42; }
