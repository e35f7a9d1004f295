// The flash attention kernels (tensor/cuda/flash_attention_kernels.cuh) run
// on the CPU through emulation.h, against attention computed naively in f64:
// out, lse, dq, dk and dv, causal or not, with a key mask that leaves a query
// with no key, permuted (strided) inputs, T = 1, odd T, T not a multiple of
// either tile, head dimensions that need padding (8, 100) and the largest
// taken (128), in each arithmetic (f32 FMAs, TF32 and bf16 WMMA). This checks
// the kernels' tiling, masks, online softmax, recomputation from lse and
// shared-memory layout everywhere the tests run; tests/cuda checks the same
// kernels on a GPU against the scalar reference kernels.
//
// Tolerances, on max |diff| / max(max |ref|, 1): f32 2e-6 (f32 rounding of
// sums of at most a few hundred terms); TF32 5e-3 and bf16 4e-2, 10 unit
// roundoffs of operands rounded to 11 and 8 significant bits (the argument is
// in tests/cuda/test_flash_attention.cpp).
#include "tests/cuda_emulated/emulation.h"
// (the stand-ins first: the kernels header compiles against them)
#include "tensor/cuda/flash_attention_kernels.cuh"

#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <functional>
#include <random>
#include <string>

using namespace gradlab::cuda;
using namespace gradlab::cuda::flash_emulated;

namespace {

// Runs body as every thread of every block of grid, 128 threads a block.
void launch(dim3 grid, const std::function<void()>& body) {
  blockDim = {unsigned(kFlashThreads), 1, 1};
  gridDim = grid;
  std::barrier<> block(kFlashThreads);
  std::barrier<> w0(32), w1(32), w2(32), w3(32);
  g_block_barrier = &block;
  g_warp_barriers[0] = &w0;
  g_warp_barriers[1] = &w1;
  g_warp_barriers[2] = &w2;
  g_warp_barriers[3] = &w3;
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < unsigned(kFlashThreads); ++t)
    threads.emplace_back([&, t] {
      threadIdx = {t, 0, 0};
      for (unsigned by = 0; by < grid.y; ++by)
        for (unsigned bx = 0; bx < grid.x; ++bx) {
          block.arrive_and_wait();
          if (t == 0) std::memset(g_smem, 0xff, sizeof g_smem);  // NaNs, where a GPU leaves garbage
          block.arrive_and_wait();
          blockIdx = {bx, by, 0};
          body();
        }
    });
  for (auto& t : threads) t.join();
}

struct Case {
  int64_t B, H, T, D;
  bool causal, masked, permuted;
};

struct Errors {
  double out, lse, dq, dk, dv;
  bool same_infinities;
};

template <MmaPrecision P>
Errors run_case(const Case& c, unsigned seed) {
  const int64_t B = c.B, H = c.H, T = c.T, D = c.D, n = B * H * T * D;
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<float> q(n), k(n), v(n), dout(n);
  for (auto* x : {&q, &k, &v, &dout})
    for (float& e : *x) e = normal(rng);
  const Strides4 s = c.permuted ? Strides4{T * H * D, D, H * D, 1} : Strides4{H * T * D, T * D, D, 1};
  const Strides4 sc{H * T * D, T * D, D, 1};
  std::vector<char> keep(size_t(B * T), 1);
  if (c.masked) {
    std::uniform_real_distribution<float> u;
    for (char& m : keep) m = u(rng) > 0.3f;
    keep[0] = 0;  // batch 0's first key hidden: a causal query 0 sees nothing
  }
  const double scale = 1.0 / std::sqrt(double(D));
  const Geometry g{B, H, T, D, int((D + 15) / 16 * 16), c.causal,
                   c.masked ? reinterpret_cast<const bool*>(keep.data()) : nullptr, float(scale)};
  auto at = [](const std::vector<float>& x, const Strides4& st, int64_t b, int64_t h, int64_t t, int64_t d) {
    return double(x[size_t(b * st.b + h * st.h + t * st.t + d * st.d)]);
  };

  // The naive f64 attention.
  const size_t elements = size_t(n), rows = size_t(B * H * T);
  std::vector<double> out(elements), lse(rows), dq(elements), dk(elements), dv(elements);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h) {
      const int64_t bh = b * H + h;
      std::vector<double> p(size_t(T * T), 0.0);
      for (int64_t i = 0; i < T; ++i) {
        std::vector<double> score(size_t(T), -INFINITY);
        double m = -INFINITY;
        for (int64_t j = 0; j < T; ++j) {
          if ((c.causal && j > i) || !keep[size_t(b * T + j)]) continue;
          double dot = 0;
          for (int64_t d = 0; d < D; ++d) dot += at(q, s, b, h, i, d) * at(k, s, b, h, j, d);
          score[size_t(j)] = dot * scale;
          m = std::max(m, dot * scale);
        }
        double l = 0;
        for (int64_t j = 0; j < T; ++j)
          if (score[size_t(j)] != -INFINITY) l += std::exp(score[size_t(j)] - m);
        const double li = l > 0 ? m + std::log(l) : -INFINITY;
        lse[size_t(bh * T + i)] = li;
        for (int64_t j = 0; j < T; ++j)
          if (score[size_t(j)] != -INFINITY) p[size_t(i * T + j)] = std::exp(score[size_t(j)] - li);
        for (int64_t d = 0; d < D; ++d) {
          double o = 0;
          for (int64_t j = 0; j < T; ++j) o += p[size_t(i * T + j)] * at(v, s, b, h, j, d);
          out[size_t((bh * T + i) * D + d)] = o;
        }
      }
      for (int64_t i = 0; i < T; ++i) {
        double di = 0;
        for (int64_t d = 0; d < D; ++d) di += at(dout, sc, b, h, i, d) * out[size_t((bh * T + i) * D + d)];
        for (int64_t j = 0; j < T; ++j) {
          const double pij = p[size_t(i * T + j)];
          if (pij == 0) continue;
          double dp = 0;
          for (int64_t d = 0; d < D; ++d) dp += at(dout, sc, b, h, i, d) * at(v, s, b, h, j, d);
          const double ds = pij * (dp - di) * scale;
          for (int64_t d = 0; d < D; ++d) {
            dq[size_t((bh * T + i) * D + d)] += ds * at(k, s, b, h, j, d);
            dk[size_t((bh * T + j) * D + d)] += ds * at(q, s, b, h, i, d);
            dv[size_t((bh * T + j) * D + d)] += pij * at(dout, sc, b, h, i, d);
          }
        }
      }
    }

  // The kernels, as tensor/cuda/flash_attention.cu launches them.
  std::vector<float> fo(size_t(n), NAN), fl(size_t(B * H * T), NAN), fdq(size_t(n), NAN), fdk(size_t(n), NAN),
      fdv(size_t(n), NAN), di(size_t(B * H * T));
  REQUIRE(forward_shared(g.DP) <= sizeof g_smem);
  REQUIRE(backward_shared(g.DP) <= sizeof g_smem);
  launch({unsigned((T + kForwardBQ - 1) / kForwardBQ), unsigned(B * H), 1},
         [&] { flash_forward_kernel<P>(q.data(), s, k.data(), s, v.data(), s, g, fo.data(), fl.data()); });
  launch({1, 1, 1}, [&] {  // the row dots' grid-stride loop, by one block
    flash_row_dots(dout.data(), sc, fo.data(), sc, g, di.data());
  });
  launch({unsigned((T + kBackwardBK - 1) / kBackwardBK), unsigned(B * H), 1}, [&] {
    flash_dkdv_kernel<P>(dout.data(), sc, q.data(), s, k.data(), s, v.data(), s, fl.data(), di.data(), g, fdk.data(),
                         fdv.data());
  });
  launch({unsigned((T + kBackwardBQ - 1) / kBackwardBQ), unsigned(B * H), 1}, [&] {
    flash_dq_kernel<P>(dout.data(), sc, q.data(), s, k.data(), s, v.data(), s, fl.data(), di.data(), g, fdq.data());
  });

  Errors e{0, 0, 0, 0, 0, true};
  auto scaled = [&](const std::vector<double>& ref, const std::vector<float>& got) {
    double top = 1.0, diff = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
      if (!std::isfinite(ref[i]) || !std::isfinite(got[i])) {
        e.same_infinities = e.same_infinities && ref[i] == double(got[i]);
        continue;
      }
      top = std::max(top, std::fabs(ref[i]));
      diff = std::max(diff, std::fabs(ref[i] - double(got[i])));
    }
    return diff / top;
  };
  e.out = scaled(out, fo);
  e.lse = scaled(lse, fl);
  e.dq = scaled(dq, fdq);
  e.dk = scaled(dk, fdk);
  e.dv = scaled(dv, fdv);
  return e;
}

// Small shapes that still cross every tile edge: 128 host threads a block make
// each emulated block slow, so the default set stays within seconds;
// GRADLAB_EMULATED_FULL=1 adds longer sequences, more heads and D = 128 at T = 97.
const Case kCases[] = {
    {1, 1, 1, 64, true, false, false},  {1, 1, 17, 8, true, false, false},   {1, 1, 65, 64, false, false, true},
    {1, 1, 70, 32, true, true, false},  {1, 1, 33, 100, false, true, false}, {1, 1, 20, 128, true, false, false},
};
const Case kFullCases[] = {
    {2, 3, 17, 8, true, false, false},  {2, 2, 100, 32, true, true, false}, {1, 2, 130, 64, true, false, true},
    {1, 1, 97, 128, true, false, false},
};

bool full() {
  const char* v = std::getenv("GRADLAB_EMULATED_FULL");
  return v != nullptr && std::string(v) != "0";
}

std::string describe(const Case& c, const char* precision) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "emulated flash %s B%lld H%lld T%lld D%lld%s%s%s", precision, (long long)c.B,
                (long long)c.H, (long long)c.T, (long long)c.D, c.causal ? " causal" : "", c.masked ? " masked" : "",
                c.permuted ? " permuted" : "");
  return buf;
}

template <MmaPrecision P>
void check_all(double limit, const char* name) {
  std::vector<Case> cases(std::begin(kCases), std::end(kCases));
  if (full()) cases.insert(cases.end(), std::begin(kFullCases), std::end(kFullCases));
  unsigned seed = 1;
  for (const Case& c : cases) {
    const Errors e = run_case<P>(c, seed++);
    const std::string what = describe(c, name);
    CHECK_MESSAGE(e.same_infinities, what, ": the -inf entries (lse of a query that sees no key) differ");
    for (const auto& [part, err] : {std::pair{"out", e.out}, std::pair{"lse", e.lse}, std::pair{"dq", e.dq},
                                    std::pair{"dk", e.dk}, std::pair{"dv", e.dv}})
      CHECK_MESSAGE(err <= limit, what, " ", part, ": max|diff| / max(max|ref|, 1) = ", err, " > ", limit);
  }
}

}  // namespace

TEST_CASE("emulated flash attention, f32 FMA products") { check_all<MmaPrecision::f32>(2e-6, "f32"); }
TEST_CASE("emulated flash attention, TF32 WMMA products") { check_all<MmaPrecision::tf32>(5e-3, "tf32"); }
TEST_CASE("emulated flash attention, bf16 WMMA products") { check_all<MmaPrecision::bf16>(4e-2, "bf16"); }
