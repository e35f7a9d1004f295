// build/bench/ladder_gemm: a reading ladder for GEMM, C = A B with A [M, K],
// B [K, N] and C [M, N] row-major f32. Five versions, each a small function
// below that changes one thing from the one before, from the textbook triple
// loop to the library's packed GEMM (tensor/cpu/gemm.cpp):
//
//   1. naive     i-j-k: a dot product per element; walks B down a column
//   2. ikj       i-k-j: the inner loop runs along rows of B and C, so it vectorises
//   3. blocked   ikj on blocks of B that stay in cache, a C row segment in L1
//   4. packed    blocks copied into contiguous panels; an MR x NR register tile
//   5. library   cpu::gemm: the same scheme with an explicit SIMD micro-kernel
//
// Every version is first checked against the reference (tensor/ref/gemm.h,
// accumulated in double) on the same inputs, then timed. Each line prints
// GFLOP/s (2 M N K flops a call), its share of this machine's measured f32 FMA
// peak, and the speed-up over the line above. Read the functions in order.
//   build/bench/ladder_gemm --sizes 1024 --threads 2 --jsonl out.jsonl
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <vector>

#include "bench/common/bench.h"
#include "bench/common/cli.h"
#include "tensor/cpu/gemm.h"
#include "tensor/ops.h"
#include "tensor/parallel.h"
#include "tensor/ref/gemm.h"

using namespace gradlab;
using namespace gradlab::bench;

namespace {

// One problem: the operands and sizes every step receives.
struct Gemm {
  int64_t M, N, K;
  const float* A;  // [M, K]
  const float* B;  // [K, N]
  float* C;        // [M, N], overwritten
  int threads;
};

// ---- 1. naive: i-j-k ----
// The definition, C[i, j] = sum_k A[i, k] B[k, j], one element at a time.
// Slow for two reasons. The inner loop reads B with a stride of N floats, one
// cache line per multiply-add (and, once N is large, a new page every few
// steps). And it is one chain of dependent additions into `sum`: the compiler
// may not reorder float additions, so it cannot use SIMD lanes, and each add
// waits for the previous one (the FMA latency, ~4 cycles, per 2 flops).
void gemm_naive(const Gemm& g) {
#pragma omp parallel for num_threads(g.threads) schedule(static)
  for (int64_t i = 0; i < g.M; ++i)
    for (int64_t j = 0; j < g.N; ++j) {
      float sum = 0;
      for (int64_t k = 0; k < g.K; ++k) sum += g.A[i * g.K + k] * g.B[k * g.N + j];
      g.C[i * g.N + j] = sum;
    }
}

// ---- 2. ikj: swap the two inner loops ----
// Same arithmetic, other order: for each A[i, k], add A[i, k] * (row k of B)
// into row i of C. The inner loop now walks B and C contiguously, and its
// iterations are independent (each j has its own C[i, j]), so the compiler
// turns it into SIMD FMAs, 8 or 16 floats each. What limits it now is memory:
// row i of C is loaded and stored once per k, and all of B streams through the
// cache once per row of C; when B no longer fits in L2, that is DRAM traffic.
void gemm_ikj(const Gemm& g) {
#pragma omp parallel for num_threads(g.threads) schedule(static)
  for (int64_t i = 0; i < g.M; ++i) {
    float* __restrict c = g.C + i * g.N;
    std::fill(c, c + g.N, 0.0f);
    for (int64_t k = 0; k < g.K; ++k) {
      const float a = g.A[i * g.K + k];
      const float* __restrict b = g.B + k * g.N;
      for (int64_t j = 0; j < g.N; ++j) c[j] += a * b[j];
    }
  }
}

// ---- 3. blocked: ikj over cache-sized blocks ----
// The loops of step 2, cut into blocks: kBlockK rows of B by kBlockN columns
// (256 x 512 floats = 512 KiB, which stays in L2 while each of a block of
// kBlockM rows of C passes over it), and the C row segment being updated
// (kBlockN floats = 2 KiB) stays in L1 across the whole k loop. Each B value
// fetched from L3 or memory is now used kBlockM times before it is evicted,
// instead of once. The inner loop is step 2's, still vectorised. (While all
// of B fits in L3, as at n = 1024, the gain is modest: step 2's B traffic came
// from L3, not DRAM. Blocking is mostly what makes step 4 possible.)
constexpr int64_t kBlockM = 32, kBlockK = 256, kBlockN = 512;

void gemm_blocked(const Gemm& g) {
  const int64_t row_blocks = (g.M + kBlockM - 1) / kBlockM;
#pragma omp parallel for num_threads(g.threads) schedule(static)
  for (int64_t rb = 0; rb < row_blocks; ++rb) {
    const int64_t i0 = rb * kBlockM, i1 = std::min(g.M, i0 + kBlockM);
    for (int64_t i = i0; i < i1; ++i) std::fill(g.C + i * g.N, g.C + (i + 1) * g.N, 0.0f);
    for (int64_t j0 = 0; j0 < g.N; j0 += kBlockN) {
      const int64_t j1 = std::min(g.N, j0 + kBlockN);
      for (int64_t k0 = 0; k0 < g.K; k0 += kBlockK) {
        const int64_t k1 = std::min(g.K, k0 + kBlockK);
        for (int64_t i = i0; i < i1; ++i) {
          float* __restrict c = g.C + i * g.N;
          for (int64_t k = k0; k < k1; ++k) {
            const float a = g.A[i * g.K + k];
            const float* __restrict b = g.B + k * g.N;
            for (int64_t j = j0; j < j1; ++j) c[j] += a * b[j];
          }
        }
      }
    }
  }
}

// ---- 4. packed: contiguous panels and a register tile ----
// Step 3 still loads and stores c[j] for every multiply-add: two memory
// operations per FMA, so the loads, not the FMA units, set the pace. The fix
// is to compute a small tile of C, kMR rows by kNR columns, entirely in
// registers: for each k, kMR values of A and kNR values of B make kMR * kNR
// multiply-adds, and C is touched once per tile at the end. To feed the tile
// with unit-stride loads, the blocks are first copied ("packed"): the B block
// into kNR-wide panels laid out k-major (panel p, row k: kNR floats in a row),
// the A block into kMR-tall panels, also k-major. Packing costs one pass over
// each block and pays for itself many times over; it also pads the edges with
// zeros, so the tile code has no edge cases (only the write-back does).
// The tile below is plain loops with fixed trip counts; GCC unrolls them and
// keeps c[][] in 12 vector registers (kNR = 16 floats: two 256-bit registers a
// row, the width GCC prefers on this CPU even where 512-bit ones exist). This
// is fragile: on this machine, 8 x 16 or 4 x 32 tiles are not kept in
// registers and run 7 to 40 times slower. That is one reason the library
// writes its micro-kernel with explicit vector types.
constexpr int64_t kMR = 6, kNR = 16;
constexpr int64_t kPackK = 256, kPackM = 64, kPackN = 1024;

// Bp[p][k][j] = B[k0 + k, j0 + p kNR + j], zero past the edges.
void pack_b(const Gemm& g, int64_t k0, int64_t kc, int64_t j0, int64_t nc, float* Bp) {
  for (int64_t p = 0; p * kNR < nc; ++p)
    for (int64_t k = 0; k < kc; ++k)
      for (int64_t j = 0; j < kNR; ++j) {
        const int64_t col = p * kNR + j;
        Bp[(p * kc + k) * kNR + j] = col < nc ? g.B[(k0 + k) * g.N + j0 + col] : 0.0f;
      }
}

// Ap[p][k][i] = A[i0 + p kMR + i, k0 + k], zero past the edges.
void pack_a(const Gemm& g, int64_t i0, int64_t mc, int64_t k0, int64_t kc, float* Ap) {
  for (int64_t p = 0; p * kMR < mc; ++p)
    for (int64_t k = 0; k < kc; ++k)
      for (int64_t i = 0; i < kMR; ++i) {
        const int64_t row = p * kMR + i;
        Ap[(p * kc + k) * kMR + i] = row < mc ? g.A[(i0 + row) * g.K + k0 + k] : 0.0f;
      }
}

// C[0:mr, 0:nr] (+)= Ap (kMR x kc) Bp (kc x kNR), the kMR x kNR tile in registers.
void tile(int64_t kc, const float* __restrict Ap, const float* __restrict Bp, float* C, int64_t ldc, int64_t mr,
          int64_t nr, bool add) {
  float c[kMR][kNR] = {};
  for (int64_t k = 0; k < kc; ++k) {
#pragma GCC unroll 6
    for (int64_t i = 0; i < kMR; ++i) {
      const float a = Ap[k * kMR + i];
#pragma GCC unroll 16
      for (int64_t j = 0; j < kNR; ++j) c[i][j] += a * Bp[k * kNR + j];
    }
  }
  for (int64_t i = 0; i < mr; ++i)
    for (int64_t j = 0; j < nr; ++j) C[i * ldc + j] = add ? C[i * ldc + j] + c[i][j] : c[i][j];
}

void gemm_packed(const Gemm& g) {
  // Each thread packs its own blocks (the library shares the packed B instead).
#pragma omp parallel num_threads(g.threads)
  {
    std::vector<float> Bp(size_t(kPackK * ((kPackN + kNR - 1) / kNR * kNR)));
    std::vector<float> Ap(size_t(kPackK * ((kPackM + kMR - 1) / kMR * kMR)));
    const int64_t row_blocks = (g.M + kPackM - 1) / kPackM;
#pragma omp for schedule(static)
    for (int64_t rb = 0; rb < row_blocks; ++rb) {
      const int64_t i0 = rb * kPackM, mc = std::min(kPackM, g.M - i0);
      for (int64_t j0 = 0; j0 < g.N; j0 += kPackN) {
        const int64_t nc = std::min(kPackN, g.N - j0);
        for (int64_t k0 = 0; k0 < g.K; k0 += kPackK) {
          const int64_t kc = std::min(kPackK, g.K - k0);
          pack_b(g, k0, kc, j0, nc, Bp.data());
          pack_a(g, i0, mc, k0, kc, Ap.data());
          for (int64_t jr = 0; jr < nc; jr += kNR)
            for (int64_t ir = 0; ir < mc; ir += kMR)
              tile(kc, Ap.data() + ir * kc, Bp.data() + jr * kc, g.C + (i0 + ir) * g.N + j0 + jr, g.N,
                   std::min(kMR, mc - ir), std::min(kNR, nc - jr), k0 > 0);
        }
      }
    }
  }
}

// ---- 5. library: cpu::gemm (tensor/cpu/gemm.cpp) ----
// Step 4's scheme, finished. The micro-kernel is written with explicit vector
// types (GCC vector extensions), so the tile is exactly the registers, at the
// full vector width: 6 x 64 floats on AVX-512, 24 of the 32 registers, one
// broadcast of A and four loads of B per 24 FMAs (6 x 16 with AVX2), with a
// narrower tile for thin products. Row-major A is read in place
// instead of packed. The packed B panel is shared by all threads (packed once,
// in parallel, then a barrier), and threads split C by whole tiles along its
// longer side. Blocks are sized to the caches: an A micro-panel in L1, an A
// block in L2, a B panel in L3. It also reads transposed operands in place.
void gemm_library(const Gemm& g) {
  set_num_threads(g.threads);
  cpu::gemm<float>(g.M, g.N, g.K, {g.A, g.K, 1}, {g.B, g.N, 1}, g.C, g.N, false);
}

struct Step {
  const char* name;
  const char* change;  // what changed from the step above
  std::function<void(const Gemm&)> run;
};

const std::vector<Step> kSteps = {
    {"naive", "i-j-k, dot product per element", gemm_naive},
    {"ikj", "loop order i-k-j: vectorised inner loop", gemm_ikj},
    {"blocked", "cache blocks of B; C segment in L1", gemm_blocked},
    {"packed", "packed panels, 6x16 register tile", gemm_packed},
    {"library", "cpu::gemm: SIMD micro-kernel, shared B", gemm_library},
};

struct Args {
  std::string sizes = "256,1024";
  std::string steps = "naive,ikj,blocked,packed,library";
  int64_t threads = 1;
  int64_t seed = 0;
  int64_t samples = 3;
  std::string jsonl;
  bool smoke = false;
};

}  // namespace

int main(int argc, char** argv) {
  Cli cli("ladder_gemm",
          "A reading ladder for GEMM: naive, loop order, cache blocking, packing, the library's kernel; each checked "
          "against tensor/ref/gemm.h, then timed (GFLOP/s, % of the measured FMA peak).");
  Args args;
  cli.bind(args.sizes, "--sizes", "square sizes n (n x n @ n x n), or MxKxN");
  cli.bind(args.steps, "--steps", "the steps to run, in order");
  cli.bind(args.threads, "--threads", "OpenMP threads", kThreadBounds);
  cli.bind(args.seed, "--seed", "seed for the random operands", {0, INT64_MAX});
  cli.bind(args.samples, "--samples", "timed samples per step", {1, 1000});
  cli.bind(args.jsonl, "--jsonl", "append one JSON object per measurement to this file");
  cli.bind_flag(args.smoke, "--smoke", "a tiny run (odd sizes, one sample) to check that the binary works");
  cli.parse(argc, argv);
  try {
    args.sizes = cli.budget_default<std::string>(args.smoke, "--sizes", args.sizes, "67x45x99");
    args.samples = cli.budget_default<int64_t>(args.smoke, "--samples", args.samples, 1);
    std::vector<const Step*> steps;
    for (const std::string& name : split_list(args.steps)) {
      auto it = std::find_if(kSteps.begin(), kSteps.end(), [&](const Step& s) { return name == s.name; });
      GL_CHECK(it != kSteps.end(), "--steps: unknown step '{}' (naive, ikj, blocked, packed, library)", name);
      steps.push_back(&*it);
    }
    struct Size {
      int64_t M, K, N;
    };
    std::vector<Size> shapes;
    for (const std::string& s : split_list(args.sizes)) {
      const std::vector<int64_t> d = parse_int_list(join(split_list(s, 'x')), "--sizes");
      GL_CHECK(d.size() == 1 || d.size() == 3, "--sizes: '{}' is neither n nor MxKxN", s);
      for (int64_t v : d) GL_CHECK(v > 0 && v <= 16384, "--sizes: '{}' needs sizes from 1 to 16384", s);
      shapes.push_back(d.size() == 1 ? Size{d[0], d[0], d[0]} : Size{d[0], d[1], d[2]});
    }
    Jsonl out(args.jsonl);
    set_num_threads(int(args.threads));
    // The FMA peak is measured before and after the steps and the better
    // figure kept: on a busy shared machine a measurement can only come out low.
    double peak = args.smoke ? 0 : measured_fma_peak_gflops(int(args.threads));

    struct Line {  // one measured step, printed once the peak is final
      const Step* step;
      double seconds, gflops, err;
    };
    struct Group {
      std::string title, size;
      std::vector<Line> lines;
    };
    std::vector<Group> groups;
    for (const Size& sz : shapes) {
      const auto [M, K, N] = sz;
      Generator gen{uint64_t(args.seed)};
      const Tensor a = randn({M, K}, gen), b = randn({K, N}, gen);
      Tensor c = Tensor::empty({M, N});
      const Gemm g{M, N, K, a.data<float>(), b.data<float>(), c.data<float>(), int(args.threads)};
      // The reference on a sample of rows (every row when there are few):
      // each is a 1 x N product accumulated in double.
      std::vector<int64_t> rows;
      const int64_t every = std::max<int64_t>(1, M / 64);
      for (int64_t i = 0; i < M; i += every) rows.push_back(i);
      if (rows.back() != M - 1) rows.push_back(M - 1);
      std::vector<float> want(rows.size() * size_t(N));
      for (size_t r = 0; r < rows.size(); ++r)
        ref::gemm<float>(false, false, 1, N, K, 1.0f, g.A + rows[r] * K, K, g.B, N, 0.0f, want.data() + r * size_t(N),
                         N);
      // Entries are sums of K products of unit normals (size ~sqrt(K)); a
      // correct f32 kernel is within ~1e-6 K of the exact value, a wrong one is off by O(1).
      const double tol = 1e-5 * double(K);
      const double flops = 2.0 * double(M) * double(N) * double(K);
      Group group{fmt::format("{}x{}x{} (M x K x N), checked on {} rows against ref::gemm (tolerance {:.2g})", M, K, N,
                              rows.size(), tol),
                  fmt::format("{}x{}x{}", M, K, N),
                  {}};
      for (const Step* s : steps) {
        std::fill(g.C, g.C + M * N, NAN);
        const Timing first = time_it([&] { s->run(g); }, 1, 0.0, 0);
        double err = 0;
        for (size_t r = 0; r < rows.size(); ++r)
          for (int64_t j = 0; j < N; ++j) {
            const double e = std::abs(double(g.C[rows[r] * N + j]) - double(want[r * size_t(N) + j]));
            err = std::max(err, std::isnan(e) ? INFINITY : e);
          }
        GL_CHECK(err <= tol, "ladder_gemm: step '{}' disagrees with ref::gemm at {}x{}x{}: max error {} > {}", s->name,
                 M, K, N, err, tol);
        // A step whose checked call took over a second (naive, at n = 1024)
        // is timed once more, without warm-up: the checked call warmed it.
        const bool slow = first.median > 1.0;
        const Timing t = time_it([&] { s->run(g); }, slow ? 1 : int(args.samples), args.smoke || slow ? 0.0 : 0.05,
                                 args.smoke || slow ? 0 : 1);
        group.lines.push_back({s, t.median, flops / t.median / 1e9, err});
      }
      groups.push_back(std::move(group));
    }
    if (!args.smoke) peak = std::max(peak, measured_fma_peak_gflops(int(args.threads)));

    std::printf("ladder_gemm: f32, %lld thread(s), library micro-kernel %s, %s\n", (long long)args.threads,
                cpu::gemm_isa(),
                peak > 0 ? fmt::format("measured FMA peak {:.1f} GFLOP/s", peak).c_str() : "FMA peak not measured");
    for (const Group& group : groups) {
      std::printf("\n%s\n", group.title.c_str());
      Table table({"step", "what changed", "ms", "GFLOP/s", "% peak", "x prev", "max err"});
      double prev = 0;
      for (const Line& l : group.lines) {
        table.row({l.step->name, l.step->change, fmt::format("{:.2f}", l.seconds * 1e3), fmt::format("{:.1f}", l.gflops),
                   peak > 0 ? fmt::format("{:.1f}%", 100 * l.gflops / peak) : "-",
                   prev > 0 ? fmt::format("{:.1f}x", l.gflops / prev) : "", fmt::format("{:.1e}", l.err)});
        prev = l.gflops;
        Jsonl::Record rec{.bench = "ladder_gemm",
                          .case_name = fmt::format("{}/{}", l.step->name, group.size),
                          .metric = "gflops",
                          .value = l.gflops,
                          .unit = "GFLOP/s",
                          .threads = int(args.threads)};
        rec.extra["step"] = l.step->name;
        rec.numbers["max_abs_error"] = l.err;
        rec.numbers["median_seconds"] = l.seconds;
        if (peak > 0) {
          rec.numbers["percent_of_peak"] = 100 * l.gflops / peak;
          rec.numbers["fma_peak_gflops"] = peak;
        }
        out.write(rec);
      }
      std::fputs(table.str().c_str(), stdout);
    }
  } catch (const std::exception& e) {  // gradlab::Error, and the library's (filesystem, bad_alloc)
    std::fprintf(stderr, "ladder_gemm: %s\n", e.what());
    return 1;
  }
  return 0;
}
