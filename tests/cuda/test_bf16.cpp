// The bf16 storage dtype on the GPU against the CPU backend and against the
// rounding functions of tensor/bf16.h:
// - copies to and from bf16 (f32, f64, i32, i64, b8 and bf16 itself), with
//   ties, NaNs (signalling, quiet, signed, with payloads), infinities,
//   negative zero, subnormals and values that round up to infinity, through
//   contiguous, expanded-and-transposed sources and transposed destinations.
//   Every result must hold exactly the bits that the documented conversion
//   gives (to bf16: as a copy to f32, then float_to_bf16; from bf16:
//   bf16_to_float, then as a copy from f32), and so equal the CPU's bit for
//   bit. The one freedom: a NaN that the GPU's own f64 <-> f32 conversion
//   handles (f64 -> bf16, bf16 -> f64) only has to stay a NaN, since the GPU
//   may return its canonical NaN there, as the f64 <-> f32 copies may;
// - fill (and full/zeros), contiguous and strided;
// - matmul (plain, transposed operand views, batched with broadcast and
//   permuted batch axes, matrix-vector, K = 0) and linear (with and without a
//   bias, strided weight) on bf16 operands, whose products are exact and whose
//   sums are f32 on both devices, rounded to bf16 once. The two devices sum in
//   different orders, so they may differ by a rounding of the last bf16 place:
//   each element is checked within 2 bf16 ulps of the CPU's, plus the f32
//   summation error, and within half an ulp plus that error of the exact f64
//   product of the same bf16 operands;
// - the other kernels' refusal of bf16, naming the op (as the CPU's do).
// Skipped visibly without a GPU.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "tensor/backend.h"
#include "tensor/bf16.h"
#include "tensor/creation.h"
#include "tensor/random.h"
#include "tensor/vec_math.h"
#include "tests/cuda/cuda_check.h"
#include "tests/error_of.h"

using namespace gradlab;
using cuda_test::gpu;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

template <class T>
uint64_t bits_of(T v) {
  uint64_t b = 0;
  std::memcpy(&b, &v, sizeof v);
  return b;
}
float float_from_bits(uint32_t b) { return vm::from_bits(int32_t(b)); }

// The raw bits of every element of t (any dtype, any device, any strides), in C order.
std::vector<uint64_t> raw_bits(const Tensor& t) {
  const Tensor h = t.to(Device::cpu).contiguous();
  const size_t size = h.itemsize();
  const char* p = static_cast<const char*>(h.data_ptr());
  std::vector<uint64_t> bits(size_t(h.numel()), 0);
  for (size_t i = 0; i < bits.size(); ++i) std::memcpy(&bits[i], p + i * size, size);
  return bits;
}

// A 1-D bf16 tensor on the CPU holding these bits.
Tensor bf16_tensor(const std::vector<uint16_t>& bits) {
  Tensor t = Tensor::empty({int64_t(bits.size())}, DType::bf16, Device::cpu);
  if (!bits.empty()) std::memcpy(t.data_ptr(), bits.data(), bits.size() * sizeof(uint16_t));
  return t;
}

// The values of a bf16 tensor, widened exactly on the host.
std::vector<double> bf16_values(const Tensor& t) {
  REQUIRE(t.dtype() == DType::bf16);
  std::vector<double> v;
  for (uint64_t b : raw_bits(t)) v.push_back(bf16_to_float(uint16_t(b)));
  return v;
}

bool is_nan_bits(uint64_t b, DType dt) {
  switch (dt) {
    case DType::f32: return (b & 0x7fffffffu) > 0x7f800000u;
    case DType::f64: return (b & 0x7fffffffffffffffull) > 0x7ff0000000000000ull;
    case DType::bf16: return (b & 0x7fffu) > 0x7f80u;
    default: return false;
  }
}

// Empty when `got` holds exactly the bits `want` (in C order); otherwise the
// first differences. With nan_any, any NaN matches any NaN.
std::string bits_mismatch(const std::vector<uint64_t>& want, const Tensor& got, bool nan_any) {
  const std::vector<uint64_t> have = raw_bits(got);
  if (have.size() != want.size()) return fmt::format("{} elements, expected {}", have.size(), want.size());
  std::string first;
  int bad = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    const bool ok =
        have[i] == want[i] || (nan_any && is_nan_bits(have[i], got.dtype()) && is_nan_bits(want[i], got.dtype()));
    if (!ok && bad++ < 5) first += fmt::format(" [{}] {:#x} (expected {:#x});", i, have[i], want[i]);
  }
  return bad == 0 ? "" : fmt::format("{} of {} elements differ:{}", bad, want.size(), first);
}

#define CHECK_BITS(what, want, got, nan_any)                             \
  do {                                                                   \
    const std::string gl_msg_ = bits_mismatch((want), (got), (nan_any)); \
    CHECK_MESSAGE(gl_msg_.empty(), (what), ": ", gl_msg_);               \
  } while (0)

// src (1-D, on the CPU) converted to dt on each device: contiguous; from an
// expanded, transposed view ([n, 2], element (i, j) = src[i]); and written by
// copy_ into a transposed destination. Every result must hold the bits `want`
// (one per element of src).
void check_copy(const std::string& what, const Tensor& src, DType dt, const std::vector<uint64_t>& want, bool nan_any) {
  const int64_t n = src.numel();
  std::vector<uint64_t> want2;  // [n, 2]
  for (uint64_t b : want) want2.insert(want2.end(), {b, b});
  for (Device dev : {Device::cpu, Device::cuda}) {
    const std::string where = fmt::format("{} on {}", what, dev);
    const Tensor s = src.to(dev);
    const Tensor plain = s.to(dt);
    CHECK(plain.dtype() == dt);
    CHECK_BITS(where, want, plain, nan_any);
    CHECK_BITS(where + ", strided source", want2, s.unsqueeze(0).expand({2, n}).mT().to(dt), nan_any);
    Tensor dst = Tensor::empty({2, n}, dt, dev).mT();  // [n, 2], strides [1, n]
    dst.copy_(s.unsqueeze(1));
    CHECK_BITS(where + ", strided destination", want2, dst, nan_any);
  }
}

// src of C++ type T converted to bf16: the documented bits are
// float_to_bf16 of the value as a copy to f32 makes it.
template <class T>
void check_to_bf16(const std::string& what, const Tensor& src, bool nan_any = false) {
  std::vector<uint64_t> want;
  const Tensor h = src.contiguous();
  const T* p = static_cast<const T*>(h.data_ptr());
  for (int64_t i = 0; i < h.numel(); ++i) want.push_back(float_to_bf16(static_cast<float>(p[i])));
  check_copy(what, src, DType::bf16, want, nan_any);
}

// bf16 bits converted to T (dtype dt): bf16_to_float, then as a copy from f32 converts.
template <class T>
void check_from_bf16(const std::string& what, const std::vector<uint16_t>& bits, DType dt, bool nan_any = false) {
  std::vector<uint64_t> want;
  for (uint16_t b : bits) {
    const float f = bf16_to_float(b);
    if constexpr (std::is_same_v<T, bool>)
      want.push_back(f != 0.0f ? 1 : 0);
    else
      want.push_back(bits_of(static_cast<T>(f)));
  }
  check_copy(what, bf16_tensor(bits), dt, want, nan_any);
}

// f32 bit patterns for the rounding to bf16: exact values, ties either way,
// just off ties, NaNs, infinities, zeros, subnormals, overflow to infinity.
const std::vector<uint32_t> kF32Bits = {
    0x00000000, 0x80000000,  // +0, -0
    0x3f800000, 0xbf800000,  // +-1
    0x3f808000,              // 1 + 2^-8: a tie, down to the even 1.0 (0x3f80)
    0x3f818000,              // a tie between 0x3f81 and 0x3f82: up to the even 0x3f82
    0x3f808001, 0x3f807fff,  // just above and below a tie
    0xbf80ffff, 0xc0490fdb,  // -1.0078 (up in magnitude), -pi
    0x7f800000, 0xff800000,  // +-inf
    0x7fc00000, 0xffc00001,  // quiet NaNs, one negative with a low payload
    0x7f800001, 0x7fa00000,  // signalling NaNs: made quiet, sign and high payload kept
    0x7f7fffff, 0xff7fffff,  // +-FLT_MAX: round up to +-inf
    0x7f7f8000,              // a tie above the largest bf16 (odd 0x7f7f): up to inf
    0x7f7f7fff,              // just below that tie: the largest bf16
    0x00000001, 0x80000001,  // the smallest subnormals: to +-0
    0x00008000, 0x00018000,  // subnormal ties: to 0x0000 and 0x0002
    0x00400000, 0x80010000,  // subnormals held exactly
    0x00800000,              // the smallest normal
    0x4b800001,              // 2^24 + 2
};

// bf16 bit patterns read back: zeros, normals, subnormals, infinities, NaNs.
const std::vector<uint16_t> kBf16Bits = {0x0000, 0x8000, 0x3f80, 0xbf80, 0x3f81, 0x4049, 0xc2f7, 0x7f7f, 0xff7f,
                                         0x0080, 0x0001, 0x8001, 0x007f, 0x7f80, 0xff80, 0x7fc0, 0xffc1, 0x7f81};

// bf16 values within range of i32 (and so of i64), each finite: truncated toward zero.
const std::vector<uint16_t> kBf16IntBits = {0x0000,
                                            0x8000,
                                            0x3f80,
                                            0xbfc0 /* -1.5 */,
                                            0x4020 /* 2.5 */,
                                            0x437f /* 255 */,
                                            0xc700 /* -32768 */,
                                            0x4e80 /* 2^30 */,
                                            0xcf00 /* -2^31 */,
                                            0x3f00 /* 0.5 */,
                                            0xbf7f /* -0.996 */,
                                            0x0001 /* subnormal */,
                                            0x4b80 /* 2^24 */,
                                            0xc8c3 /* -399360 */};

}  // namespace

TEST_CASE("bf16 copies: f32 <-> bf16, bit for bit") {
  REQUIRE_GPU_OR_SKIP();
  std::vector<float> f32;
  for (uint32_t b : kF32Bits) f32.push_back(float_from_bits(b));
  check_to_bf16<float>("f32 -> bf16", from_vector(f32));
  check_from_bf16<float>("bf16 -> f32", kBf16Bits, DType::f32);

  // Round trips of values already in bf16 are exact; random values cover every exponent's rounding.
  Generator gen(21);
  const Tensor r = randn({4099}, gen) * 1e3;
  check_to_bf16<float>("f32 -> bf16 (random)", r);
  const Tensor rb = r.to(DType::bf16);
  CHECK_BITS("bf16 -> f32 -> bf16", raw_bits(rb), gpu(rb).to(DType::f32).to(DType::bf16), false);
}

TEST_CASE("bf16 copies: f64, i32, i64 and b8 <-> bf16") {
  REQUIRE_GPU_OR_SKIP();
  // f64 goes through f32 (two roundings): 1 + 2^-8 + 2^-30 rounds to the f32
  // tie 1 + 2^-8, then down to 1.0, though it is above the bf16 tie.
  const std::vector<double> f64 = {0.0,
                                   -0.0,
                                   1.0,
                                   1.00390625,
                                   1.00390625 + 0x1p-30,
                                   1.01171875,
                                   -3.14159,
                                   1e300,
                                   -1e300,
                                   3.4e38,
                                   3.3895313892515355e38,
                                   kInf,
                                   -kInf,
                                   kNaN,
                                   -kNaN,
                                   1e-40,
                                   1e-50,
                                   -1e-50,
                                   123456.789,
                                   -2.5e-5,
                                   0x1p-133,
                                   0x1p-134,
                                   0x1.8p-133};
  check_to_bf16<double>("f64 -> bf16", from_vector(f64), /*nan_any=*/true);
  check_from_bf16<double>("bf16 -> f64", kBf16Bits, DType::f64, /*nan_any=*/true);

  const int64_t p24 = int64_t(1) << 24;
  const std::vector<int64_t> i64 = {0,
                                    1,
                                    -1,
                                    255,
                                    257 /* tie: 256 */,
                                    259 /* tie: 260 */,
                                    p24 + 1,
                                    p24 + (1 << 16) + 1 /* f32 tie, then bf16 tie: 2^24 */,
                                    std::numeric_limits<int64_t>::max(),
                                    std::numeric_limits<int64_t>::min(),
                                    -123456789,
                                    (int64_t(1) << 53) + 1};
  check_to_bf16<int64_t>("i64 -> bf16", from_vector(i64));
  check_from_bf16<int64_t>("bf16 -> i64", kBf16IntBits, DType::i64);

  const std::vector<int32_t> i32 = {
      0, -1, 65535, 65537, std::numeric_limits<int32_t>::max(), std::numeric_limits<int32_t>::min(), -8388609};
  check_to_bf16<int32_t>("i32 -> bf16", from_vector(i32));
  check_from_bf16<int32_t>("bf16 -> i32", kBf16IntBits, DType::i32);

  const Tensor b8 = from_vector(std::vector<float>{0, 1, 0, 2.5f, -1, 0}).to(DType::b8);
  check_to_bf16<bool>("b8 -> bf16", b8);
  // NaN, infinities and subnormals are true; both zeros false.
  check_from_bf16<bool>("bf16 -> b8", kBf16Bits, DType::b8);
}

TEST_CASE("bf16 copies: bf16 -> bf16 keeps the bits through any strides") {
  REQUIRE_GPU_OR_SKIP();
  std::vector<uint64_t> want(kBf16Bits.begin(), kBf16Bits.end());
  check_copy("bf16 -> bf16", bf16_tensor(kBf16Bits), DType::bf16, want, false);
  // A transposed 2-D view made contiguous, on the GPU, against the CPU.
  Generator gen(22);
  const Tensor m = randn({37, 29}, gen).to(DType::bf16);
  CHECK_BITS("bf16 transpose", raw_bits(m.mT().contiguous()), gpu(m).mT().contiguous(), false);
  CHECK_BITS("bf16 clone", raw_bits(m), gpu(m).clone(), false);
}

TEST_CASE("bf16 fill") {
  REQUIRE_GPU_OR_SKIP();
  const double values[] = {
      0.0, -0.0, 1.0, 1.00390625, 1.0 / 3.0, -2.5e-5, 1e300, -kInf, kNaN, 3.3895313892515355e38, 3.4e38, 1e-45, 1e-40};
  for (double v : values) {
    const std::vector<uint64_t> want(24, float_to_bf16(static_cast<float>(v)));
    const std::string what = fmt::format("fill {}", v);
    CHECK_BITS(what + " (cpu)", want, full({4, 6}, v, DType::bf16), false);
    CHECK_BITS(what, want, full({4, 6}, v, DType::bf16, Device::cuda), false);
    Tensor strided = Tensor::empty({6, 4}, DType::bf16, Device::cuda).mT();
    strided.fill_(v);
    CHECK_BITS(what + ", strided", want, strided, false);
  }
  CHECK_BITS("zeros", std::vector<uint64_t>(5, 0), zeros({5}, DType::bf16, Device::cuda), false);
  CHECK_BITS("ones", std::vector<uint64_t>(5, 0x3f80), ones({5}, DType::bf16, Device::cuda), false);
}

namespace {

// The spacing of bf16 numbers at |x| (8 significant bits), down to the subnormals'.
double bf16_ulp(double x) {
  if (x == 0 || !std::isfinite(x)) return std::ldexp(1.0, -133);
  int e = 0;
  std::frexp(x, &e);  // |x| in [2^(e-1), 2^e)
  return std::max(std::ldexp(1.0, e - 8), std::ldexp(1.0, -133));
}

// A bf16 GEMM result of the GPU against the CPU's and against `exact`, the
// product of the same bf16 operand values in f64; `mass` is the product of
// their absolute values and `terms` the number of summed terms (K, plus one
// for a bias). f32 sums of `terms` terms are within terms * 2^-24 * mass of
// exact (doubled for margin, and for tensor-core accumulation); the final
// rounding adds half a bf16 ulp, and the two devices may land one rounding
// apart, so: |gpu - cpu| <= 2 ulp + 2 gamma mass, |gpu - exact| <= ulp / 2 + gamma mass.
void check_gemm(const std::string& what, const Tensor& cpu_result, const Tensor& gpu_result, const Tensor& exact,
                const Tensor& mass, int64_t terms) {
  REQUIRE_MESSAGE(cpu_result.dtype() == DType::bf16, what, ": the CPU result is ", cpu_result.dtype());
  REQUIRE_MESSAGE(gpu_result.dtype() == DType::bf16, what, ": the GPU result is ", gpu_result.dtype());
  REQUIRE_MESSAGE(gpu_result.is_cuda(), what, ": the GPU result is not on the GPU");
  REQUIRE(cpu_result.shape() == gpu_result.shape());
  REQUIRE(exact.shape() == gpu_result.shape());
  const std::vector<double> c = bf16_values(cpu_result), g = bf16_values(gpu_result);
  const std::vector<double> x = exact.to(DType::f64).contiguous().to_vector<double>();
  const std::vector<double> m = mass.to(DType::f64).contiguous().to_vector<double>();
  const double gamma = 2.0 * double(terms + 2) * std::ldexp(1.0, -24);
  int bad = 0;
  std::string first;
  for (size_t i = 0; i < g.size(); ++i) {
    const double sum_error = gamma * m[i];
    const bool near_cpu =
        std::fabs(g[i] - c[i]) <= 2 * bf16_ulp(std::max(std::fabs(g[i]), std::fabs(c[i]))) + 2 * sum_error;
    const bool near_exact =
        std::fabs(g[i] - x[i]) <= 0.5 * bf16_ulp(std::max(std::fabs(g[i]), std::fabs(x[i]))) + sum_error;
    if (!(near_cpu && near_exact) && bad++ < 5)
      first += fmt::format(" {} gpu {:.9g} cpu {:.9g} exact {:.9g};",
                           cuda_test::index_string(int64_t(i), gpu_result.shape()), g[i], c[i], x[i]);
  }
  CHECK_MESSAGE(bad == 0, what, ": ", bad, " of ", g.size(), " elements out of bounds:", first);
}

Tensor bf16_randn(const Shape& shape, Generator& gen) { return randn(shape, gen).to(DType::bf16); }
Tensor wide(const Tensor& t) { return t.to(DType::f64); }

// matmul(a, b) of bf16 operands on both devices, checked by check_gemm.
void check_matmul(const std::string& what, const Tensor& a, const Tensor& b, const Tensor& ga, const Tensor& gb) {
  const int64_t K = a.dim() == 1 ? a.size(0) : a.size(-1);
  check_gemm(what, matmul(a, b), matmul(ga, gb), matmul(wide(a), wide(b)), matmul(abs(wide(a)), abs(wide(b))), K);
}

}  // namespace

TEST_CASE("bf16 matmul through cuBLAS (f32 sums, one rounding)") {
  REQUIRE_GPU_OR_SKIP();
  Generator gen(23);
  const Tensor a = bf16_randn({37, 53}, gen), b = bf16_randn({53, 29}, gen);
  check_matmul("matmul", a, b, gpu(a), gpu(b));
  check_matmul("matmul a^T b^T (transposed views)", b.mT(), a.mT(), gpu(b).mT(), gpu(a).mT());
  const Tensor at = bf16_randn({53, 37}, gen);
  check_matmul("matmul a^T b", at.mT(), b, gpu(at).mT(), gpu(b));
  const Tensor big_a = bf16_randn({64, 512}, gen), big_b = bf16_randn({512, 48}, gen);
  check_matmul("matmul K = 512", big_a, big_b, gpu(big_a), gpu(big_b));

  const Tensor ba = bf16_randn({3, 4, 17, 23}, gen), bb = bf16_randn({4, 23, 11}, gen);
  check_matmul("batched matmul, broadcast batch", ba, bb, gpu(ba), gpu(bb));
  check_matmul("batched matmul, permuted", ba.permute({1, 0, 2, 3}), bb.unsqueeze(1), gpu(ba).permute({1, 0, 2, 3}),
               gpu(bb).unsqueeze(1));
  check_matmul("batched matmul, transposed operands", bb.mT(), ba.mT(), gpu(bb).mT(), gpu(ba).mT());

  const Tensor v = bf16_randn({53}, gen);
  check_matmul("matrix-vector", a, v, gpu(a), gpu(v));
  check_matmul("vector-matrix", v, b, gpu(v), gpu(b));

  const Tensor empty_k = Tensor::empty({4, 0}, DType::bf16), k0 = Tensor::empty({0, 3}, DType::bf16);
  const Tensor z = matmul(gpu(empty_k), gpu(k0));
  CHECK(z.dtype() == DType::bf16);
  CHECK_BITS("matmul with K = 0", std::vector<uint64_t>(12, 0), z, false);
}

TEST_CASE("bf16 linear through cuBLAS, with and without a bias") {
  REQUIRE_GPU_OR_SKIP();
  Generator gen(24);
  const Tensor x = bf16_randn({2, 9, 53}, gen), w = bf16_randn({31, 53}, gen), bias = bf16_randn({31}, gen);
  check_gemm("linear with bias", linear(x, w, bias), linear(gpu(x), gpu(w), gpu(bias)),
             linear(wide(x), wide(w), wide(bias)), linear(abs(wide(x)), abs(wide(w)), abs(wide(bias))), 54);
  check_gemm("linear without bias", linear(x, w), linear(gpu(x), gpu(w)), linear(wide(x), wide(w)),
             linear(abs(wide(x)), abs(wide(w))), 53);
  const Tensor wt = w.mT().contiguous();  // [53, 31]: weight as a transposed view
  check_gemm("linear, strided weight", linear(x, wt.mT(), bias), linear(gpu(x), gpu(wt).mT(), gpu(bias)),
             linear(wide(x), wide(w), wide(bias)), linear(abs(wide(x)), abs(wide(w)), abs(wide(bias))), 54);
  // Bias only (K = 0): the bias's bits in every row.
  const Tensor x0 = Tensor::empty({5, 0}, DType::bf16), w0 = Tensor::empty({31, 0}, DType::bf16);
  std::vector<uint64_t> rows;
  const std::vector<uint64_t> bias_bits = raw_bits(bias);
  for (int r = 0; r < 5; ++r) rows.insert(rows.end(), bias_bits.begin(), bias_bits.end());
  CHECK_BITS("linear with K = 0", rows, linear(gpu(x0), gpu(w0), gpu(bias)), false);
}

TEST_CASE("CUDA kernels that do not compute on bf16 refuse it by name") {
  REQUIRE_GPU_OR_SKIP();
  using gradlab::test::error_of;
  const Backend& be = backend(Device::cuda);
  const Tensor a = zeros({4}, DType::bf16, Device::cuda), out = zeros({4}, DType::bf16, Device::cuda);
  const Tensor mask = zeros({4}, DType::b8, Device::cuda), index = zeros({4}, DType::i64, Device::cuda);
  const Tensor one = zeros({1}, DType::bf16, Device::cuda);
  const std::vector<int> axes = {0};
  struct Case {
    const char* op;
    std::function<void()> call;
  };
  const Case cases[] = {
      {"lt", [&] { be.compare(CompareOp::lt, a, a, mask); }},  // compare names its comparison, as on the CPU
      {"where", [&] { be.where(mask, a, a, out); }},
      {"gather", [&] { be.gather(a, 0, index, out); }},
      {"index_select", [&] { be.index_select(a, 0, index, out); }},
      {"exp", [&] { be.unary(UnaryOp::exp, {}, a, out); }},
      {"add", [&] { be.binary(BinaryOp::add, a, a, out); }},
      {"reduce", [&] { be.reduce(ReduceOp::sum, a, std::span<const int>(axes), one); }},
      {"softmax", [&] { be.softmax(a, 0, false, out); }},
      {"cumsum", [&] { be.cumsum(a, 0, out); }},
  };
  for (const Case& c : cases) {
    const std::string e = error_of(c.call);
    CHECK_MESSAGE(e.find(c.op) != std::string::npos, c.op, ": got '", e, "'");
    CHECK_MESSAGE(e.find("bf16") != std::string::npos, c.op, ": got '", e, "'");
  }
  check_pending_errors();  // nothing was launched
}
