// The f32 precision switches of the CUDA backend (tensor/device.h): bf16
// tensor cores for GEMMs (cublasGemmEx, CUBLAS_COMPUTE_32F_FAST_16BF), and a
// GPT trained with bf16 (and with TF32) tensor cores tracking the f32 run; and
// a GPT whose Linear layers multiply bf16 tensors (GPTConfig::matmul_dtype)
// tracking the f32 run, on the GPU and on the CPU alike.
//
// GEMM tolerance: with operands rounded to bf16 (unit roundoff u = 2^-8) and
// products summed in f32, each term a_ik b_kj is off by at most about 2u of
// its size, so |C_bf16 - C| <= 2u sum_k |a_ik| |b_kj| plus f32 summation
// error (K 2^-24 of the same sum, negligible here); checked with 1e-2 (2.6 u)
// of that sum per element. Whether cuBLAS used bf16 at all (the compute type
// allows it, it does not force it) is reported, not required.
#include <doctest/doctest.h>

#include <optional>

#include "nn/gpt.h"
#include "optim/adam.h"
#include "tests/cuda/cuda_check.h"
#include "tests/cuda/switches.h"

using namespace gradlab;
using namespace cuda_test;

TEST_CASE("bf16 GEMMs stay within their rounding bound of f32") {
  REQUIRE_GPU_OR_SKIP();
  SwitchScope restore;
  Generator gen(40);
  for (const auto& [M, K, N, batch] : {std::tuple{64, 256, 48, 1}, std::tuple{33, 77, 19, 3}}) {
    const Tensor a = randn({batch, M, K}, gen), b = randn({batch, K, N}, gen);
    const Tensor exact = matmul(a.to(DType::f64), b.to(DType::f64));
    const Tensor bound = matmul(abs(a).to(DType::f64), abs(b).to(DType::f64)) * 1e-2;
    cuda_allow_bf16(true);
    const Tensor c16 = matmul(gpu(a), gpu(b)).to(Device::cpu).to(DType::f64);
    cuda_allow_bf16(false);
    const Tensor c32 = matmul(gpu(a), gpu(b)).to(Device::cpu).to(DType::f64);
    const double over = max(abs(c16 - exact) - bound).item();
    CHECK_MESSAGE(over <= 0, "bf16 GEMM ", M, "x", K, "x", N, " batch ", batch, ": exceeds its bound by ", over);
    if (max(abs(c16 - c32)).item() == 0)  // FAST_16BF allows bf16, it does not force it
      MESSAGE("bf16 GEMM ", M, "x", K, "x", N, " equals f32 bit for bit: cuBLAS kept f32 for this shape");
  }
}

namespace {
std::vector<double> train_gpt(int steps, Device device = Device::cuda,
                              std::optional<DType> matmul_dtype = std::nullopt) {
  nn::GPTConfig config{.vocab = 64, .context = 64, .d_model = 128, .heads = 4, .layers = 2};
  config.matmul_dtype = matmul_dtype;
  Generator init(5), data(6);
  nn::GPT model(config, init);
  model.to(device);
  optim::AdamW opt(model.trainable_parameters(), {.lr = 3e-3});
  std::vector<double> losses;
  for (int step = 0; step < steps; ++step) {
    const Tensor tokens = randint(0, config.vocab, {8, 65}, data);
    const Tensor input = tokens.narrow(1, 0, 64).contiguous().to(device);
    const Tensor target = tokens.narrow(1, 1, 64).contiguous().to(device);
    opt.zero_grad();
    const Var loss = cross_entropy(model(input), target);
    loss.backward();
    opt.step();
    losses.push_back(loss.item());
  }
  return losses;
}
}  // namespace

// Mixed precision of the honest minimal kind: weights, activations, gradients
// and Adam's state stay f32; only the GEMMs' and attention's products run on
// bf16 (or TF32) tensor cores. The losses of 20 steps must track the f32 run's
// within 2% (bf16) and 0.5% (TF32): rounding that small changes the path of
// training only slowly, while a broken kernel moves the loss at once.
TEST_CASE("GPT training with bf16 and TF32 tensor cores tracks f32") {
  REQUIRE_GPU_OR_SKIP();
  SwitchScope restore;
  const std::vector<double> f32 = train_gpt(20);
  cuda_allow_tf32(true);
  const std::vector<double> tf32 = train_gpt(20);
  cuda_allow_tf32(false);
  cuda_allow_bf16(true);
  const std::vector<double> bf16 = train_gpt(20);
  std::string table;
  for (size_t i = 0; i < f32.size(); ++i) table += fmt::format(" {}: {:.4f}/{:.4f}/{:.4f}", i, f32[i], tf32[i], bf16[i]);
  MESSAGE("GPT losses f32/tf32/bf16:", table);
  for (size_t i = 0; i < f32.size(); ++i) {
    CHECK_MESSAGE(std::fabs(tf32[i] - f32[i]) <= 5e-3 * f32[i], "tf32 step ", i, ": ", tf32[i], " vs ", f32[i]);
    CHECK_MESSAGE(std::fabs(bf16[i] - f32[i]) <= 2e-2 * f32[i], "bf16 step ", i, ": ", bf16[i], " vs ", f32[i]);
  }
  CHECK(bf16.back() < bf16.front());
}

// bf16 storage: the Linear layers' products on bf16 tensors (cublasGemmEx with
// CUDA_R_16BF), f32 master weights. The GPU's run and the CPU's (whose bf16
// products are f32 GEMMs on widened operands) each track f32 within 2%, as the
// bf16 tensor-core switch does above.
TEST_CASE("GPT training with bf16 matmul_dtype tracks f32 on the GPU and on the CPU") {
  REQUIRE_GPU_OR_SKIP();
  SwitchScope restore;
  const std::vector<double> f32 = train_gpt(20);
  const std::vector<double> gpu_bf16 = train_gpt(20, Device::cuda, DType::bf16);
  const std::vector<double> cpu_bf16 = train_gpt(20, Device::cpu, DType::bf16);
  for (size_t i = 0; i < f32.size(); ++i) {
    CHECK_MESSAGE(std::fabs(gpu_bf16[i] - f32[i]) <= 2e-2 * f32[i], "gpu step ", i, ": ", gpu_bf16[i], " vs ", f32[i]);
    CHECK_MESSAGE(std::fabs(cpu_bf16[i] - f32[i]) <= 2e-2 * f32[i], "cpu step ", i, ": ", cpu_bf16[i], " vs ", f32[i]);
  }
  CHECK(gpu_bf16.back() < gpu_bf16.front());
}
