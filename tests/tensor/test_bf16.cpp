// The bf16 storage dtype: its rounding (against a brute-force nearest-value
// search), conversions to and from every dtype on the CPU and the reference
// backend, fill, item and printing, matmul and linear (exact products, f32
// sums, one rounding) against a double-precision definition, the AVX512-BF16
// GEMM against a double loop, and the clear error of an op that does not take bf16.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "tensor/bf16.h"
#include "tensor/cpu/gemm_bf16.h"
#include "tensor/ops.h"
#include "tensor/parallel.h"
#include "tensor/random.h"
#include "tensor/vec_math.h"
#include "tests/error_of.h"

using namespace gradlab;
using gradlab::test::error_of;

namespace {

uint32_t bits_of(float f) { return uint32_t(vm::to_bits(f)); }
float float_of(uint32_t b) { return vm::from_bits(int32_t(b)); }

// The bf16 nearest to a finite f, found by comparing the two bf16 values that
// bracket it in double; a tie goes to the one with an even last bit.
uint16_t nearest_bf16(float f) {
  const uint32_t b = bits_of(f);
  const uint16_t down = uint16_t(b >> 16), up = uint16_t(down + 1);  // same sign, next magnitude
  const double d = std::fabs(double(f) - double(bf16_to_float(down)));
  const double u = std::fabs(double(bf16_to_float(up)) - double(f));
  if (d < u) return down;
  if (u < d) return up;
  return (down & 1) ? up : down;
}

// The bits of a bf16 tensor's elements, in order.
std::vector<uint16_t> bf16_bits(const Tensor& t) {
  const Tensor c = t.to(Device::cpu).contiguous();
  std::vector<uint16_t> out(size_t(c.numel()));
  std::memcpy(out.data(), c.data_ptr(), out.size() * sizeof(uint16_t));
  return out;
}

}  // namespace

TEST_CASE("bf16 rounding: to nearest, ties to even, every bf16 round-trips") {
  CHECK(float_to_bf16(1.0f) == 0x3f80);
  CHECK(float_to_bf16(-0.0f) == 0x8000);
  CHECK(float_to_bf16(float_of(0x3f808000)) == 0x3f80);  // tie, 0x3f80 even: down
  CHECK(float_to_bf16(float_of(0x3f818000)) == 0x3f82);  // tie, 0x3f81 odd: up
  CHECK(float_to_bf16(float_of(0x3f80c000)) == 0x3f81);  // above the tie: up
  CHECK(float_to_bf16(float_of(0x3f807fff)) == 0x3f80);  // below the tie: down
  CHECK(float_to_bf16(std::numeric_limits<float>::max()) == 0x7f80);  // rounds up to inf
  CHECK(float_to_bf16(std::numeric_limits<float>::infinity()) == 0x7f80);
  CHECK(float_to_bf16(-std::numeric_limits<float>::infinity()) == 0xff80);
  const uint16_t nan = float_to_bf16(float_of(0x7f800001));  // a signalling NaN whose payload is all below bit 16
  CHECK(std::isnan(bf16_to_float(nan)));
  CHECK((nan & 0x0040) != 0);  // quiet
  CHECK(bf16_to_float(float_to_bf16(float_of(0x00010000))) == float_of(0x00010000));  // a subnormal survives

  for (uint32_t b = 0; b < 0x10000; ++b) {  // every pattern but NaNs widens exactly and narrows back
    const float f = bf16_to_float(uint16_t(b));
    if (std::isnan(f)) continue;
    REQUIRE(float_to_bf16(f) == b);
  }
  uint64_t state = 12345;
  for (int i = 0; i < 200000; ++i) {  // random finite floats against the brute-force nearest value
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    const float f = float_of(uint32_t(state >> 32));
    if (!std::isfinite(f) || std::fabs(f) >= float_of(0x7f7f8000)) continue;  // rounding to inf checked above
    REQUIRE(float_to_bf16(f) == nearest_bf16(f));
  }
}

TEST_CASE("bf16 tensors: conversions from and to every dtype agree on cpu and ref") {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> values = {0.f, -0.f, 1.f, -2.5f, 3.14159f, 1e-30f, 65504.f, 3e38f, inf, -inf, nan,
                                     float_of(0x3f808000), float_of(0x3f818000)};
  for (const Device device : {Device::cpu, Device::ref}) {
    CAPTURE(device);
    const Tensor f32 = from_vector(values).to(device);
    const Tensor h = f32.to(DType::bf16);
    CHECK(h.dtype() == DType::bf16);
    CHECK(h.itemsize() == 2);
    const std::vector<uint16_t> bits = bf16_bits(h);
    for (size_t i = 0; i < values.size(); ++i) {
      if (std::isnan(values[i]))
        CHECK(std::isnan(bf16_to_float(bits[i])));
      else
        CHECK(bits[i] == float_to_bf16(values[i]));
    }
    // Widening is exact, and f64 narrows through f32.
    const std::vector<float> back = h.to_vector<float>();
    for (size_t i = 0; i < values.size(); ++i)
      if (!std::isnan(values[i])) CHECK(bits_of(back[i]) == uint32_t(bits[i]) << 16);
    const Tensor from_f64 = f32.to(DType::f64).to(DType::bf16);
    CHECK(bf16_bits(from_f64) == bits);
    // Integers and b8 both ways; b8 reads NaN as true, as f32 does.
    const Tensor ints = tensor({-3, 0, 7, 300}, {4}, DType::i64).to(device);
    CHECK(ints.to(DType::bf16).to_vector<float>() == std::vector<float>{-3, 0, 7, 300});
    CHECK(tensor({2.75, -1.5}, {2}).to(device).to(DType::bf16).to(DType::i32).to_vector<int32_t>() ==
          std::vector<int32_t>{2, -1});
    const Tensor mask = h.to(DType::b8);
    const Tensor mask_f32 = f32.to(DType::b8);
    CHECK(eq(mask.to(Device::cpu), mask_f32.to(Device::cpu)).to(DType::i64).to_vector<int64_t>() ==
          std::vector<int64_t>(values.size(), 1));
    CHECK(tensor({1, 0, 1}, {3}, DType::b8).to(device).to(DType::bf16).to_vector<float>() ==
          std::vector<float>{1, 0, 1});
    // fill, item, a transposed bf16 -> bf16 copy.
    CHECK(full({2, 3}, 1.00390625, DType::bf16, device).to_vector<float>() == std::vector<float>(6, 1.0f));  // a tie
    CHECK(scalar(-0.3, DType::bf16, device).item<float>() == bf16_to_float(float_to_bf16(-0.3f)));
    const Tensor m = arange(0, 12, 1, DType::f32, device).reshape({3, 4}).to(DType::bf16);
    const Tensor t = m.transpose(0, 1).contiguous();
    CHECK(t.dtype() == DType::bf16);
    CHECK(t.to_vector<float>() == std::vector<float>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11});
  }
  CHECK(fmt::format("{}", tensor({1.5, -2}, {2}).to(DType::bf16)) == "Tensor([2], bf16) [1.5, -2]");
}

TEST_CASE("bf16 random tensors are the f32 draws rounded once") {
  Generator g1(11), g2(11);
  CHECK(bf16_bits(randn({5, 7}, g1, DType::bf16)) == bf16_bits(randn({5, 7}, g2).to(DType::bf16)));
  CHECK(bf16_bits(uniform({9}, -2, 3, g1, DType::bf16)) == bf16_bits(uniform({9}, -2, 3, g2).to(DType::bf16)));
}

TEST_CASE("bf16 matmul and linear: exact products summed in f32, rounded once") {
  Generator gen(7);
  // A double-precision definition: widen, sum in double, round to bf16. The
  // kernels sum in f32, so they may differ from it by one bf16 step.
  auto check_close = [](const Tensor& got, const Tensor& a64, const Tensor& b64, const Tensor& bias64) {
    Tensor want = matmul(a64, b64);
    if (bias64.defined()) want = add(want, bias64);
    const std::vector<float> g = got.to_vector<float>();
    const std::vector<double> w = want.to_vector<double>();
    REQUIRE(g.size() == w.size());
    for (size_t i = 0; i < g.size(); ++i) {
      const double step = std::ldexp(1.0, std::ilogb(w[i]) - 7);  // one bf16 step at |w|
      CHECK(std::fabs(double(g[i]) - w[i]) <= step);
    }
  };
  for (const Device device : {Device::cpu, Device::ref}) {
    CAPTURE(device);
    const Tensor a = randn({2, 5, 37}, gen).to(DType::bf16).to(device);
    const Tensor b = randn({37, 9}, gen).to(DType::bf16).to(device);
    const Tensor y = matmul(a, b);
    CHECK(y.dtype() == DType::bf16);
    CHECK(y.shape() == Shape{2, 5, 9});
    check_close(y, a.to(DType::f64), b.to(DType::f64), Tensor());
    // A transposed operand is read in place.
    const Tensor bt = randn({9, 37}, gen).to(DType::bf16).to(device).transpose(0, 1);
    check_close(matmul(a, bt), a.to(DType::f64), bt.to(DType::f64), Tensor());
    // linear with and without bias.
    const Tensor x = randn({6, 37}, gen).to(DType::bf16).to(device);
    const Tensor w = randn({4, 37}, gen).to(DType::bf16).to(device);
    const Tensor bias = randn({4}, gen).to(DType::bf16).to(device);
    check_close(linear(x, w, bias), x.to(DType::f64), w.to(DType::f64).transpose(0, 1), bias.to(DType::f64));
    check_close(linear(x, w, Tensor()), x.to(DType::f64), w.to(DType::f64).transpose(0, 1), Tensor());
  }
  // Without the AVX512-BF16 kernel, the CPU's result is its own f32 GEMM on
  // the widened operands, rounded once.
  const Tensor a = randn({8, 64}, gen).to(DType::bf16), b = randn({64, 16}, gen).to(DType::bf16);
  if (!cpu::gemm_bf16_available())
    CHECK(bf16_bits(matmul(a, b)) == bf16_bits(matmul(a.to(DType::f32), b.to(DType::f32)).to(DType::bf16)));
  CHECK(error_of([&] { matmul(a, b.to(DType::f32)); }).find("dtypes differ") != std::string::npos);
}

TEST_CASE("the AVX512-BF16 GEMM against a double-precision loop: tails, odd and long K, strides, bias, threads") {
  if (!cpu::gemm_bf16_available()) {
    MESSAGE("skipped: this build has no AVX512-BF16 kernel (matmul widens bf16 to f32 instead)");
    return;
  }
  Generator gen(21);
  auto bf16_values = [&](int64_t n) {
    std::vector<uint16_t> v(static_cast<size_t>(n));
    const std::vector<float> f = randn({n}, gen).to_vector<float>();
    for (size_t i = 0; i < v.size(); ++i) v[i] = float_to_bf16(f[i]);
    return v;
  };
  struct Case {
    int64_t M, N, K;
    bool transposed_a, transposed_b, bias;
  };
  const int threads_before = num_threads();
  for (const Case c : {Case{1, 1, 1, false, false, false}, Case{8, 32, 2, false, false, false},
                       Case{13, 45, 7, false, false, true}, Case{9, 33, 513, true, false, false},
                       Case{70, 100, 1100, false, true, true}, Case{3, 300, 64, true, true, false},
                       Case{65, 17, 31, false, false, true}, Case{5, 40, 515, false, true, false}}) {
    CAPTURE(c.M);
    CAPTURE(c.N);
    CAPTURE(c.K);
    const std::vector<uint16_t> a = bf16_values(c.M * c.K), b = bf16_values(c.K * c.N);
    std::vector<float> bias(size_t(c.N));
    for (int64_t j = 0; j < c.N; ++j) bias[size_t(j)] = float(j % 7) - 3.5f;
    // Element (i, k) of A at i * rs + k * cs: row-major, or stored transposed.
    const cpu::MatrixView<uint16_t> A{a.data(), c.transposed_a ? 1 : c.K, c.transposed_a ? c.M : 1};
    const cpu::MatrixView<uint16_t> B{b.data(), c.transposed_b ? 1 : c.N, c.transposed_b ? c.K : 1};
    const int64_t ldc = c.N + 3;  // a padded row stride: the padding must stay untouched
    std::vector<float> got(size_t(c.M * ldc), -7.0f);
    set_num_threads(1);
    cpu::gemm_bf16(c.M, c.N, c.K, A, B, got.data(), ldc, c.bias ? bias.data() : nullptr);
    set_num_threads(2);
    std::vector<float> got2(size_t(c.M * ldc), -7.0f);
    cpu::gemm_bf16(c.M, c.N, c.K, A, B, got2.data(), ldc, c.bias ? bias.data() : nullptr);
    CHECK(got == got2);  // each element summed by one thread, in one order
    for (int64_t i = 0; i < c.M; ++i) {
      for (int64_t j = 0; j < c.N; ++j) {
        double want = c.bias ? bias[size_t(j)] : 0.0, scale = std::fabs(want);
        for (int64_t k = 0; k < c.K; ++k) {
          const double p = double(bf16_to_float(A.data[i * A.row_stride + k * A.col_stride])) *
                           double(bf16_to_float(B.data[k * B.row_stride + j * B.col_stride]));
          want += p;
          scale += std::fabs(p);
        }
        // f32 sums of exact products: within K + 2 f32 roundings of the sum of magnitudes.
        REQUIRE(std::fabs(double(got[size_t(i * ldc + j)]) - want) <= double(c.K + 2) * 0x1p-24 * scale);
      }
      for (int64_t j = c.N; j < ldc; ++j) REQUIRE(got[size_t(i * ldc + j)] == -7.0f);
    }
  }
  set_num_threads(threads_before);
}

TEST_CASE("bf16: an op that does not compute on it names itself and says what to do") {
  const Tensor h = ones({3}, DType::bf16);
  for (const auto& [name, op] : std::vector<std::pair<std::string, std::function<void()>>>{
           {"add", [&] { add(h, h); }},
           {"exp", [&] { exp(h); }},
           {"sum", [&] { sum(h); }},
           {"gather", [&] { gather(h, 0, zeros({2}, DType::i64)); }},
           {"where", [&] { where(ones({3}, DType::b8), h, h); }}}) {
    CAPTURE(name);
    const std::string message = error_of(op);
    CHECK(message.find(name) != std::string::npos);
    CHECK(message.find("bf16") != std::string::npos);
    CHECK(message.find(".to(DType::f32)") != std::string::npos);
  }
}
