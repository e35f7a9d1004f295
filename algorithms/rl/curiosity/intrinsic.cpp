// The shared parts of the curiosity modules: the factory, the batch helpers
// and the minibatch training loop of LearnedIntrinsicReward.
#include "algorithms/rl/curiosity/intrinsic.h"

#include <cmath>

#include "algorithms/rl/curiosity/apt.h"
#include "algorithms/rl/curiosity/re3.h"
#include "algorithms/rl/curiosity/disagreement.h"
#include "algorithms/rl/curiosity/dymecu.h"
#include "algorithms/rl/curiosity/icm.h"
#include "algorithms/rl/curiosity/rnd.h"
#include "algorithms/rl/curiosity/temporal_inconsistency.h"
#include "optim/adam.h"
#include "optim/finite.h"
#include "tensor/error.h"

namespace gradlab::rl::curiosity {

std::vector<std::string> intrinsic_reward_names() {
  return {"icm",        "icm_stopgrad", "rnd",    "disagreement", "re3",           "apt",
          "ti",         "ti_uniform",   "ti_ema", "dymecu",       "dymecu_own", "dymecu_paramavg"};
}

std::unique_ptr<IntrinsicReward> make_intrinsic_reward(const std::string& method, CuriosityOptions options,
                                                       uint64_t seed) {
  GL_CHECK(options.obs_dim >= 1 && options.n_actions >= 1,
           "make_intrinsic_reward: obs_dim and n_actions must be >= 1, got {} and {}", options.obs_dim,
           options.n_actions);
  try {
    backend(options.device);  // a build without CUDA, or no GPU: say so before building any network
  } catch (const Error& e) {
    fail("make_intrinsic_reward: '{}' cannot run on device {}: {}", method, device_name(options.device), e.what());
  }
  if (method == "icm") return std::make_unique<ICM>(options, seed);
  if (method == "icm_stopgrad") {
    options.icm_forward_trains_encoder = false;
    return std::make_unique<ICM>(options, seed);
  }
  if (method == "rnd") return std::make_unique<RND>(options, seed);
  if (method == "disagreement") return std::make_unique<Disagreement>(options, seed);
  if (method == "re3") return std::make_unique<RE3>(options, seed);
  if (method == "apt") return std::make_unique<APT>(options, seed);
  if (method == "ti") return std::make_unique<TemporalInconsistency>(options, seed);
  if (method == "ti_uniform") {
    options.ti_variational = false;
    return std::make_unique<TemporalInconsistency>(options, seed);
  }
  if (method == "ti_ema") {
    options.ti_ema_target = true;
    return std::make_unique<TemporalInconsistency>(options, seed);
  }
  if (method == "dymecu") return std::make_unique<DyMeCu>(options, seed);  // options.dymecu_memory as given
  if (method == "dymecu_own" || method == "dymecu_paramavg") {
    options.dymecu_memory = method.substr(7);
    return std::make_unique<DyMeCu>(options, seed);
  }
  std::string known;
  for (const auto& n : intrinsic_reward_names()) known += (known.empty() ? "" : ", ") + n;
  fail("make_intrinsic_reward: unknown method '{}' (known: {})", method, known);
}

Tensor concat_obs_action(const Tensor& obs, const Tensor& actions, int64_t n_actions) {
  return concat({obs, one_hot(actions, n_actions, obs.dtype())}, 1);
}

Var normalize_rows(const Var& x) {
  return x / maximum(norm(x, 2.0, {1}, true), Var(scalar(1e-8, x.dtype(), x.device())));
}

std::vector<Tensor> minibatch_indices(int64_t n, int64_t parts, Generator& gen) {
  GL_CHECK(parts >= 1 && parts <= n, "minibatch_indices: cannot split {} rows into {} minibatches", n, parts);
  const Tensor perm = argsort(rand({n}, gen));
  std::vector<Tensor> out;
  for (int64_t p = 0; p < parts; ++p) {
    const int64_t start = p * n / parts, end = (p + 1) * n / parts;
    out.push_back(perm.slice(0, start, end).contiguous());
  }
  return out;
}

TransitionBatch select_rows(const TransitionBatch& batch, const Tensor& index) {
  const Tensor i = index.to(batch.obs.device());  // drawn on the host (minibatch_indices): one copy
  return {index_select(batch.obs, 0, i), index_select(batch.actions, 0, i), index_select(batch.next_obs, 0, i)};
}

void check_batch(const TransitionBatch& b, const CuriosityOptions& o, const std::string& who) {
  GL_CHECK(b.obs.defined() && b.actions.defined() && b.next_obs.defined(), "{}: batch has an undefined tensor", who);
  for (const Tensor* t : {&b.obs, &b.actions, &b.next_obs})
    GL_CHECK(t->device() == o.device,
             "{}: the batch is on {}, the module on {} (CuriosityOptions::device): move the batch there", who,
             device_name(t->device()), device_name(o.device));
  const int64_t n = b.obs.dim() == 2 ? b.obs.size(0) : -1;
  GL_CHECK(b.obs.dim() == 2 && b.obs.size(1) == o.obs_dim && b.next_obs.shape() == b.obs.shape(),
           "{}: expected obs and next_obs [N, {}], got {} and {}", who, o.obs_dim, b.obs.shape(), b.next_obs.shape());
  GL_CHECK(b.actions.shape() == Shape{n} && (b.actions.dtype() == DType::i64 || b.actions.dtype() == DType::i32),
           "{}: expected actions [{}] i64, got {} {}", who, n, b.actions.shape(), b.actions.dtype());
  GL_CHECK(n >= 1, "{}: empty batch", who);
  const Tensor a = b.actions.to(DType::i64);
  const std::vector<int64_t> range = stack({min(a), max(a)}).to_vector<int64_t>();  // one read for both bounds
  GL_CHECK(range[0] >= 0 && range[1] < o.n_actions, "{}: actions must be in [0, {}), got [{}, {}]", who, o.n_actions,
           range[0], range[1]);
}

LearnedIntrinsicReward::LearnedIntrinsicReward(CuriosityOptions options, uint64_t seed)
    : options_(options), gen_(seed) {
  GL_CHECK(options.epochs >= 1 && options.minibatches >= 1,
           "curiosity: epochs and minibatches must be >= 1, got {} and {}", options.epochs, options.minibatches);
  GL_CHECK(options.lr > 0, "curiosity: lr must be > 0, got {}", options.lr);
}

void LearnedIntrinsicReward::set_parameters(std::vector<Var> params) {
  trained_ = 0;
  for (const Var& p : params) trained_ += p.value().numel();
  adam_ = std::make_unique<optim::Adam>(std::move(params), optim::AdamOptions{.lr = options_.lr});
}

double LearnedIntrinsicReward::update(const TransitionBatch& batch) {
  check_batch(batch, options_, name());
  GL_CHECK(adam_ != nullptr, "{}: no parameters to train", name());
  const int64_t parts = std::min<int64_t>(options_.minibatches, batch.size());
  const Device device = batch.obs.device();
  Tensor total;  // the last pass's loss sum, f64 on the device: read once, after the passes
  for (int64_t epoch = 0; epoch < options_.epochs; ++epoch) {
    total = zeros({}, DType::f64, device);
    for (const Tensor& index : minibatch_indices(batch.size(), parts, gen_)) {
      const Var l = loss(select_rows(batch, index));
      // On the CPU each loss is checked before its backward; on a device the sum, below.
      if (device == Device::cpu) optim::check_finite_loss(l, "curiosity module", epoch);
      adam_->zero_grad();
      l.backward();
      adam_->step();
      ++steps_;
      after_step();
      total = add(total, l.value().to(DType::f64));
    }
  }
  const double last = total.item() / double(parts);
  GL_CHECK(std::isfinite(last), "{}: training loss is not finite ({})", name(), last);
  return last;
}

}  // namespace gradlab::rl::curiosity
