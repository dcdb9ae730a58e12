// bench/estimate-kernels/pq_lookup.c: micro-benchmark of PQ ADC lookup variants: 192 subspaces x 256 centroids, batches of random vectors
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#define M 192
#define K 256
#ifndef N
#define N 50000
#endif
#ifndef B
#define B 16
#endif
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
static float tf[M*K]; static uint8_t t8[M*K]; static uint16_t t16[M*K];
static uint8_t *codes;
// (a) float, subspace-major over batch, 4 at a time (like Swift)
static void fa(const uint8_t **c, int n, float *out){ for(int i=0;i<n;i++)out[i]=0;
 for(int s=0;s<M;s+=4){const float*r0=tf+s*K,*r1=r0+K,*r2=r1+K,*r3=r2+K; for(int i=0;i<n;i++){const uint8_t*p=c[i]+s; out[i]+=(r0[p[0]]+r1[p[1]])+(r2[p[2]]+r3[p[3]]);}}}
// (b) float, vector-major, 8 codes per 64-bit load
static void fb(const uint8_t **c, int n, float *out){ for(int i=0;i<n;i++){const uint8_t*p=c[i]; float a0=0,a1=0,a2=0,a3=0; for(int s=0;s<M;s+=8){uint64_t w; memcpy(&w,p+s,8); const float*r=tf+s*K;
 a0+=r[w&255]+r[K+((w>>8)&255)]; a1+=r[2*K+((w>>16)&255)]+r[3*K+((w>>24)&255)]; a2+=r[4*K+((w>>32)&255)]+r[5*K+((w>>40)&255)]; a3+=r[6*K+((w>>48)&255)]+r[7*K+(w>>56)];} out[i]=(a0+a1)+(a2+a3);}}
// (c) u8 table, vector-major, int accumulate
static void fc(const uint8_t **c, int n, float *out){ for(int i=0;i<n;i++){const uint8_t*p=c[i]; uint32_t a0=0,a1=0; for(int s=0;s<M;s+=8){uint64_t w; memcpy(&w,p+s,8); const uint8_t*r=t8+s*K;
 a0+=r[w&255]+r[K+((w>>8)&255)]+r[2*K+((w>>16)&255)]+r[3*K+((w>>24)&255)]; a1+=r[4*K+((w>>32)&255)]+r[5*K+((w>>40)&255)]+r[6*K+((w>>48)&255)]+r[7*K+(w>>56)];} out[i]=(float)(a0+a1);}}
// (c2) u8 table subspace-major
static void fc2(const uint8_t **c, int n, float *out){ uint32_t acc[64]={0};
 for(int s=0;s<M;s+=4){const uint8_t*r0=t8+s*K,*r1=r0+K,*r2=r1+K,*r3=r2+K; for(int i=0;i<n;i++){const uint8_t*p=c[i]+s; acc[i]+=(r0[p[0]]+r1[p[1]])+(r2[p[2]]+r3[p[3]]);}} for(int i=0;i<n;i++)out[i]=acc[i];}
// (d) u16 table vector-major
static void fd(const uint8_t **c, int n, float *out){ for(int i=0;i<n;i++){const uint8_t*p=c[i]; uint32_t a0=0,a1=0; for(int s=0;s<M;s+=8){uint64_t w; memcpy(&w,p+s,8); const uint16_t*r=t16+s*K;
 a0+=r[w&255]+r[K+((w>>8)&255)]+r[2*K+((w>>16)&255)]+r[3*K+((w>>24)&255)]; a1+=r[4*K+((w>>32)&255)]+r[5*K+((w>>40)&255)]+r[6*K+((w>>48)&255)]+r[7*K+(w>>56)];} out[i]=(float)(a0+a1);}}
// (e) AVX-512 VBMI: transpose batch to subspace-major (scalar), then vpermi2b lookups of 64 lanes
static void fe(const uint8_t **c, int n, float *out){ static uint8_t tr[M][64] __attribute__((aligned(64)));
 for(int i=0;i<n;i++){const uint8_t*p=c[i]; for(int s=0;s<M;s++) tr[s][i]=p[s];}
 __m512i lo=_mm512_setzero_si512(), hi=_mm512_setzero_si512();
 for(int s=0;s<M;s++){ const uint8_t*r=t8+s*K; __m512i T0=_mm512_loadu_si512(r),T1=_mm512_loadu_si512(r+64),T2=_mm512_loadu_si512(r+128),T3=_mm512_loadu_si512(r+192);
  __m512i idx=_mm512_load_si512(tr[s]); __m512i a=_mm512_permutex2var_epi8(T0,idx,T1), b=_mm512_permutex2var_epi8(T2,idx,T3);
  __mmask64 m=_mm512_movepi8_mask(idx); __m512i v=_mm512_mask_blend_epi8(m,a,b);
  lo=_mm512_add_epi16(lo,_mm512_unpacklo_epi8(v,_mm512_setzero_si512())); hi=_mm512_add_epi16(hi,_mm512_unpackhi_epi8(v,_mm512_setzero_si512()));}
 uint16_t L[32],H[32]; _mm512_storeu_si512(L,lo); _mm512_storeu_si512(H,hi);
 // unpack order: within each 128-bit lane, lo has bytes 0-7, hi 8-15
 for(int i=0;i<n;i++){int lane=i/16, j=i%16; out[i]= j<8? L[lane*8+j]:H[lane*8+j-8];}}
// (f) u16 table subspace-major
static void ff(const uint8_t **c, int n, float *out){ uint32_t acc[64]={0};
 for(int s=0;s<M;s+=4){const uint16_t*r0=t16+s*K,*r1=r0+K,*r2=r1+K,*r3=r2+K; for(int i=0;i<n;i++){const uint8_t*p=c[i]+s; acc[i]+=(r0[p[0]]+r1[p[1]])+(r2[p[2]]+r3[p[3]]);}} for(int i=0;i<n;i++)out[i]=acc[i];}
// (g) u8 subspace-major, 8 subspaces per step with one 64-bit code load
static void fg(const uint8_t **c, int n, float *out){ uint32_t acc[64]={0};
 for(int s=0;s<M;s+=8){const uint8_t*r=t8+s*K; for(int i=0;i<n;i++){uint64_t w; memcpy(&w,c[i]+s,8);
 acc[i]+=((r[w&255]+r[K+((w>>8)&255)])+(r[2*K+((w>>16)&255)]+r[3*K+((w>>24)&255)]))+((r[4*K+((w>>32)&255)]+r[5*K+((w>>40)&255)])+(r[6*K+((w>>48)&255)]+r[7*K+(w>>56)]));}} for(int i=0;i<n;i++)out[i]=acc[i];}
typedef void (*fn)(const uint8_t**,int,float*);
int main(){ codes=malloc((size_t)N*M); srand(1); for(size_t i=0;i<(size_t)N*M;i++)codes[i]=rand();
 for(int i=0;i<M*K;i++){tf[i]=rand()/(float)RAND_MAX; t8[i]=(uint8_t)(tf[i]*255); t16[i]=(uint16_t)(tf[i]*65535/200);} 
 fn fs[]={fa,fb,fc,fc2,fd,fe,ff,fg}; const char*names[]={"float subspace-major","float vector-major","u8 vector-major","u8 subspace-major","u16 vector-major","avx512 vpermi2b","u16 subspace-major","u8 ss-major 8/step"};
 const uint8_t *ptr[64]; float out[64]; int iters=50000; double sink=0;
 double best[8]={1e9,1e9,1e9,1e9,1e9,1e9,1e9,1e9}; for(int round=0;round<5;round++) for(int v=0;v<8;v++){ srand(7); double t0=now(); for(int it=0;it<iters;it++){ for(int i=0;i<B;i++){ptr[i]=codes+(size_t)(rand()%N)*M; if(PF>=1)__builtin_prefetch(ptr[i]); if(PF>=2){__builtin_prefetch(ptr[i]+64);__builtin_prefetch(ptr[i]+128);}} fs[v](ptr,B,out); sink+=out[0];} double t=now()-t0; if(t<best[v])best[v]=t;} for(int v=0;v<8;v++) printf("%-24s %.1f ns/vector\n",names[v],best[v]/iters/B*1e9); 
 // check e vs c2
 for(int i=0;i<B;i++)ptr[i]=codes+(size_t)i*M; float o1[64],o2[64]; fc2(ptr,B,o1); fe(ptr,B,o2); for(int i=0;i<B;i++) if(o1[i]!=o2[i]) printf("mismatch %d %f %f\n",i,o1[i],o2[i]);
 printf("%f\n",sink); }
