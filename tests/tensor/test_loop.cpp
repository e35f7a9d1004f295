// The strided loop engine under the CPU's elementwise kernels (tensor/cpu/loop.h):
// for_each_run must visit every element of [begin, end) exactly once, in C
// order, whether it hands the kernel one run or a block of whole rows, for
// merged, broadcast (stride-0) and transposed operands and for ranges that
// start and end inside a row, as a parallel split makes them.
#include <doctest/doctest.h>

#include <vector>

#include "tensor/cpu/loop.h"
#include "tensor/ops.h"

using namespace gradlab;

namespace {

// The byte offsets from each operand's base, in the order for_each_run visits
// them over [begin, end), and how many calls it made with more than one row.
struct Visit {
  std::vector<int64_t> offsets[2];
  int64_t block_calls = 0;
};

Visit visit(const cpu::StridedLoop<2>& L, int64_t begin, int64_t end) {
  Visit v;
  cpu::for_each_run(L, begin, end, [&](char* const* p, int64_t n, const int64_t* s, int64_t rows, const int64_t* rs) {
    if (rows > 1) ++v.block_calls;
    cpu::for_each_row<2>(p, rows, rs, [&](char* const* q) {
      for (int k = 0; k < 2; ++k)
        for (int64_t i = 0; i < n; ++i) v.offsets[k].push_back(q[k] + i * s[k] - L.base[k]);
    });
  });
  return v;
}

// The byte offset of C-order element `lin` of t (any strides).
int64_t offset_of(const Tensor& t, int64_t lin) {
  int64_t off = 0;
  for (int d = int(t.dim()) - 1; d >= 0; --d) {
    off += (lin % t.size(d)) * t.strides()[d];
    lin /= t.size(d);
  }
  return off * int64_t(t.itemsize());
}

void check_every_range(const Tensor& out, const Tensor& in, const char* what) {
  CAPTURE(what);
  REQUIRE(out.shape() == in.shape());
  const cpu::StridedLoop<2> L = cpu::make_loop<2>({&out, &in});
  const int64_t numel = out.numel();
  // Every range that starts and ends at a multiple of 3 or at the ends: inside rows, on row edges, across axes.
  std::vector<int64_t> cuts;
  for (int64_t c = 0; c < numel; c += 3) cuts.push_back(c);
  cuts.push_back(numel);
  int64_t blocks = 0;
  for (const int64_t b : cuts)
    for (const int64_t e : cuts) {
      if (e <= b) continue;
      const Visit v = visit(L, b, e);
      blocks += v.block_calls;
      REQUIRE(int64_t(v.offsets[0].size()) == e - b);
      for (int64_t lin = b; lin < e; ++lin) {
        CAPTURE(b);
        CAPTURE(e);
        CAPTURE(lin);
        REQUIRE(v.offsets[0][size_t(lin - b)] == offset_of(out, lin));
        REQUIRE(v.offsets[1][size_t(lin - b)] == offset_of(in, lin));
      }
    }
  if (L.ndim > 1) CHECK(blocks > 0);  // whole rows did come as blocks
}

}  // namespace

TEST_CASE("for_each_run visits every element once, in C order, in runs and blocks of rows") {
  const Tensor out = zeros({3, 5, 4});
  // a bias broadcast over the rows: the loop keeps 3 axes
  check_every_range(out, zeros({3, 1, 4}).expand({3, 5, 4}), "broadcast over the middle axis");
  // one value per row: stride 0 along the run
  check_every_range(out, zeros({3, 5, 1}).expand({3, 5, 4}), "broadcast along the run");
  // transposed input: nothing merges
  check_every_range(out, zeros({4, 5, 3}).permute({2, 1, 0}), "transposed");
  // contiguous: one merged axis, runs only
  check_every_range(out, zeros({3, 5, 4}), "contiguous");
  // a single row
  check_every_range(zeros({1, 7}), zeros({1, 1}).expand({1, 7}), "one row");
}

TEST_CASE("elementwise ops over blocks of short rows match the row-by-row result") {
  // [rows, C] + [C] for short C, with the parallel split landing inside rows.
  for (const int64_t C : {1, 3, 4, 8, 17}) {
    CAPTURE(C);
    const int64_t R = 301;
    const Tensor x = arange(0, double(R * C), 1, DType::f32).view({R, C});
    const Tensor b = arange(0, double(C), 1, DType::f32) * 1000.0;
    const Tensor y = (x + b).contiguous();
    const Tensor s = sigmoid(x * 0.01 + b);
    const float* yd = y.data<float>();
    const Tensor s_rows = s.contiguous();
    for (int64_t r = 0; r < R; ++r)
      for (int64_t c = 0; c < C; ++c) {
        REQUIRE(yd[r * C + c] == float(r * C + c) + float(c) * 1000.f);
        // each row alone through the same op: the same bits
        if (r % 50 == 0) {
          const Tensor one = sigmoid(x.narrow(0, r, 1) * 0.01 + b);
          REQUIRE(one.contiguous().data<float>()[c] == s_rows.data<float>()[r * C + c]);
        }
      }
  }
}
