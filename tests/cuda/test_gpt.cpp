// Model level: the same GPT, initialised identically, trained for 20 AdamW
// steps on random tokens on the CPU and on CUDA; the CUDA losses must track the
// CPU's step by step (f32: the GPU sums in another order, so the runs drift
// apart by rounding only), and the final parameters must agree. Generation on
// CUDA (KV cache or not, greedy or sampled) picks the CPU's tokens.
#include <doctest/doctest.h>

#include "nn/gpt.h"
#include "optim/adam.h"
#include "tests/cuda/cuda_check.h"

using namespace gradlab;
using namespace gradlab::nn;

namespace {
std::vector<double> train(GPT& gpt, Device device, const std::vector<Tensor>& batches, int steps) {
  optim::AdamW opt(gpt.trainable_parameters(), {.lr = 3e-3});
  std::vector<double> losses;
  for (int step = 0; step < steps; ++step) {
    const Tensor& tokens = batches[size_t(step) % batches.size()];
    const Tensor input = tokens.narrow(1, 0, tokens.size(1) - 1).contiguous().to(device);
    const Tensor target = tokens.narrow(1, 1, tokens.size(1) - 1).contiguous().to(device);
    opt.zero_grad();
    const Var loss = cross_entropy(gpt(input), target);
    loss.backward();
    opt.step();
    losses.push_back(loss.item());
  }
  return losses;
}
}  // namespace

TEST_CASE("20 GPT training steps on CUDA track the CPU losses") {
  REQUIRE_GPU_OR_SKIP();
  const GPTConfig config{.vocab = 64, .context = 64, .d_model = 128, .heads = 4, .layers = 2, .dtype = DType::f32};
  Generator init_cpu(5), init_gpu(5);
  GPT cpu_model(config, init_cpu), gpu_model(config, init_gpu);
  gpu_model.to(Device::cuda);
  Generator data(6);
  std::vector<Tensor> batches;
  for (int i = 0; i < 4; ++i) batches.push_back(randint(0, config.vocab, {8, 65}, data));
  const std::vector<double> lc = train(cpu_model, Device::cpu, batches, 20);
  const std::vector<double> lg = train(gpu_model, Device::cuda, batches, 20);
  std::string table;
  double worst = 0;
  for (size_t i = 0; i < lc.size(); ++i) {
    worst = std::max(worst, std::fabs(lc[i] - lg[i]));
    table += fmt::format(" {}: {:.6f}/{:.6f}", i, lc[i], lg[i]);
  }
  MESSAGE("GPT losses cpu/cuda:", table, "; largest difference ", worst);
  for (size_t i = 0; i < lc.size(); ++i)
    CHECK_MESSAGE(std::fabs(lc[i] - lg[i]) <= 1e-3 * std::max(1.0, std::fabs(lc[i])), "step ", i, ": cpu ", lc[i],
                  " cuda ", lg[i]);
  CHECK(lg.back() < lg.front());  // it trained
  // Parameters: Adam turns a rounding-level difference of a near-zero gradient
  // into a full-size step of either sign, so single elements may differ by a
  // few lr; each tensor as a whole must still agree to 1% of its norm.
  const auto pc = cpu_model.named_parameters(), pg = gpu_model.named_parameters();
  for (size_t i = 0; i < pc.size(); ++i) {
    const Tensor a = pc[i].second.value(), b = pg[i].second.value().to(Device::cpu);
    const double rel = norm(a - b).item() / std::max(norm(a).item(), 1e-12);
    CHECK_MESSAGE(rel < 1e-2, "parameter ", pc[i].first, ": |cpu - cuda| / |cpu| = ", rel);
  }
}

TEST_CASE("a GPT on CUDA keeps its positions and logits on the GPU") {
  REQUIRE_GPU_OR_SKIP();
  const GPTConfig config{.vocab = 32, .context = 16, .d_model = 32, .heads = 2, .layers = 1, .dtype = DType::f32};
  Generator init(1);
  GPT model(config, init);
  model.to(Device::cuda);
  const Tensor prompt = cuda_test::gpu(from_vector<int64_t>({1, 2, 3, 4}, {2, 2}));
  const Var logits = model(prompt);
  CHECK(logits.value().is_cuda());
  CHECK(logits.shape() == Shape{2, 2, 32});
}

TEST_CASE("Module::to moves a GPT; generation on CUDA picks the CPU's tokens") {
  REQUIRE_GPU_OR_SKIP();
  // f64, so that no near-tie of two logits can round differently on the two devices.
  const GPTConfig config{.vocab = 13, .context = 16, .d_model = 32, .heads = 4, .layers = 2, .dtype = DType::f64};
  Generator init_cpu(5), init_gpu(5);
  GPT cpu_model(config, init_cpu), gpu_model(config, init_gpu);
  gpu_model.to(Device::cuda);
  for (const auto& [name, p] : gpu_model.named_parameters()) CHECK_MESSAGE(p.value().is_cuda(), name);
  Generator data(8);
  const Tensor prompt = randint(0, config.vocab, {3, 4}, data);
  for (bool greedy : {true, false})
    for (bool cache : {true, false}) {
      CAPTURE(greedy);
      CAPTURE(cache);
      const GenerateOptions o{.temperature = 0.8, .top_k = 5, .greedy = greedy, .use_cache = cache};
      Generator sample_cpu(9), sample_gpu(9);                          // Philox: the same numbers on both devices
      const Tensor a = cpu_model.generate(prompt, 14, sample_cpu, o);  // 18 tokens: past the context of 16
      const Tensor b = gpu_model.generate(cuda_test::gpu(prompt), 14, sample_gpu, o);
      CHECK(b.is_cuda());
      CHECK(cuda_test::same_values(a, b));
    }
  // And back: the values are the CPU model's, bit for bit.
  gpu_model.to(Device::cpu);
  const auto pc = cpu_model.named_parameters(), pg = gpu_model.named_parameters();
  for (size_t i = 0; i < pc.size(); ++i)
    CHECK_MESSAGE(cuda_test::same_values(pc[i].second.value(), pg[i].second.value()), pc[i].first);
}
