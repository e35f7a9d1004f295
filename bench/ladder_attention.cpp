// build/bench/ladder_attention: a reading ladder for causal multi-head
// scaled dot-product attention, out = softmax(q k^T / sqrt(D) + causal mask) v
// for q, k, v [B, H, T, D] f32 (equations in tensor/ref/attention.h), forward
// and backward, from the textbook to the library's kernel
// (tensor/cpu/attention.cpp):
//
//   1. naive    materialise the T x T scores of a head, softmax them, multiply by v
//   2. fused    one query row at a time with an online softmax: no T x T matrix,
//               masked keys never visited, vectorised length-D loops
//   3. library  cpu::attention: blocks of 64 queries, packed GEMMs for q k^T and P v
//
// The backward goes the same way (materialised P and dS; then per-row
// recomputation of P from the saved log-sum-exp; then the library's GEMMs).
// Every step is first checked against the reference (tensor/ref/attention.h,
// in double) on the same inputs, then timed. Each line prints GFLOP/s counting
// only the flops causal attention needs (4 D per visible (query, key) pair
// forward: q.k and p v; 10 D backward: q.k again, dout.v, and the dq, dk, dv
// updates), their share of the measured FMA peak, and the speed-up over the
// line above. Read the functions in order.
//   build/bench/ladder_attention --batch 2 --heads 4 --tokens 512 --dim 64
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <vector>

#include "bench/common/bench.h"
#include "bench/common/cli.h"
#include "tensor/cpu/kernels.h"
#include "tensor/ops.h"
#include "tensor/parallel.h"
#include "tensor/ref/attention.h"

using namespace gradlab;
using namespace gradlab::bench;

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// One problem. Every [B, H, T, D] tensor is contiguous, so head h of batch b
// starts at (b H + h) T D and row i of it at i D further.
struct Attention {
  int64_t B, H, T, D;
  const float *q, *k, *v, *dout;
  float *out, *lse;                 // forward outputs
  const float *saved_out, *saved_lse;  // the reference forward's, for the backward
  float *dq, *dk, *dv;              // backward outputs
  Tensor tq, tk, tv, tdout, tout, tlse, tsaved_out, tsaved_lse, tdq, tdk, tdv;  // the same memory, for the library
  int threads;
  int64_t heads() const { return B * H; }
  int64_t head(int64_t bh) const { return bh * T * D; }
};

// ======== forward ========

// ---- 1. naive: scores, softmax, product, one matrix at a time ----
// For each head: S = q k^T / sqrt(D) as a whole T x T matrix (the masked
// upper half computed too, then overwritten with -inf), a softmax over each
// row in three passes, then out = P v with a dot product per output element
// that walks down a column of v (stride D). The T x T matrix (1 MiB at
// T = 512) falls out of L1 and L2 between the passes, half the work is
// thrown away by the mask, and the float reductions are scalar chains.
void forward_naive(const Attention& a) {
  const int64_t T = a.T, D = a.D;
  const float scale = 1.0f / std::sqrt(float(D));
#pragma omp parallel num_threads(a.threads)
  {
    std::vector<float> S(size_t(T * T));
#pragma omp for schedule(static)
    for (int64_t bh = 0; bh < a.heads(); ++bh) {
      const float *q = a.q + a.head(bh), *k = a.k + a.head(bh), *v = a.v + a.head(bh);
      for (int64_t i = 0; i < T; ++i)  // S = q k^T / sqrt(D), then the causal mask
        for (int64_t j = 0; j < T; ++j) {
          float s = 0;
          for (int64_t d = 0; d < D; ++d) s += q[i * D + d] * k[j * D + d];
          S[size_t(i * T + j)] = j <= i ? s * scale : kNegInf;
        }
      for (int64_t i = 0; i < T; ++i) {  // softmax of each row: max, exp and sum, normalise
        float* s = S.data() + i * T;
        float m = kNegInf;
        for (int64_t j = 0; j < T; ++j) m = std::max(m, s[j]);
        float sum = 0;
        for (int64_t j = 0; j < T; ++j) {
          s[j] = std::exp(s[j] - m);
          sum += s[j];
        }
        for (int64_t j = 0; j < T; ++j) s[j] /= sum;
        a.lse[bh * T + i] = m + std::log(sum);
      }
      float* out = a.out + a.head(bh);
      for (int64_t i = 0; i < T; ++i)  // out = P v
        for (int64_t d = 0; d < D; ++d) {
          float o = 0;
          for (int64_t j = 0; j < T; ++j) o += S[size_t(i * T + j)] * v[j * D + d];
          out[i * D + d] = o;
        }
    }
  }
}

// ---- 2. fused: one query row at a time, online softmax ----
// The softmax needs the row's maximum before the first exp, which is why step
// 1 stored the whole row. The online softmax removes that need: keep the
// running maximum m, the running sum l = sum_j exp(s_j - m) and the running
// output acc = sum_j exp(s_j - m) v_j; when a new score s beats m, rescale l
// and acc by exp(m - s) (which turns "relative to the old max" into "relative
// to the new one") and carry on. After the last key, out = acc / l and
// lse = m + log l. Nothing T x T exists; the keys after i are never visited
// (the causal half is skipped, not masked); q_i and acc stay in L1. The
// length-D loops vectorise: the dot product through `omp simd reduction`
// (which permits the reordering of its float sum), the acc update on its own.
// This is the idea of FlashAttention, at the granularity of one row.
void forward_fused(const Attention& a) {
  const int64_t T = a.T, D = a.D;
  const float scale = 1.0f / std::sqrt(float(D));
#pragma omp parallel num_threads(a.threads)
  {
    std::vector<float> acc_store(static_cast<size_t>(D));
    float* acc = acc_store.data();
#pragma omp for schedule(static)
    for (int64_t bh = 0; bh < a.heads(); ++bh) {
      const float *q = a.q + a.head(bh), *k = a.k + a.head(bh), *v = a.v + a.head(bh);
      float* out = a.out + a.head(bh);
      for (int64_t i = 0; i < T; ++i) {
        const float* qi = q + i * D;
        float m = kNegInf, l = 0;
        std::fill(acc, acc + D, 0.0f);
        for (int64_t j = 0; j <= i; ++j) {  // causal: keys 0..i only
          const float* kj = k + j * D;
          float s = 0;
#pragma omp simd reduction(+ : s)
          for (int64_t d = 0; d < D; ++d) s += qi[d] * kj[d];
          s *= scale;
          if (s > m) {  // a new maximum: rescale what has been summed so far
            const float correction = std::exp(m - s);
            l *= correction;
            for (int64_t d = 0; d < D; ++d) acc[d] *= correction;
            m = s;
          }
          const float p = std::exp(s - m);
          l += p;
          const float* vj = v + j * D;
          for (int64_t d = 0; d < D; ++d) acc[d] += p * vj[d];
        }
        const float inv = 1.0f / l;
        for (int64_t d = 0; d < D; ++d) out[i * D + d] = acc[d] * inv;
        a.lse[bh * T + i] = m + std::log(l);
      }
    }
  }
}

// ---- 3. library: cpu::attention (tensor/cpu/attention.cpp) ----
// Back to materialised scores, but in blocks of 64 query rows: a block's
// scores against the keys up to its last row (the causal skip, by blocks) are
// one packed GEMM (tensor/cpu/gemm.cpp), the softmax runs over the block's
// rows with vectorised max, exp and sum, and P v is a second GEMM. The two
// GEMMs are where the flops are, and they run on the register-tiled
// micro-kernel near the FMA peak, which a row-at-a-time loop cannot: each
// k_j and v_j loaded by step 2 serves one query, each loaded by the GEMM
// serves a tile of queries. Heads run in parallel.
void forward_library(const Attention& a) {
  set_num_threads(a.threads);
  cpu::attention(a.tq, a.tk, a.tv, true, Tensor(), a.tout, a.tlse);
}

// ======== backward ========
// dv_j = sum_i P_ij dout_i;  dP_ij = dout_i . v_j;  dS_ij = P_ij (dP_ij - D_i)
// with D_i = sum_j P_ij dP_ij = dout_i . out_i;  dq_i = sum_j dS_ij k_j / sqrt(D);
// dk_j = sum_i dS_ij q_i / sqrt(D).

// ---- 1. naive: P and dS as whole T x T matrices ----
// The forward's step 1 again for P (scores, mask, softmax), then dP = dout v^T
// whole, D_i as a row sum of P dP, dS in place, and the three products with a
// dot product per output element (dk and dv walk down columns of dS and P).
void backward_naive(const Attention& a) {
  const int64_t T = a.T, D = a.D;
  const float scale = 1.0f / std::sqrt(float(D));
#pragma omp parallel num_threads(a.threads)
  {
    std::vector<float> P(size_t(T * T)), dS(size_t(T * T));
#pragma omp for schedule(static)
    for (int64_t bh = 0; bh < a.heads(); ++bh) {
      const int64_t o = a.head(bh);
      const float *q = a.q + o, *k = a.k + o, *v = a.v + o, *dout = a.dout + o;
      for (int64_t i = 0; i < T; ++i) {  // P: scores, mask, softmax
        float* p = P.data() + i * T;
        float m = kNegInf;
        for (int64_t j = 0; j < T; ++j) {
          float s = 0;
          for (int64_t d = 0; d < D; ++d) s += q[i * D + d] * k[j * D + d];
          p[j] = j <= i ? s * scale : kNegInf;
          m = std::max(m, p[j]);
        }
        float sum = 0;
        for (int64_t j = 0; j < T; ++j) sum += (p[j] = std::exp(p[j] - m));
        for (int64_t j = 0; j < T; ++j) p[j] /= sum;
      }
      for (int64_t i = 0; i < T; ++i) {  // dP = dout v^T, then dS = P (dP - D_i)
        float* ds = dS.data() + i * T;
        float row = 0;
        for (int64_t j = 0; j < T; ++j) {
          float dp = 0;
          for (int64_t d = 0; d < D; ++d) dp += dout[i * D + d] * v[j * D + d];
          ds[j] = dp;
          row += P[size_t(i * T + j)] * dp;
        }
        for (int64_t j = 0; j < T; ++j) ds[j] = P[size_t(i * T + j)] * (ds[j] - row);
      }
      for (int64_t i = 0; i < T; ++i)
        for (int64_t d = 0; d < D; ++d) {
          float sq = 0, sk = 0, sv = 0;  // dq_i, and dk_i, dv_i (i as the key index)
          for (int64_t j = 0; j < T; ++j) {
            sq += dS[size_t(i * T + j)] * k[j * D + d];
            sk += dS[size_t(j * T + i)] * q[j * D + d];
            sv += P[size_t(j * T + i)] * dout[j * D + d];
          }
          a.dq[o + i * D + d] = sq * scale;
          a.dk[o + i * D + d] = sk * scale;
          a.dv[o + i * D + d] = sv;
        }
    }
  }
}

// ---- 2. fused: one query row at a time, P recomputed from lse ----
// The forward saved lse_i, so p_ij = exp(s_ij - lse_i) can be recomputed for
// one (i, j) at a time, and D_i = dout_i . out_i needs no row of P. Each
// visible pair then does its whole share of the work at once: dq_i += ds k_j,
// dk_j += ds q_i, dv_j += p dout_i, all length-D loops that vectorise. No
// T x T matrix, masked pairs never visited. dk and dv of one head are summed
// over its query rows by the one thread that owns the head.
void backward_fused(const Attention& a) {
  const int64_t T = a.T, D = a.D;
  const float scale = 1.0f / std::sqrt(float(D));
#pragma omp parallel for num_threads(a.threads) schedule(static)
  for (int64_t bh = 0; bh < a.heads(); ++bh) {
    const int64_t o = a.head(bh);
    const float *q = a.q + o, *k = a.k + o, *v = a.v + o, *dout = a.dout + o, *out = a.saved_out + o;
    float *dq = a.dq + o, *dk = a.dk + o, *dv = a.dv + o;
    std::fill(dk, dk + T * D, 0.0f);
    std::fill(dv, dv + T * D, 0.0f);
    for (int64_t i = 0; i < T; ++i) {
      const float *qi = q + i * D, *gi = dout + i * D;
      const float lse = a.saved_lse[bh * T + i];
      float Di = 0;
#pragma omp simd reduction(+ : Di)
      for (int64_t d = 0; d < D; ++d) Di += gi[d] * out[i * D + d];
      float* dqi = dq + i * D;
      std::fill(dqi, dqi + D, 0.0f);
      for (int64_t j = 0; j <= i; ++j) {
        const float *kj = k + j * D, *vj = v + j * D;
        float s = 0, dp = 0;
#pragma omp simd reduction(+ : s, dp)
        for (int64_t d = 0; d < D; ++d) {
          s += qi[d] * kj[d];
          dp += gi[d] * vj[d];
        }
        const float p = std::exp(s * scale - lse);
        const float ds = p * (dp - Di) * scale;
        float *dkj = dk + j * D, *dvj = dv + j * D;
        for (int64_t d = 0; d < D; ++d) {
          dqi[d] += ds * kj[d];
          dkj[d] += ds * qi[d];
          dvj[d] += p * gi[d];
        }
      }
    }
  }
}

// ---- 3. library: cpu::attention_backward (tensor/cpu/attention.cpp) ----
// Step 1's matrices again, built with GEMMs: per block of 64 queries, P (from
// q k^T and lse, as in step 2) and dP = dout v^T are packed GEMMs, dS is formed
// in place, dq = dS k is a GEMM; then dv = P^T dout and dk = dS^T q are GEMMs
// over key blocks, reading P and dS transposed in place. Five GEMMs carry the
// flops at the micro-kernel's speed; the T x T scratch per head is the price.
void backward_library(const Attention& a) {
  set_num_threads(a.threads);
  cpu::attention_backward(a.tdout, a.tq, a.tk, a.tv, a.tsaved_out, a.tsaved_lse, true, Tensor(), a.tdq, a.tdk, a.tdv);
}

struct Step {
  const char* name;
  const char* change;
  std::function<void(const Attention&)> run;
};

const std::vector<Step> kForward = {
    {"naive", "T x T scores, softmax, P v; all scalar", forward_naive},
    {"fused", "row at a time, online softmax, SIMD", forward_fused},
    {"library", "cpu::attention: 64-row blocks, GEMMs", forward_library},
};
const std::vector<Step> kBackward = {
    {"naive", "P, dP, dS as T x T matrices; scalar", backward_naive},
    {"fused", "row at a time, P from lse, SIMD", backward_fused},
    {"library", "cpu::attention_backward: GEMMs", backward_library},
};

// The largest |got - want| / (tol (1 + |want|)) over n values: <= 1 passes.
double worst(const float* got, const float* want, int64_t n, double tol) {
  double w = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double e = std::abs(double(got[i]) - double(want[i])) / (tol * (1 + std::abs(double(want[i]))));
    w = std::max(w, std::isnan(e) ? INFINITY : e);
  }
  return w;
}

struct Args {
  int64_t batch = 2;
  int64_t heads = 4;
  int64_t tokens = 512;
  int64_t dim = 64;
  int64_t threads = 1;
  int64_t seed = 0;
  int64_t samples = 5;
  std::string jsonl;
  bool smoke = false;
};

}  // namespace

int main(int argc, char** argv) {
  Cli cli("ladder_attention",
          "A reading ladder for causal attention, forward and backward: materialised scores, a row-fused online "
          "softmax, the library's kernel; each checked against tensor/ref/attention.h, then timed (GFLOP/s, % of "
          "the FMA peak).");
  Args args;
  cli.bind(args.batch, "--batch", "B", {1, 4096});
  cli.bind(args.heads, "--heads", "H", {1, 4096});
  cli.bind(args.tokens, "--tokens", "T, the sequence length", {1, 16384});
  cli.bind(args.dim, "--dim", "D, the head size", {1, 4096});
  cli.bind(args.threads, "--threads", "OpenMP threads", kThreadBounds);
  cli.bind(args.seed, "--seed", "seed for the random inputs", {0, INT64_MAX});
  cli.bind(args.samples, "--samples", "timed samples per step", {1, 1000});
  cli.bind(args.jsonl, "--jsonl", "append one JSON object per measurement to this file");
  cli.bind_flag(args.smoke, "--smoke", "a tiny run (odd sizes, one sample) to check that the binary works");
  cli.parse(argc, argv);
  try {
    const int64_t B = cli.budget_default<int64_t>(args.smoke, "--batch", args.batch, 2);
    const int64_t H = cli.budget_default<int64_t>(args.smoke, "--heads", args.heads, 3);
    const int64_t T = cli.budget_default<int64_t>(args.smoke, "--tokens", args.tokens, 77);
    const int64_t D = cli.budget_default<int64_t>(args.smoke, "--dim", args.dim, 24);
    args.samples = cli.budget_default<int64_t>(args.smoke, "--samples", args.samples, 1);
    GL_CHECK(B * H * T * D <= (int64_t(1) << 26), "--batch x --heads x --tokens x --dim: {} is more than 2^26",
             B * H * T * D);
    Jsonl out(args.jsonl);
    const int nt = int(args.threads);
    set_num_threads(nt);

    Generator gen{uint64_t(args.seed)};
    const Shape shape{B, H, T, D};
    Attention a{};
    a.B = B, a.H = H, a.T = T, a.D = D, a.threads = nt;
    a.tq = randn(shape, gen), a.tk = randn(shape, gen), a.tv = randn(shape, gen), a.tdout = randn(shape, gen);
    a.tout = Tensor::empty(shape), a.tlse = Tensor::empty({B, H, T});
    a.tsaved_out = Tensor::empty(shape), a.tsaved_lse = Tensor::empty({B, H, T});
    a.tdq = Tensor::empty(shape), a.tdk = Tensor::empty(shape), a.tdv = Tensor::empty(shape);
    a.q = a.tq.data<float>(), a.k = a.tk.data<float>(), a.v = a.tv.data<float>(), a.dout = a.tdout.data<float>();
    a.out = a.tout.data<float>(), a.lse = a.tlse.data<float>();
    a.saved_out = a.tsaved_out.data<float>(), a.saved_lse = a.tsaved_lse.data<float>();
    a.dq = a.tdq.data<float>(), a.dk = a.tdk.data<float>(), a.dv = a.tdv.data<float>();

    // The reference, in double; its out and lse are what every backward step is given.
    const ref::AttentionShape rs{B, H, T, D};
    const int64_t n = B * H * T * D, nl = B * H * T;
    std::vector<float> dq_ref(size_t(n), 0), dk_ref(size_t(n), 0), dv_ref(size_t(n), 0);
    ref::attention_forward<float>(a.q, a.k, a.v, rs, true, nullptr, a.tsaved_out.data<float>(),
                                  a.tsaved_lse.data<float>());
    ref::attention_backward<float>(a.dout, a.q, a.k, a.v, rs, true, nullptr, dq_ref.data(), dk_ref.data(),
                                   dv_ref.data());
    const std::vector<float> out_ref(a.saved_out, a.saved_out + n), lse_ref(a.saved_lse, a.saved_lse + nl);

    // The FMA peak is measured before and after the steps and the better
    // figure kept: on a busy shared machine a measurement can only come out low.
    double peak = args.smoke ? 0 : measured_fma_peak_gflops(nt);
    // Tolerances, relative to 1 + |value|: the f32 steps round scores,
    // exponentials and sums of up to T terms; gradients sum over T rows.
    const double fwd_tol = 5e-5, bwd_tol = 2e-5 * std::sqrt(double(T));
    const double pairs = double(B * H) * double(T) * double(T + 1) / 2;  // visible (query, key) pairs

    struct Line {  // one measured step, printed once the peak is final
      const Step* step;
      double seconds, err;
    };
    std::vector<Line> lines[2];  // forward, backward
    for (const bool backward : {false, true}) {
      const std::vector<Step>& steps = backward ? kBackward : kForward;
      const char* dir = backward ? "backward" : "forward";
      for (const Step& s : steps) {
        for (float* p : {a.out, a.lse, a.dq, a.dk, a.dv}) std::fill(p, p + (p == a.lse ? nl : n), NAN);
        s.run(a);
        const double err =
            backward ? std::max({worst(a.dq, dq_ref.data(), n, bwd_tol), worst(a.dk, dk_ref.data(), n, bwd_tol),
                                 worst(a.dv, dv_ref.data(), n, bwd_tol)})
                     : std::max(worst(a.out, out_ref.data(), n, fwd_tol), worst(a.lse, lse_ref.data(), nl, fwd_tol));
        GL_CHECK(err <= 1.0, "ladder_attention: {} step '{}' disagrees with the reference: error {:.3g} x tolerance",
                 dir, s.name, err);
        const Timing t = time_it([&] { s.run(a); }, int(args.samples), args.smoke ? 0.0 : 0.05, args.smoke ? 0 : 1);
        lines[backward].push_back({&s, t.median, err});
      }
    }
    if (!args.smoke) peak = std::max(peak, measured_fma_peak_gflops(nt));

    std::printf("ladder_attention: f32, causal, B=%lld H=%lld T=%lld D=%lld, %d thread(s), %s\n", (long long)B,
                (long long)H, (long long)T, (long long)D, nt,
                peak > 0 ? fmt::format("measured FMA peak {:.1f} GFLOP/s", peak).c_str() : "FMA peak not measured");
    for (const bool backward : {false, true}) {
      const char* dir = backward ? "backward" : "forward";
      const double flops = (backward ? 10.0 : 4.0) * double(D) * pairs;
      std::printf("\n%s, checked against ref::attention_%s (tolerance %.1e x (1 + |value|))\n", dir, dir,
                  backward ? bwd_tol : fwd_tol);
      Table table({"step", "what changed", "ms", "GFLOP/s", "% peak", "x prev", "err/tol"});
      double prev = 0;
      for (const Line& l : lines[backward]) {
        const double gflops = flops / l.seconds / 1e9;
        table.row({l.step->name, l.step->change, fmt::format("{:.2f}", l.seconds * 1e3), fmt::format("{:.1f}", gflops),
                   peak > 0 ? fmt::format("{:.1f}%", 100 * gflops / peak) : "-",
                   prev > 0 ? fmt::format("{:.1f}x", gflops / prev) : "", fmt::format("{:.2f}", l.err)});
        prev = gflops;
        Jsonl::Record rec{.bench = "ladder_attention",
                          .case_name = fmt::format("{}/{}/B{}H{}T{}D{}", dir, l.step->name, B, H, T, D),
                          .metric = "gflops",
                          .value = gflops,
                          .unit = "GFLOP/s",
                          .threads = nt};
        rec.extra["step"] = l.step->name;
        rec.extra["direction"] = dir;
        rec.numbers["median_seconds"] = l.seconds;
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
    std::fprintf(stderr, "ladder_attention: %s\n", e.what());
    return 1;
  }
  return 0;
}
