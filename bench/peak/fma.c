/*
 * The fp32 FMA peak of one core: 12 independent chains of 256-bit fused multiply-adds (enough to cover the FMA
 * latency on both FMA pipes), no memory traffic. Run one copy per core at once for the machine's peak:
 *
 *   gcc -O2 -mavx2 -mfma bench/peak/fma.c -o /tmp/fma-peak && (/tmp/fma-peak & /tmp/fma-peak & wait)
 *
 * Each copy prints GFLOPS (one FMA = 2 flops per lane, 8 lanes). BENCHMARKS.md compares ONNX Runtime's kernels
 * with the sum.
 */
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

int main(void) {
  __m256 acc[12];
  for (int i = 0; i < 12; i++) acc[i] = _mm256_set1_ps(1.0f + (float)i * 1e-7f);
  const __m256 scale = _mm256_set1_ps(0.9999999f);
  const __m256 shift = _mm256_set1_ps(1e-7f);
  const long iterations = 400000000L;
  struct timespec start, end;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (long k = 0; k < iterations; k++) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; i++) acc[i] = _mm256_fmadd_ps(acc[i], scale, shift);
  }
  clock_gettime(CLOCK_MONOTONIC, &end);
  const double seconds = (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) * 1e-9;
  /* Print one lane of the sum so the compiler keeps the loop. */
  float sum = 0, lanes[8];
  for (int i = 0; i < 12; i++) {
    _mm256_storeu_ps(lanes, acc[i]);
    sum += lanes[0];
  }
  printf("GFLOPS %.1f (checksum %f)\n", (double)iterations * 12.0 * 16.0 / seconds / 1e9, sum);
  return 0;
}
