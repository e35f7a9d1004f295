// Threading for the CPU kernels. parallel_for splits [0, n) into one contiguous
// range per thread, but only when there is enough work (n above a grain), so
// the tiny tensors of RL and small transformers never pay for waking threads.
// The split depends only on n and the thread count, so results are
// reproducible for a given thread count.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstdint>

namespace gradlab {

// Threads the kernels may use (OpenMP's max threads; OMP_NUM_THREADS sets it).
inline int num_threads() { return omp_get_max_threads(); }
inline void set_num_threads(int n) { omp_set_num_threads(std::max(n, 1)); }

// Work sizes below which a kernel stays on the calling thread, in elements.
constexpr int64_t kGrainElementwise = 32768;
constexpr int64_t kGrainTranscendental = 8192;

// Whether idle OpenMP threads sleep at once (OMP_WAIT_POLICY=PASSIVE, the
// setting for a machine shared with other work) rather than spin for a
// while, OpenMP's default. Each parallel region then starts by waking a
// thread: 15-20 microseconds on the 2-core machine of
// bench/results/gemm_in_place/, against 2-3 when it spins. Read once.
bool idle_threads_sleep();

// The grain of an elementwise map (each output element from its own inputs,
// so where the work is split changes no bit), for cheap or transcendental
// elements: kGrainElementwise and kGrainTranscendental while idle threads
// spin; 262,144 and 65,536 when they sleep, so that each thread's share
// outweighs waking it (an add of 65,536 elements ran 5 times slower on two
// sleeping threads than on one).
int64_t map_grain(bool transcendental);

// Calls fn(begin, end) over a partition of [0, n): at most one range per thread
// and no range smaller than `grain` elements (the whole range inline if n <= grain).
template <class Fn>
void parallel_for(int64_t n, int64_t grain, Fn&& fn) {
  if (n <= 0) return;
  const int64_t max_chunks = grain > 0 ? (n + grain - 1) / grain : n;
  const int threads = int(std::min<int64_t>(num_threads(), max_chunks));
  if (threads <= 1 || omp_in_parallel()) {
    fn(int64_t(0), n);
    return;
  }
#pragma omp parallel num_threads(threads)
  {
    const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
    const int64_t begin = n * t / nt, end = n * (t + 1) / nt;
    if (begin < end) fn(begin, end);
  }
}

}  // namespace gradlab
