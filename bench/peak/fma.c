/*
 * The fp32 FMA peak of one core: 12 independent chains of fused multiply-adds (enough to cover the FMA latency on
 * both FMA pipes), no memory traffic. 256-bit vectors by default; built with -mavx512f, 512-bit ones (on AMD Zen 4
 * a 512-bit FMA takes a 256-bit pipe twice, so the peak per cycle is the same). Run one copy per core at once for
 * the machine's peak:
 *
 *   gcc -O2 -mavx2 -mfma bench/peak/fma.c -o /tmp/fma-peak && (/tmp/fma-peak & /tmp/fma-peak & wait)
 *   gcc -O2 -mavx512f bench/peak/fma.c -o /tmp/fma-peak-512 && (/tmp/fma-peak-512 & /tmp/fma-peak-512 & wait)
 *
 * Each copy prints its vector width and GFLOPS (one FMA = 2 flops per lane). BENCHMARKS.md compares ONNX Runtime's
 * kernels with the sum.
 */
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

#ifdef __AVX512F__
typedef __m512 vec;
#define LANES 16
#define SET1 _mm512_set1_ps
#define FMADD _mm512_fmadd_ps
#define STORE _mm512_storeu_ps
#else
typedef __m256 vec;
#define LANES 8
#define SET1 _mm256_set1_ps
#define FMADD _mm256_fmadd_ps
#define STORE _mm256_storeu_ps
#endif

int main(void) {
  vec acc[12];
  for (int i = 0; i < 12; i++) acc[i] = SET1(1.0f + (float)i * 1e-7f);
  const vec scale = SET1(0.9999999f);
  const vec shift = SET1(1e-7f);
  const long iterations = 400000000L / (LANES / 8);
  struct timespec start, end;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (long k = 0; k < iterations; k++) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; i++) acc[i] = FMADD(acc[i], scale, shift);
  }
  clock_gettime(CLOCK_MONOTONIC, &end);
  const double seconds = (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) * 1e-9;
  /* Print one lane of the sum so the compiler keeps the loop. */
  float sum = 0, lanes[LANES];
  for (int i = 0; i < 12; i++) {
    STORE(lanes, acc[i]);
    sum += lanes[0];
  }
  printf("%d-bit GFLOPS %.1f (checksum %f)\n", LANES * 32, (double)iterations * 12.0 * LANES * 2.0 / seconds / 1e9,
         sum);
  return 0;
}
