// GEMM and matmul against the plain triple loop: odd sizes around the
// micro-tile and block edges, every transpose combination read in place,
// accumulation, batched and broadcast matmul, 1-D operands, threading, errors.
#include <doctest/doctest.h>

#include <array>

#include "tensor/cpu/gemm.h"
#include "tests/tensor/reference.h"
#include "tests/thread_count_guard.h"

using namespace gradlab;
using ref::Index;
using ref::Layout;

namespace {

template <class T>
void check_gemm(int64_t M, int64_t N, int64_t K, bool ta, bool tb, bool accumulate, uint64_t seed) {
  // A stored as [M, K] or, transposed, as [K, M] read through swapped strides.
  const DType dt = dtype_of<T>();
  const Tensor a_store = ref::make_input(ta ? Shape{K, M} : Shape{M, K}, dt, Layout::contiguous, seed);
  const Tensor b_store = ref::make_input(tb ? Shape{N, K} : Shape{K, N}, dt, Layout::contiguous, seed + 1);
  const cpu::MatrixView<T> A{a_store.data<T>(), ta ? 1 : K, ta ? M : 1};
  const cpu::MatrixView<T> B{b_store.data<T>(), tb ? 1 : N, tb ? K : 1};
  const Tensor c0 = ref::make_input({M, N}, dt, Layout::contiguous, seed + 2);
  Tensor got = c0.clone(), want = c0.clone();
  cpu::gemm<T>(M, N, K, A, B, got.data<T>(), N, accumulate);
  cpu::gemm_reference<T>(M, N, K, A, B, want.data<T>(), N, accumulate);
  const double tol = std::is_same_v<T, float> ? 1e-5 * std::sqrt(double(K) + 1) : 1e-12 * std::sqrt(double(K) + 1);
  ref::check_close(
      got, {M, N}, [&](const Index& i) { return ref::read(want, i); }, tol, tol,
      fmt::format("gemm {} M={} N={} K={} ta={} tb={} acc={}", dtype_name(dt), M, N, K, ta, tb, accumulate));
}

// Equal values, element for element (exact, as f64 holds every f32).
bool same_values(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.to(DType::f64).to_vector<double>() == b.to(DType::f64).to_vector<double>();
}

}  // namespace

TEST_CASE("gemm matches the triple loop on odd sizes and every transpose combination") {
  const int64_t sizes[] = {1, 7, 33, 257};
  uint64_t seed = 1;
  for (int64_t M : sizes)
    for (int64_t N : sizes)
      for (int64_t K : {int64_t(1), int64_t(33), int64_t(300)})
        for (int t = 0; t < 4; ++t) {
          check_gemm<float>(M, N, K, t & 1, t & 2, false, seed++);
          if ((M + N + K) % 3 == 0) check_gemm<double>(M, N, K, t & 1, t & 2, (t & 1) != 0, seed++);
        }
}

TEST_CASE("gemm on n = 1000 in f32 and f64, threaded") {
  check_gemm<float>(1000, 1000, 1000, false, false, false, 77);
  check_gemm<float>(1000, 1000, 1000, true, true, true, 78);
  check_gemm<double>(1000, 1000, 1000, true, false, false, 90);
  // more columns than one packed B panel, deeper than one K slice
  check_gemm<float>(50, 4100, 600, false, true, true, 91);
}

TEST_CASE("gemm with K = 0 zeroes or keeps C") {
  Tensor c = ones({3, 4});
  const float* none = nullptr;
  cpu::gemm<float>(3, 4, 0, {none, 0, 1}, {none, 4, 1}, c.data<float>(), 4, true);
  CHECK(c.to_vector<float>() == std::vector<float>(12, 1));
  cpu::gemm<float>(3, 4, 0, {none, 0, 1}, {none, 4, 1}, c.data<float>(), 4, false);
  CHECK(c.to_vector<float>() == std::vector<float>(12, 0));
}

TEST_CASE("gemm results do not depend on the thread count") {
  // Threads split rows when C has few column panels and columns otherwise;
  // splitting the rows of a product of up to eight panels, each packs B for
  // itself, and of more, they share it. The shapes cover all of these (thin
  // ones over one and several K slices, and wider than one chunk of 4,096
  // columns: split by columns throughout, and by columns then by rows in the
  // last chunk), with B plain and transposed (a Linear weight) and A
  // column-major (a weight gradient X^T dY).
  const int threads = num_threads();
  for (const auto& [m, k, n] : {std::array<int64_t, 3>{300, 200, 500},
                                {256, 300, 96},
                                {50, 520, 768},
                                {64, 2048, 64},
                                {2048, 64, 64},
                                {256, 256, 200},
                                {1024, 64, 512},
                                {2048, 64, 600},
                                {64, 300, 9000},
                                {2000, 64, 4900}}) {
    const Tensor a = ref::make_input({m, k}, DType::f32, Layout::contiguous, 5);
    const Tensor a_t = a.transpose(0, 1).contiguous().transpose(0, 1);  // the same A, column-major
    const Tensor b = ref::make_input({k, n}, DType::f32, Layout::contiguous, 6);
    const Tensor w = ref::make_input({n, k}, DType::f32, Layout::contiguous, 7);
    const auto products = [&] {
      return std::array{matmul(a, b).to_vector<float>(), matmul(a, w.transpose(0, 1)).to_vector<float>(),
                        matmul(a_t, b).to_vector<float>()};
    };
    set_num_threads(1);
    const auto one = products();
    set_num_threads(std::max(threads, 2));
    const auto many = products();
    set_num_threads(threads);
    CHECK_MESSAGE(one[0] == many[0], m, "x", k, "x", n);
    CHECK_MESSAGE(one[1] == many[1], m, "x", k, "x", n, " with B transposed");
    CHECK_MESSAGE(one[2] == many[2], m, "x", k, "x", n, " with A column-major");
    CHECK_MESSAGE(one[2] == one[0], m, "x", k, "x", n, " A column-major against row-major");
  }
}

TEST_CASE("matmul broadcasts batch axes and reads transposed views in place") {
  uint64_t seed = 300;
  const std::pair<Shape, Shape> cases[] = {
      {{5, 7}, {7, 3}},          {{2, 5, 7}, {2, 7, 3}}, {{2, 5, 7}, {7, 3}}, {{5, 7}, {4, 7, 3}},
      {{3, 1, 5, 7}, {4, 7, 2}}, {{7}, {7, 3}},          {{5, 7}, {7}},       {{7}, {7}},
      {{2, 1, 7}, {7}},          {{0, 5, 7}, {7, 3}},    {{5, 0}, {0, 3}},    {{64, 32, 16}, {64, 16, 32}},
  };
  for (DType dt : {DType::f32, DType::f64})
    for (const auto& [sa, sb] : cases)
      for (Layout la : {Layout::contiguous, Layout::transposed})
        for (Layout lb : {Layout::contiguous, Layout::strided}) {
          const Tensor a = ref::make_input(sa, dt, la, seed++);
          const Tensor b = ref::make_input(sb, dt, lb, seed++);
          const Tensor c = matmul(a, b);
          // Reference: NumPy matmul semantics, spelled out.
          const bool av = sa.size() == 1, bv = sb.size() == 1;
          const int64_t K = sa[sa.size() - 1];
          Shape ba(std::span<const int64_t>(sa.begin(), sa.end() - (av ? 1 : 2)));
          Shape bb(std::span<const int64_t>(sb.begin(), sb.end() - (bv ? 1 : 2)));
          Shape batch = broadcast_shapes(ba, bb, "test");
          Shape out = batch;
          if (!av) out.push_back(sa[sa.size() - 2]);
          if (!bv) out.push_back(sb[sb.size() - 1]);
          ref::check_close(
              c, out,
              [&](const Index& i) {
                const Index bi(i.begin(), i.begin() + batch.size());
                const int64_t row = av ? 0 : i[size_t(batch.size())];
                const int64_t col = bv ? 0 : i.back();
                Index ia = ref::broadcast_index(bi, ba), ib = ref::broadcast_index(bi, bb);
                if (!av) ia.push_back(row);
                ia.push_back(0);
                ib.push_back(0);
                if (!bv) ib.push_back(col);
                double s = 0;
                for (int64_t k = 0; k < K; ++k) {
                  ia[ia.size() - 1] = k;
                  ib[bv ? ib.size() - 1 : ib.size() - 2] = k;
                  s += ref::read(a, ia) * ref::read(b, ib);
                }
                return s;
              },
              dt == DType::f32 ? 1e-5 : 1e-12, dt == DType::f32 ? 1e-5 : 1e-12,
              fmt::format("matmul {} {} @ {} {}/{}", dtype_name(dt), sa, sb, ref::layout_name(la),
                          ref::layout_name(lb)));
        }
}

TEST_CASE("a one-row product has the bits of that row in a taller one") {
  // M = 1 reads B in place (gemm_row.h); each element must still be summed in
  // the same order as in the packed kernels, plain, transposed, with a bias,
  // accumulating, over K deeper than one packed slice, and with column counts
  // that leave groups, single vectors and single columns.
  uint64_t seed = 500;
  for (int64_t n : {5, 32, 64, 100, 200, 257})
    for (int64_t k : {3, 64, 300})
      for (bool transposed : {false, true}) {
        const Tensor x = ref::make_input({7, k}, DType::f32, Layout::contiguous, seed++);
        const Tensor w = ref::make_input({n, k}, DType::f32, Layout::contiguous, seed++);
        const Tensor b = ref::make_input({n}, DType::f32, Layout::contiguous, seed++);
        const Tensor rhs = transposed ? w.transpose(0, 1) : w.transpose(0, 1).contiguous();
        const Tensor row = x.narrow(0, 4, 1);
        CHECK_MESSAGE(matmul(row, rhs).to_vector<float>() == matmul(x, rhs).narrow(0, 4, 1).to_vector<float>(), "n ", n,
                      " k ", k, " transposed ", transposed);
        CHECK_MESSAGE(linear(row, w, b).to_vector<float>() == linear(x, w, b).narrow(0, 4, 1).to_vector<float>(),
                      "linear n ", n, " k ", k);
        // C += A B: one row against the same row of seven
        const cpu::MatrixView<float> B{rhs.data<float>(), rhs.stride(0), rhs.stride(1)};
        const Tensor c0 = ref::make_input({7, n}, DType::f32, Layout::contiguous, seed++);
        Tensor tall = c0.clone(), one = c0.narrow(0, 4, 1).clone();
        cpu::gemm<float>(7, n, k, {x.data<float>(), k, 1}, B, tall.data<float>(), n, true);
        cpu::gemm<float>(1, n, k, {x.data<float>() + 4 * k, k, 1}, B, one.data<float>(), n, true);
        CHECK_MESSAGE(one.to_vector<float>() == tall.narrow(0, 4, 1).to_vector<float>(), "accumulate n ", n, " k ", k,
                      " transposed ", transposed);
      }
}

TEST_CASE("a product of at most one vector of columns has the bits of those columns in a wider one") {
  // N <= the vector lanes runs B's rows as vectors against rows of A, or rows
  // across the lanes when N is at most half a vector (gemm_narrow.h); each
  // element must be summed as in the packed kernels of the wider products
  // (narrow tile at 40 columns, wide tile at 100): plain and transposed A and
  // B, a bias, accumulating, K deeper than one packed slice, row counts around
  // the blocks of 8 and 16 rows, and enough rows to use threads.
  uint64_t seed = 700;
  const int threads = num_threads();
  for (int64_t wide : {40, 100})
    for (int64_t n : {1, 3, 4, 12, 16})
      for (int64_t k : {2, 64, 300})
        for (int64_t m : {5, 37, 3000})
          for (bool transposed : {false, true}) {
            const Tensor x = ref::make_input({m, k}, DType::f32, Layout::contiguous, seed++);
            const Tensor w = ref::make_input({wide, k}, DType::f32, Layout::contiguous, seed++);
            const Tensor b = ref::make_input({wide}, DType::f32, Layout::contiguous, seed++);
            const Tensor rhs = transposed ? w.transpose(0, 1) : w.transpose(0, 1).contiguous();
            const std::string what = fmt::format("n {} of {} k {} m {} transposed {}", n, wide, k, m, transposed);
            const std::vector<float> want = matmul(x, rhs).narrow(1, 0, n).contiguous().to_vector<float>();
            CHECK_MESSAGE(matmul(x, rhs.narrow(1, 0, n)).to_vector<float>() == want, what);
            // A read through a transposed view: its rows are adjacent in memory
            const Tensor xt = x.transpose(0, 1).contiguous().transpose(0, 1);
            CHECK_MESSAGE(matmul(xt, rhs.narrow(1, 0, n)).to_vector<float>() == want, "A transposed, ", what);
            const Tensor w_n = w.narrow(0, 0, n).contiguous(), b_n = b.narrow(0, 0, n).contiguous();
            CHECK_MESSAGE(linear(x, w_n, b_n).to_vector<float>() ==
                              linear(x, w, b).narrow(1, 0, n).contiguous().to_vector<float>(),
                          "linear ", what);
            if (m == 3000) {  // the same bits on one thread
              set_num_threads(1);
              const std::vector<float> one = matmul(x, rhs.narrow(1, 0, n)).to_vector<float>();
              set_num_threads(threads);
              CHECK_MESSAGE(one == want, "one thread ", what);
            }
            // C += A B against the same columns of the wide C += A B
            const Tensor c0 = ref::make_input({m, wide}, DType::f32, Layout::contiguous, seed++);
            Tensor all = c0.clone(), some = c0.narrow(1, 0, n).contiguous();
            const cpu::MatrixView<float> A{x.data<float>(), k, 1};
            cpu::gemm<float>(m, wide, k, A, {rhs.data<float>(), rhs.stride(0), rhs.stride(1)}, all.data<float>(), wide,
                             true);
            cpu::gemm<float>(m, n, k, A, {rhs.data<float>(), rhs.stride(0), rhs.stride(1)}, some.data<float>(), n,
                             true);
            CHECK_MESSAGE(some.to_vector<float>() == all.narrow(1, 0, n).contiguous().to_vector<float>(), "accumulate ",
                          what);
          }
}

TEST_CASE("a product's last panel runs only the vectors its columns fill, with the bits of a wider product") {
  // The last panel of columns runs a tile of as many vectors as its columns
  // fill (the edge kernels of gemm.cpp); each element must still be the chain
  // the full tile sums. Column counts leave 1, 2 and 3 vectors of the wide
  // tile's last panel and of the narrow tile's, in f32 and f64, compared with
  // the same columns of a product one whole panel wider: plain and transposed
  // B, a bias, accumulating, and K over more than one packed slice.
  uint64_t seed = 800;
  for (DType dt : {DType::f32, DType::f64})
    for (int64_t n : {20, 24, 40, 72, 80, 100, 130, 200})
      for (int64_t k : {5, 300})
        for (bool transposed : {false, true}) {
          const int64_t m = 23, wide = n + 64;
          const Tensor x = ref::make_input({m, k}, dt, Layout::contiguous, seed++);
          const Tensor w = ref::make_input({wide, k}, dt, Layout::contiguous, seed++);
          const Tensor b = ref::make_input({wide}, dt, Layout::contiguous, seed++);
          const Tensor rhs = transposed ? w.transpose(0, 1) : w.transpose(0, 1).contiguous();
          const std::string what = fmt::format("{} n {} k {} transposed {}", dtype_name(dt), n, k, transposed);
          const Tensor want = matmul(x, rhs).narrow(1, 0, n).contiguous();
          CHECK_MESSAGE(same_values(matmul(x, rhs.narrow(1, 0, n)), want), what);
          const Tensor w_n = w.narrow(0, 0, n).contiguous(), b_n = b.narrow(0, 0, n).contiguous();
          CHECK_MESSAGE(same_values(linear(x, w_n, b_n), linear(x, w, b).narrow(1, 0, n).contiguous()), "linear ",
                        what);
          const Tensor c0 = ref::make_input({m, wide}, dt, Layout::contiguous, seed++);
          Tensor all = c0.clone(), some = c0.narrow(1, 0, n).contiguous();
          const auto run = [&](auto zero, const Tensor& c, int64_t cols) {
            using T = decltype(zero);
            cpu::gemm<T>(m, cols, k, {x.data<T>(), k, 1}, {rhs.data<T>(), rhs.stride(0), rhs.stride(1)}, c.data<T>(),
                         cols, true);
          };
          if (dt == DType::f32) {
            run(0.f, all, wide);
            run(0.f, some, n);
          } else {
            run(0.0, all, wide);
            run(0.0, some, n);
          }
          CHECK_MESSAGE(same_values(some, all.narrow(1, 0, n).contiguous()), "accumulate ", what);
        }
}

TEST_CASE("a product reads A packed, in place by rows or in place by columns, with the same bits") {
  // gemm.cpp reads a row-major A in place, and a column-major one in place too
  // unless a thread would read it for more than 16 panels of B (1,024 f32
  // columns), when it is packed like any other layout. Each element must be the
  // same chain of fused multiply-adds whichever way A is read: one A as
  // row-major, column-major and strided (always packed) views, with rows that
  // leave a partial micro-tile, columns that leave a partial panel or run past
  // the in-place limit, K over more than one packed slice, a bias and
  // accumulating, on 1 and 2 threads.
  uint64_t seed = 1000;
  for (DType dt : {DType::f32, DType::f64})
    for (int64_t m : {5, 70})
      for (int64_t n : {40, 200, 1100})
        for (int64_t k : {7, 300})
          for (int threads : {1, 2}) {
            test::ThreadCountGuard guard(threads);
            const Tensor rows = ref::make_input({m, k}, dt, Layout::contiguous, seed++);
            const Tensor columns = rows.transpose(0, 1).contiguous();  // [k, m]: A read through swapped strides
            Tensor spaced = zeros({m, 2 * k}, dt);                     // A in every second column
            spaced.slice(1, 0, 2 * k, 2).copy_(rows);
            const Tensor b = ref::make_input({k, n}, dt, Layout::contiguous, seed++);
            const Tensor bias = ref::make_input({n}, dt, Layout::contiguous, seed++);
            const Tensor c0 = ref::make_input({m, n}, dt, Layout::contiguous, seed++);
            const std::string what = fmt::format("{} m {} n {} k {} threads {}", dtype_name(dt), m, n, k, threads);
            // C = A B + bias, then C0 + A B, for A read one way.
            const auto product = [&](auto zero, const Tensor& a, int64_t rs, int64_t cs) {
              using T = decltype(zero);
              const cpu::MatrixView<T> A{a.data<T>(), rs, cs}, B{b.data<T>(), n, 1};
              Tensor with_bias = zeros({m, n}, dt), accumulated = c0.clone();
              cpu::gemm<T>(m, n, k, A, B, with_bias.data<T>(), n, false, bias.data<T>());
              cpu::gemm<T>(m, n, k, A, B, accumulated.data<T>(), n, true);
              return std::pair{with_bias, accumulated};
            };
            const auto each_way = [&](auto zero) {
              return std::array{product(zero, rows, k, 1), product(zero, columns, 1, m),
                                product(zero, spaced, 2 * k, 2)};
            };
            const auto got = dt == DType::f32 ? each_way(0.f) : each_way(0.0);
            for (size_t way = 1; way < got.size(); ++way) {
              CHECK_MESSAGE(same_values(got[way].first, got[0].first), what, " way ", way, " with bias");
              CHECK_MESSAGE(same_values(got[way].second, got[0].second), what, " way ", way, " accumulating");
            }
          }
}

TEST_CASE("matmul errors name the shapes") {
  CHECK_THROWS_WITH_AS(matmul(zeros({2, 3}), zeros({4, 5})),
                       "matmul: inner dimensions differ: [2, 3] @ [4, 5] (3 vs 4)", Error);
  CHECK_THROWS_WITH_AS(matmul(zeros({2, 2, 3}), zeros({3, 3, 5})),
                       "matmul: batch shapes of [2, 2, 3] and [3, 3, 5] do not broadcast", Error);
  CHECK_THROWS_WITH_AS(matmul(zeros({2, 3}), zeros({3, 2}, DType::f64)), "matmul: dtypes differ (f32 and f64)", Error);
  CHECK_THROWS_WITH_AS(matmul(zeros({2, 3}, DType::i64), zeros({3, 2}, DType::i64)),
                       "matmul: expected f32 or f64, got i64", Error);
  CHECK_THROWS_WITH_AS(matmul(scalar(1), zeros({3})), "matmul: operands need at least one axis, got [] and [3]", Error);
}

TEST_CASE("linear adds the bias inside the GEMM, wide and narrow tiles alike") {
  uint64_t seed = 900;
  for (DType dt : {DType::f32, DType::f64})
    for (int64_t n_out : {1, 7, 32, 33, 64, 130})
      for (int64_t in : {1, 5, 300})
        for (bool with_bias : {false, true}) {
          const Tensor x = ref::make_input({3, 25, in}, dt, Layout::strided, seed++);
          const Tensor w = ref::make_input({n_out, in}, dt, Layout::contiguous, seed++);
          const Tensor b = with_bias ? ref::make_input({n_out}, dt, Layout::contiguous, seed++) : Tensor();
          const Tensor y = linear(x, w, b);
          REQUIRE(y.shape() == Shape{3, 25, n_out});
          const double tol = dt == DType::f32 ? 1e-5 * std::sqrt(double(in)) : 1e-12;
          ref::check_close(
              y, y.shape(),
              [&](const Index& i) {
                double s = with_bias ? ref::read(b, {i[2]}) : 0.0;
                for (int64_t k = 0; k < in; ++k) s += ref::read(x, {i[0], i[1], k}) * ref::read(w, {i[2], k});
                return s;
              },
              tol, tol, fmt::format("linear {} out {} in {} bias {}", dtype_name(dt), n_out, in, with_bias));
        }
  // K = 0: the bias alone
  CHECK(linear(zeros({2, 0}), zeros({3, 0}), tensor({1, 2, 3})).to_vector<float>() ==
        std::vector<float>{1, 2, 3, 1, 2, 3});
  CHECK_THROWS_WITH_AS(linear(zeros({2, 4}), zeros({3, 5})),
                       "linear: x of shape [2, 4] does not end in in = 5 (weight [3, 5])", Error);
  CHECK_THROWS_WITH_AS(linear(zeros({2, 4}), zeros({3, 4}), zeros({4})), "linear: bias of shape [4] should be [3]",
                       Error);
}
