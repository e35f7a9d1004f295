// build/bench/ladder_layernorm: a reading ladder for layer norm over the last
// axis of x [rows, C] f32 (equations in tensor/ref/layer_norm.h), forward and
// backward, from the textbook passes to the library's kernel
// (tensor/cpu/layer_norm.cpp):
//
//   forward   1. naive    three passes over the whole tensor: means, variances, outputs
//             2. fused    one row at a time: one sweep for sum and sum of squares
//                         in vector lanes, one to normalise, while the row is in L1
//             3. library  cpu::layer_norm
//   backward  1. naive    xhat to a scratch tensor, row sums, dx, then dweight and
//                         dbias by columns
//             2. fused    one row at a time: one sweep for the two row sums, one
//                         for dx and the dweight/dbias partial sums
//             3. library  cpu::layer_norm_backward
//
// Every step is first checked against the reference (tensor/ref/layer_norm.h,
// in double) on the same inputs, then timed. Layer norm does a few flops per
// byte, so it is bound by memory: each line prints GB/s (the bytes a kernel
// must move: forward reads x and writes y, backward reads dy and x and writes
// dx) and its share of a plain copy's bandwidth measured in this binary, and
// also GFLOP/s from a nominal count (8 flops an element forward, 13 backward)
// with its share of the measured FMA peak, to show how far from compute-bound
// it is. Read the functions in order.
//   build/bench/ladder_layernorm --rows 8192 --channels 768 --threads 1
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <vector>

#include "bench/common/bench.h"
#include "bench/common/cli.h"
#include "tensor/cpu/kernels.h"
#include "tensor/ops.h"
#include "tensor/parallel.h"
#include "tensor/ref/layer_norm.h"

using namespace gradlab;
using namespace gradlab::bench;

namespace {

constexpr double kEps = 1e-5;

// One problem: inputs, outputs and scratch, all row-major [rows, C] or [rows] or [C].
struct LayerNorm {
  int64_t rows, C;
  const float *x, *w, *b, *dy;
  float *y, *mean, *rstd;       // forward outputs
  float *dx, *dw, *db;          // backward outputs (mean and rstd are the forward's)
  float* xhat;                  // scratch [rows, C] for the naive backward
  Tensor tx, tw, tb, tdy, ty, tmean, trstd, tdx, tdw, tdb;  // the same memory, for the library
  int threads;
};

// ======== forward ========

// ---- 1. naive: three passes over the whole tensor ----
// The equations as written: every mean, then every variance, then every
// output. Each pass reads all of x again; a 25 MB x does not stay in cache, so
// x comes from memory three times. Each sum is one chain of dependent double
// additions (the compiler may not reorder them), so no SIMD lanes are used and
// each add waits for the previous one.
void forward_naive(const LayerNorm& p) {
  const int64_t C = p.C;
#pragma omp parallel for num_threads(p.threads) schedule(static)
  for (int64_t r = 0; r < p.rows; ++r) {  // pass 1: means
    double sum = 0;
    for (int64_t i = 0; i < C; ++i) sum += p.x[r * C + i];
    p.mean[r] = float(sum / double(C));
  }
#pragma omp parallel for num_threads(p.threads) schedule(static)
  for (int64_t r = 0; r < p.rows; ++r) {  // pass 2: variances about those means (two-pass)
    double sum = 0;
    for (int64_t i = 0; i < C; ++i) {
      const double d = double(p.x[r * C + i]) - double(p.mean[r]);
      sum += d * d;
    }
    p.rstd[r] = float(1.0 / std::sqrt(sum / double(C) + kEps));
  }
#pragma omp parallel for num_threads(p.threads) schedule(static)
  for (int64_t r = 0; r < p.rows; ++r)  // pass 3: normalise, scale, shift
    for (int64_t i = 0; i < C; ++i)
      p.y[r * C + i] = (p.x[r * C + i] - p.mean[r]) * p.rstd[r] * p.w[i] + p.b[i];
}

// ---- 2. fused: one row at a time, statistics in one vectorised sweep ----
// Two changes. (a) Each row is finished before the next is started: the
// statistics sweep brings the row (3 KiB at C = 768) into L1 and the output
// sweep reads it from there, so x comes from memory once. (b) The sum and the
// sum of squares are taken together, in kLanes independent double
// accumulators that the compiler maps onto SIMD lanes. "With care": the
// one-pass variance E[x^2] - E[x]^2 cancels catastrophically when the mean is
// large against the spread, so the values are shifted by the row's first
// element first (var(x) = var(x - x_0)), which keeps both sums small. The
// output sweep folds mean and rstd into one multiply-add per element.
constexpr int kLanes = 8;

void forward_fused(const LayerNorm& p) {
  const int64_t C = p.C;
#pragma omp parallel for num_threads(p.threads) schedule(static)
  for (int64_t r = 0; r < p.rows; ++r) {
    const float* x = p.x + r * C;
    const double shift = x[0];
    double s1[kLanes] = {}, s2[kLanes] = {};
    int64_t i = 0;
    for (; i + kLanes <= C; i += kLanes)
      for (int l = 0; l < kLanes; ++l) {
        const double d = double(x[i + l]) - shift;
        s1[l] += d;
        s2[l] += d * d;
      }
    for (; i < C; ++i) {
      const double d = double(x[i]) - shift;
      s1[0] += d;
      s2[0] += d * d;
    }
    double sum = 0, sumsq = 0;
    for (int l = 0; l < kLanes; ++l) sum += s1[l], sumsq += s2[l];
    const double mean_shifted = sum / double(C);
    const double var = std::max(0.0, sumsq / double(C) - mean_shifted * mean_shifted);
    const double rstd = 1.0 / std::sqrt(var + kEps), mean = shift + mean_shifted;
    // y = (x - mean) rstd w + b = (x a + c) w + b with a = rstd, c = -mean rstd.
    const float a = float(rstd), c = float(-mean * rstd);
    float* y = p.y + r * C;
    for (int64_t j = 0; j < C; ++j) y[j] = (x[j] * a + c) * p.w[j] + p.b[j];
    p.mean[r] = float(mean);
    p.rstd[r] = float(rstd);
  }
}

// ---- 3. library: cpu::layer_norm (tensor/cpu/layer_norm.cpp) ----
// Step 2's structure (rows in parallel, each finished while it is in cache,
// sums in 8 double lanes), but with the two-pass variance: a second sweep
// over a row already in L1 costs little, and it needs no shift argument. The
// output is computed in double and rounded once. Also handles f64 and absent
// weight or bias.
void forward_library(const LayerNorm& p) {
  set_num_threads(p.threads);
  cpu::layer_norm(p.tx, p.tw, p.tb, kEps, p.ty, p.tmean, p.trstd);
}

// ======== backward ========
// With xhat = (x - mean) rstd and g = dy w:
//   dx = rstd (g - mean(g) - xhat mean(g xhat)),  dw = sum_rows dy xhat,  db = sum_rows dy.

// ---- 1. naive: one quantity per pass ----
// xhat is computed once for the whole tensor and stored (a full extra tensor
// written and read back), then the two row means, then dx, each a pass over
// memory. dweight and dbias are sums down columns: looping over rows for a
// fixed column reads one float per cache line and strides through 25 MB per
// column, the worst possible order.
void backward_naive(const LayerNorm& p) {
  const int64_t C = p.C;
#pragma omp parallel for num_threads(p.threads) schedule(static)
  for (int64_t r = 0; r < p.rows; ++r)  // pass 1: xhat
    for (int64_t i = 0; i < C; ++i) p.xhat[r * C + i] = (p.x[r * C + i] - p.mean[r]) * p.rstd[r];
#pragma omp parallel for num_threads(p.threads) schedule(static)
  for (int64_t r = 0; r < p.rows; ++r) {  // pass 2 and 3: row means, then dx
    double g_sum = 0, gx_sum = 0;
    for (int64_t i = 0; i < C; ++i) {
      const double g = double(p.dy[r * C + i]) * p.w[i];
      g_sum += g;
      gx_sum += g * p.xhat[r * C + i];
    }
    const double g_mean = g_sum / double(C), gx_mean = gx_sum / double(C);
    for (int64_t i = 0; i < C; ++i) {
      const double g = double(p.dy[r * C + i]) * p.w[i];
      p.dx[r * C + i] = float(p.rstd[r] * (g - g_mean - p.xhat[r * C + i] * gx_mean));
    }
  }
#pragma omp parallel for num_threads(p.threads) schedule(static)
  for (int64_t i = 0; i < C; ++i) {  // pass 4: dweight and dbias, down each column
    double sw = 0, sb = 0;
    for (int64_t r = 0; r < p.rows; ++r) {
      sw += double(p.dy[r * C + i]) * p.xhat[r * C + i];
      sb += p.dy[r * C + i];
    }
    p.dw[i] = float(sw);
    p.db[i] = float(sb);
  }
}

// ---- 2. fused: one row at a time, no scratch tensor ----
// xhat is recomputed where it is needed (two flops) instead of stored and
// reloaded (eight bytes of traffic). Each row takes one sweep for both row
// sums, in vector lanes, and one sweep for dx that also adds dy xhat and dy
// into dweight and dbias. Those two are sums over rows, which threads would
// race on: each thread adds into its own partial [C] arrays (in double), and
// the partials are added in thread order at the end, so the result does not
// depend on timing. Every access is now along a row.
void backward_fused(const LayerNorm& p) {
  const int64_t C = p.C;
  const int nt = p.threads;
  std::vector<double> partial(size_t(nt) * 2 * size_t(C), 0.0);  // [thread][dw | db]
#pragma omp parallel num_threads(nt)
  {
    const int t = omp_get_thread_num(), threads_here = omp_get_num_threads();
    double* pdw = partial.data() + size_t(t) * 2 * size_t(C);
    double* pdb = pdw + C;
    for (int64_t r = p.rows * t / threads_here; r < p.rows * (t + 1) / threads_here; ++r) {
      const float *x = p.x + r * C, *dy = p.dy + r * C;
      const double mean = p.mean[r], rstd = p.rstd[r];
      double s1[kLanes] = {}, s2[kLanes] = {};
      int64_t i = 0;
      for (; i + kLanes <= C; i += kLanes)
        for (int l = 0; l < kLanes; ++l) {
          const double g = double(dy[i + l]) * p.w[i + l];
          s1[l] += g;
          s2[l] += g * ((double(x[i + l]) - mean) * rstd);
        }
      for (; i < C; ++i) {
        const double g = double(dy[i]) * p.w[i];
        s1[0] += g;
        s2[0] += g * ((double(x[i]) - mean) * rstd);
      }
      double g_sum = 0, gx_sum = 0;
      for (int l = 0; l < kLanes; ++l) g_sum += s1[l], gx_sum += s2[l];
      const double g_mean = g_sum / double(C), gx_mean = gx_sum / double(C);
      float* dx = p.dx + r * C;
      for (int64_t j = 0; j < C; ++j) {
        const double xhat = (double(x[j]) - mean) * rstd, g = double(dy[j]) * p.w[j];
        dx[j] = float(rstd * (g - g_mean - xhat * gx_mean));
        pdw[j] += double(dy[j]) * xhat;
        pdb[j] += double(dy[j]);
      }
    }
  }
  for (int64_t j = 0; j < C; ++j) {
    double sw = 0, sb = 0;
    for (int t = 0; t < nt; ++t) {
      sw += partial[size_t(t) * 2 * size_t(C) + size_t(j)];
      sb += partial[size_t(t) * 2 * size_t(C) + size_t(C + j)];
    }
    p.dw[j] = float(sw);
    p.db[j] = float(sb);
  }
}

// ---- 3. library: cpu::layer_norm_backward (tensor/cpu/layer_norm.cpp) ----
// Step 2's scheme: rows split into at most one chunk per thread (none under a
// minimum size), per-chunk double partials for dweight and dbias added in
// chunk order, sums in 8 double lanes. It also handles f64 and an absent
// weight. It takes the two row sums in separate sweeps, three sweeps a row
// where step 2 takes two, and on this machine it measures about 10% slower
// than step 2 (bench/results/ladder/): a ladder also shows where the library
// itself could still gain.
void backward_library(const LayerNorm& p) {
  set_num_threads(p.threads);
  cpu::layer_norm_backward(p.tdy, p.tx, p.tw, p.tmean, p.trstd, p.tdx, p.tdw, p.tdb);
}

struct Step {
  const char* name;
  const char* change;
  std::function<void(const LayerNorm&)> run;
};

const std::vector<Step> kForward = {
    {"naive", "3 passes over the tensor, scalar sums", forward_naive},
    {"fused", "row in L1, sum+sumsq in SIMD lanes", forward_fused},
    {"library", "cpu::layer_norm (two-pass per row)", forward_library},
};
const std::vector<Step> kBackward = {
    {"naive", "xhat stored, dw/db down columns", backward_naive},
    {"fused", "row at a time, per-thread dw/db", backward_fused},
    {"library", "cpu::layer_norm_backward", backward_library},
};

// The largest |got - want| / (atol + rtol |want|) over n values: <= 1 passes.
double worst(const float* got, const float* want, int64_t n, double rtol, double atol) {
  double w = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double e = std::abs(double(got[i]) - double(want[i])) / (atol + rtol * std::abs(double(want[i])));
    w = std::max(w, std::isnan(e) ? INFINITY : e);
  }
  return w;
}

struct Args {
  int64_t rows = 8192;
  int64_t channels = 768;
  int64_t threads = 1;
  int64_t seed = 0;
  int64_t samples = 7;
  std::string jsonl;
  bool smoke = false;
};

}  // namespace

int main(int argc, char** argv) {
  Cli cli("ladder_layernorm",
          "A reading ladder for layer norm, forward and backward: naive passes, a fused row sweep, the library's "
          "kernel; each checked against tensor/ref/layer_norm.h, then timed (GB/s, % of copy bandwidth and of the "
          "FMA peak).");
  Args args;
  cli.bind(args.rows, "--rows", "rows (batch x tokens)", {1, int64_t(1) << 26});
  cli.bind(args.channels, "--channels", "C, the normalised axis", {1, int64_t(1) << 20});
  cli.bind(args.threads, "--threads", "OpenMP threads", kThreadBounds);
  cli.bind(args.seed, "--seed", "seed for the random inputs", {0, INT64_MAX});
  cli.bind(args.samples, "--samples", "timed samples per step", {1, 1000});
  cli.bind(args.jsonl, "--jsonl", "append one JSON object per measurement to this file");
  cli.bind_flag(args.smoke, "--smoke", "a tiny run (odd sizes, one sample) to check that the binary works");
  cli.parse(argc, argv);
  try {
    const int64_t rows = cli.budget_default<int64_t>(args.smoke, "--rows", args.rows, 37);
    const int64_t C = cli.budget_default<int64_t>(args.smoke, "--channels", args.channels, 67);
    args.samples = cli.budget_default<int64_t>(args.smoke, "--samples", args.samples, 1);
    GL_CHECK(rows * C <= (int64_t(1) << 28), "--rows x --channels: {} x {} is more than 2^28 elements", rows, C);
    Jsonl out(args.jsonl);
    set_num_threads(int(args.threads));
    const int nt = int(args.threads);

    // Inputs: x = 3 + noise (a mean that is large against the spread, which
    // punishes a careless one-pass variance), weight and bias around 1 and 0.
    Generator gen{uint64_t(args.seed)};
    LayerNorm p{};
    p.rows = rows, p.C = C, p.threads = nt;
    p.tx = add(randn({rows, C}, gen), 3.0f);
    p.tw = add(mul(randn({C}, gen), 0.1f), 1.0f);
    p.tb = mul(randn({C}, gen), 0.1f);
    p.tdy = randn({rows, C}, gen);
    p.ty = Tensor::empty({rows, C}), p.tdx = Tensor::empty({rows, C});
    p.tmean = Tensor::empty({rows}), p.trstd = Tensor::empty({rows});
    p.tdw = Tensor::empty({C}), p.tdb = Tensor::empty({C});
    const Tensor scratch = Tensor::empty({rows, C});
    p.x = p.tx.data<float>(), p.w = p.tw.data<float>(), p.b = p.tb.data<float>(), p.dy = p.tdy.data<float>();
    p.y = p.ty.data<float>(), p.mean = p.tmean.data<float>(), p.rstd = p.trstd.data<float>();
    p.dx = p.tdx.data<float>(), p.dw = p.tdw.data<float>(), p.db = p.tdb.data<float>();
    p.xhat = scratch.data<float>();

    // The reference, in double: forward outputs, then the backward from its mean and rstd.
    const size_t n = size_t(rows * C);
    const size_t nrows = size_t(rows), nc = size_t(C);
    std::vector<float> y_ref(n), mean_ref(nrows), rstd_ref(nrows), dx_ref(n), dw_ref(nc), db_ref(nc);
    ref::layer_norm_forward<float>(p.x, p.w, p.b, kEps, rows, C, y_ref.data(), mean_ref.data(), rstd_ref.data());
    ref::layer_norm_backward<float>(p.dy, p.x, p.w, mean_ref.data(), rstd_ref.data(), rows, C, dx_ref.data(),
                                    dw_ref.data(), db_ref.data());

    // The roofline for a memory-bound kernel: a plain copy of x into y, timed here.
    const double copy_bytes = 2.0 * 4.0 * double(n);
    auto copy_gbps_now = [&] {
      const Timing t = time_it(
          [&] {
#pragma omp parallel for num_threads(nt) schedule(static)
            for (int64_t i = 0; i < int64_t(n); ++i) p.y[i] = p.x[i];
          },
          int(args.samples), args.smoke ? 0.0 : 0.05, args.smoke ? 0 : 2);
      return copy_bytes / t.median / 1e9;
    };
    // The copy bandwidth and the FMA peak are measured before and after the
    // steps and the better figures kept: on a busy shared machine a
    // measurement can only come out low.
    double copy_gbps = copy_gbps_now();
    double peak = args.smoke ? 0 : measured_fma_peak_gflops(nt);
    // Tolerances: y and dx are O(1) and both sides round from double or near
    // it; dweight and dbias are sums over rows (size ~sqrt(rows)).
    const double rtol = 1e-5, atol = 1e-5, sum_atol = 1e-5 * std::sqrt(double(rows));

    struct Line {  // one measured step, printed once the roofs are final
      const Step* step;
      double seconds, err;
    };
    std::vector<Line> lines[2];  // forward, backward
    for (const bool backward : {false, true}) {
      const std::vector<Step>& steps = backward ? kBackward : kForward;
      const char* dir = backward ? "backward" : "forward";
      for (const Step& s : steps) {
        if (backward) {  // the backward reads the reference forward's statistics
          std::copy(mean_ref.begin(), mean_ref.end(), p.mean);
          std::copy(rstd_ref.begin(), rstd_ref.end(), p.rstd);
          std::fill(p.dx, p.dx + n, NAN);
          std::fill(p.dw, p.dw + C, NAN);
        } else {
          std::fill(p.y, p.y + n, NAN);
        }
        s.run(p);
        double err = 0;
        if (backward) {
          err = std::max({worst(p.dx, dx_ref.data(), int64_t(n), rtol, atol),
                          worst(p.dw, dw_ref.data(), C, rtol, sum_atol), worst(p.db, db_ref.data(), C, rtol, sum_atol)});
        } else {
          err = std::max({worst(p.y, y_ref.data(), int64_t(n), rtol, atol),
                          worst(p.mean, mean_ref.data(), rows, rtol, atol),
                          worst(p.rstd, rstd_ref.data(), rows, rtol, atol)});
        }
        GL_CHECK(err <= 1.0, "ladder_layernorm: {} step '{}' disagrees with the reference: error {:.3g} x tolerance",
                 dir, s.name, err);
        const Timing t = time_it([&] { s.run(p); }, int(args.samples), args.smoke ? 0.0 : 0.05, args.smoke ? 0 : 2);
        lines[backward].push_back({&s, t.median, err});
      }
    }
    copy_gbps = std::max(copy_gbps, copy_gbps_now());
    if (!args.smoke) peak = std::max(peak, measured_fma_peak_gflops(nt));

    std::printf("ladder_layernorm: f32 [%lld, %lld] (%.1f MB a tensor), %d thread(s), copy %.1f GB/s, %s\n",
                (long long)rows, (long long)C, 4.0 * double(n) / 1e6, nt, copy_gbps,
                peak > 0 ? fmt::format("measured FMA peak {:.1f} GFLOP/s", peak).c_str() : "FMA peak not measured");
    for (const bool backward : {false, true}) {
      const char* dir = backward ? "backward" : "forward";
      const double bytes = (backward ? 3.0 : 2.0) * 4.0 * double(n);
      const double flops = (backward ? 13.0 : 8.0) * double(n);
      std::printf("\n%s, checked against ref::layer_norm_%s (tolerance %.0e abs + %.0e rel)\n", dir, dir, atol, rtol);
      Table table({"step", "what changed", "ms", "GB/s", "% copy", "GFLOP/s", "% peak", "x prev", "err/tol"});
      double prev = 0;
      for (const Line& l : lines[backward]) {
        const double gbps = bytes / l.seconds / 1e9, gflops = flops / l.seconds / 1e9;
        table.row({l.step->name, l.step->change, fmt::format("{:.2f}", l.seconds * 1e3), fmt::format("{:.1f}", gbps),
                   fmt::format("{:.0f}%", 100 * gbps / copy_gbps), fmt::format("{:.1f}", gflops),
                   peak > 0 ? fmt::format("{:.1f}%", 100 * gflops / peak) : "-",
                   prev > 0 ? fmt::format("{:.1f}x", gbps / prev) : "", fmt::format("{:.2f}", l.err)});
        prev = gbps;
        Jsonl::Record rec{.bench = "ladder_layernorm",
                          .case_name = fmt::format("{}/{}/{}x{}", dir, l.step->name, rows, C),
                          .metric = "gbps",
                          .value = gbps,
                          .unit = "GB/s",
                          .threads = nt};
        rec.extra["step"] = l.step->name;
        rec.extra["direction"] = dir;
        rec.numbers["median_seconds"] = l.seconds;
        rec.numbers["percent_of_copy"] = 100 * gbps / copy_gbps;
        rec.numbers["copy_gbps"] = copy_gbps;
        rec.numbers["nominal_gflops"] = gflops;
        rec.numbers["error_over_tolerance"] = l.err;
        if (peak > 0) {
          rec.numbers["percent_of_peak"] = 100 * gflops / peak;
          rec.numbers["fma_peak_gflops"] = peak;
        }
        out.write(rec);
      }
      std::fputs(table.str().c_str(), stdout);
    }
  } catch (const std::exception& e) {  // gradlab::Error, and the library's (filesystem, bad_alloc)
    std::fprintf(stderr, "ladder_layernorm: %s\n", e.what());
    return 1;
  }
  return 0;
}
