// Counts the OpenMP parallel regions and barriers a program opens: preload it
// (gcc -shared -fPIC -O2 gomp_count.c -o gomp_count.so -ldl;
// LD_PRELOAD=./gomp_count.so PROGRAM ...) and it prints both counts at exit.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>

static long regions, barriers;

void GOMP_parallel(void (*fn)(void*), void* data, unsigned threads, unsigned flags) {
  static void (*real)(void (*)(void*), void*, unsigned, unsigned);
  if (!real) real = (void (*)(void (*)(void*), void*, unsigned, unsigned))dlsym(RTLD_NEXT, "GOMP_parallel");
  __atomic_add_fetch(&regions, 1, __ATOMIC_RELAXED);
  real(fn, data, threads, flags);
}

void GOMP_barrier(void) {
  static void (*real)(void);
  if (!real) real = (void (*)(void))dlsym(RTLD_NEXT, "GOMP_barrier");
  __atomic_add_fetch(&barriers, 1, __ATOMIC_RELAXED);
  real();
}

__attribute__((destructor)) static void report(void) {
  fprintf(stderr, "GOMP_parallel %ld GOMP_barrier %ld\n", regions, barriers);
}
