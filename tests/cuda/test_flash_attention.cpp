// The flash attention kernels (tensor/cuda/flash_attention.cu) against the
// scalar reference kernels (tensor/cuda/attention.cu) on the same GPU: out,
// lse, dq, dk and dv, causal or not, with and without a key mask, strided
// inputs, T = 1, odd T and T not a multiple of either tile (64 forward, 32
// backward), and the head dimensions of the GPT configs (32 and 64) beside
// ones that need padding (8, 100) and the largest taken (128).
//
// Tolerances. f32 (FMA path): the sums run in another order than the
// reference's, so the elementwise f32 tolerance of the other attention test.
// TF32 and bf16: the tensor cores round every operand of QK^T, PV, dO V^T,
// P^T dO, dS^T Q and dS K to 11 (TF32) or 8 (bf16) significant bits, unit
// roundoff u = 2^-11 or 2^-8, and sum in f32. A result passes through at most
// three such products in a chain (S, then P V; or S and dP, then dS K), each
// adding about u relative to the size of its operands, so the largest error is
// checked against the largest entry of the reference (or 1, the size of the
// unit-normal inputs, where the exact result is 0, as dq and dk are at T = 1):
// at most 10 u (5e-3 for TF32, 4e-2 for bf16). The CPU emulation of these
// kernels (tests/cuda_emulated) sees at most 1.6 u and 2.1 u on the same
// shapes. A wrong mask, tile edge or rescale gives errors of the order of the
// entries themselves.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "tensor/cuda/flash_attention.h"
#include "tensor/fused_layers.h"
#include "tests/cuda/cuda_check.h"
#include "tests/cuda/switches.h"

using namespace gradlab;
using namespace cuda_test;

namespace {

const char* name_of(cuda::MmaPrecision p) {
  return p == cuda::MmaPrecision::f32 ? "f32" : p == cuda::MmaPrecision::tf32 ? "tf32" : "bf16";
}

struct Results {
  Tensor out, lse, dq, dk, dv;
};

Results run(CudaAttentionKernel kernel, cuda::MmaPrecision precision, const Tensor& q, const Tensor& k,
            const Tensor& v, const Tensor& dout, bool causal, const Tensor& mask) {
  cuda_set_attention_kernel(kernel);
  cuda_allow_tf32(precision == cuda::MmaPrecision::tf32);
  cuda_allow_bf16(precision == cuda::MmaPrecision::bf16);
  const AttentionForward f = attention_forward(q, k, v, causal, mask);
  const AttentionGrads g = attention_backward(dout, q, k, v, f.out, f.lse, causal, mask);
  return {f.out, f.lse, g.dq, g.dk, g.dv};
}

// max |ref - x| / max(max |ref|, 1) over the entries where both are finite, and
// whether the non-finite entries (lse of a query that sees no key) agree.
struct Scaled {
  double error = 0;
  bool same_infinities = true;
};
Scaled scaled_error(const Tensor& ref, const Tensor& x) {
  const std::vector<double> a = ref.to(Device::cpu).to_vector<double>(), b = x.to(Device::cpu).to_vector<double>();
  double diff = 0, top = 0;
  Scaled s;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!std::isfinite(a[i]) || !std::isfinite(b[i])) {
      s.same_infinities = s.same_infinities && a[i] == b[i];
      continue;
    }
    diff = std::max(diff, std::fabs(a[i] - b[i]));
    top = std::max(top, std::fabs(a[i]));
  }
  s.error = diff / std::max(top, 1.0);
  return s;
}

struct Case {
  int64_t B, H, T, D;
  bool causal, masked, strided;
};

const Case kCases[] = {
    {1, 1, 1, 64, true, false, false},   {1, 2, 1, 32, false, false, false},  {2, 3, 17, 8, true, false, false},
    {1, 2, 65, 64, false, false, true},  {2, 2, 100, 32, true, true, false},  {2, 2, 70, 32, false, true, false},
    {1, 2, 130, 64, true, false, true},  {1, 1, 33, 100, false, false, false}, {1, 2, 97, 128, true, false, false},
    {2, 12, 128, 64, true, false, true}, {1, 4, 64, 32, true, false, false},  {1, 1, 257, 64, true, true, true},
};

// GRADLAB_TEST_QUICK=1 (bench/gpu_check.sh under racecheck) keeps the small cases only.
bool quick() {
  const char* v = std::getenv("GRADLAB_TEST_QUICK");
  return v != nullptr && std::string(v) != "0";
}

void check_case(const Case& c, cuda::MmaPrecision precision, Generator& gen) {
  if (quick() && c.B * c.H * c.T > 300) return;
  const std::string what =
      fmt::format("flash {} B{} H{} T{} D{}{}{}{}", name_of(precision), c.B, c.H, c.T, c.D,
                  c.causal ? " causal" : "", c.masked ? " masked" : "", c.strided ? " strided" : "");
  auto make = [&] {
    const Tensor x = c.strided ? randn({c.B, c.T, c.H, c.D}, gen).permute({0, 2, 1, 3})  // as a fused qkv gives
                               : randn({c.B, c.H, c.T, c.D}, gen);
    return gpu(x);
  };
  const Tensor q = make(), k = make(), v = make();
  const Tensor dout = gpu(randn({c.B, c.H, c.T, c.D}, gen));
  Tensor mask;
  if (c.masked) {
    Tensor m = gt(rand({c.B, c.T}, gen), 0.3);
    m.select(0, 0).narrow(0, 0, 1).fill_(0.0);  // batch 0's first key hidden: a causal query sees nothing
    mask = gpu(m);
  }
  if (!cuda::flash_attention_supported(q, precision)) {
    MESSAGE(what, ": skipped: this GPU cannot hold the flash kernels' tiles for this head dimension");
    return;
  }
  const Results ref = run(CudaAttentionKernel::reference, cuda::MmaPrecision::f32, q, k, v, dout, c.causal, mask);
  const Results got = run(CudaAttentionKernel::flash, precision, q, k, v, dout, c.causal, mask);
  const std::pair<const char*, std::pair<Tensor, Tensor>> parts[] = {{"out", {ref.out, got.out}},
                                                                      {"lse", {ref.lse, got.lse}},
                                                                      {"dq", {ref.dq, got.dq}},
                                                                      {"dk", {ref.dk, got.dk}},
                                                                      {"dv", {ref.dv, got.dv}}};
  for (const auto& [name, pair] : parts) {
    const auto& [r, x] = pair;
    if (precision == cuda::MmaPrecision::f32) {
      CHECK_PARITY(what + " " + name, r.to(Device::cpu), x, Tol{2e-5, 2e-4});
      continue;
    }
    const double limit = precision == cuda::MmaPrecision::tf32 ? 5e-3 : 4e-2;
    const Scaled s = scaled_error(r, x);
    CHECK_MESSAGE(s.same_infinities, what, " ", name, ": the -inf entries differ");
    CHECK_MESSAGE(s.error <= limit, what, " ", name, ": max|diff| / max|ref| = ", s.error, " > ", limit);
  }
}

}  // namespace

TEST_CASE("flash attention (f32 FMA) matches the reference kernels") {
  REQUIRE_GPU_OR_SKIP();
  SwitchScope restore;
  Generator gen(20);
  for (const Case& c : kCases) check_case(c, cuda::MmaPrecision::f32, gen);
}

TEST_CASE("flash attention on TF32 tensor cores matches the reference kernels") {
  REQUIRE_GPU_OR_SKIP();
  SwitchScope restore;
  Generator gen(21);
  for (const Case& c : kCases) check_case(c, cuda::MmaPrecision::tf32, gen);
}

TEST_CASE("flash attention on bf16 tensor cores matches the reference kernels") {
  REQUIRE_GPU_OR_SKIP();
  SwitchScope restore;
  Generator gen(22);
  for (const Case& c : kCases) check_case(c, cuda::MmaPrecision::bf16, gen);
}

TEST_CASE("f64 and head dimensions above 128 fall back to the reference kernels") {
  REQUIRE_GPU_OR_SKIP();
  Generator gen(23);
  const Tensor q64 = gpu(randn({1, 1, 8, 16}, gen, DType::f64));
  const Tensor q200 = gpu(randn({1, 1, 8, 200}, gen));
  CHECK_FALSE(cuda::flash_attention_supported(q64, cuda::MmaPrecision::f32));
  CHECK_FALSE(cuda::flash_attention_supported(q200, cuda::MmaPrecision::f32));
  const AttentionForward f = attention_forward(q200, q200, q200, true);  // taken by the reference kernel
  CHECK(f.out.is_cuda());
}
