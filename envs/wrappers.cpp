// Env wrappers: time limit, episode statistics, running observation and
// reward normalisation, action clipping (see wrappers.h).
#include "envs/wrappers.h"

#include <algorithm>
#include <cmath>

#include "tensor/creation.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace gradlab::envs {

// ---------------------------------------------------------------- RunningMeanStd

RunningMeanStd::RunningMeanStd(int64_t dim, double epsilon, BatchSpread spread)
    : mean(size_t(dim), 0.0), var(size_t(dim), 1.0), count(epsilon), spread(spread) {
  GL_CHECK(dim > 0, "RunningMeanStd: dim must be positive, got {}", dim);
  GL_CHECK(epsilon > 0, "RunningMeanStd: epsilon must be positive, got {}", epsilon);
}

void RunningMeanStd::update(const std::vector<double>& x) {
  GL_CHECK(int64_t(x.size()) == dim(), "RunningMeanStd::update: expected {} values, got {}", dim(), x.size());
  update_batch(x.data(), 1);
}

void RunningMeanStd::update_batch(const double* x, int64_t n) {
  GL_CHECK(n > 0, "RunningMeanStd::update_batch: need at least one sample, got {}", n);
  const int64_t D = dim();
  const double total = count + double(n);
  for (int64_t j = 0; j < D; ++j) {
    double batch_mean = 0, batch_m2 = 0;
    for (int64_t i = 0; i < n; ++i) batch_mean += x[i * D + j];
    batch_mean /= double(n);
    for (int64_t i = 0; i < n; ++i) batch_m2 += (x[i * D + j] - batch_mean) * (x[i * D + j] - batch_mean);
    // Chan et al.'s parallel merge of (mean, M2, count) pairs. The build fuses
    // a * b + c into FMAs, and which product it fuses depends on the code
    // around; std::fma pins the rounding the recorded results were made with.
    const double delta = batch_mean - mean[j];
    const double spread_m2 = spread == BatchSpread::sum_of_squares ? batch_m2 : (batch_m2 / double(n)) * double(n);
    const double m2 = std::fma(var[j], count, spread_m2) + delta * delta * count * double(n) / total;
    mean[j] += delta * double(n) / total;
    var[j] = m2 / total;
  }
  count = total;
}

void RunningMeanStd::update_batch(const Tensor& batch) {
  GL_CHECK(batch.dim() == 1 || batch.dim() == 2, "RunningMeanStd::update_batch: expected [N] or [N, F], got {}",
           batch.shape());
  const int64_t n = batch.size(0), f = batch.dim() == 2 ? batch.size(1) : 1;
  GL_CHECK(f == dim(), "RunningMeanStd::update_batch: {} features expected, got shape {}", dim(), batch.shape());
  if (n == 0) return;
  const std::vector<double> x = batch.to(DType::f64).contiguous().to_vector<double>();
  for (size_t i = 0; i < x.size(); ++i)
    GL_CHECK(std::isfinite(x[i]), "RunningMeanStd::update_batch: non-finite value in feature {}", int64_t(i) % f);
  update_batch(x.data(), n);
}

Tensor RunningMeanStd::normalize(const Tensor& x, double clip) const {
  const int64_t f = dim();
  GL_CHECK(x.dim() == 2 && x.size(1) == f, "RunningMeanStd::normalize: expected [N, {}], got {}", f, x.shape());
  std::vector<double> inv_std(static_cast<size_t>(f));
  for (int64_t j = 0; j < f; ++j) inv_std[size_t(j)] = 1.0 / std::sqrt(var[size_t(j)] + 1e-8);
  const Tensor mean_t = from_vector(mean, {f}).to(x.dtype());
  const Tensor scale = from_vector(inv_std, {f}).to(x.dtype());
  return clamp((x - mean_t) * scale, -clip, clip);
}

// ---------------------------------------------------------------- Wrapper

Wrapper::Wrapper(EnvPtr env) : env_(std::move(env)) { GL_CHECK(env_ != nullptr, "Wrapper: the wrapped env is null"); }

// ---------------------------------------------------------------- TimeLimit

TimeLimit::TimeLimit(EnvPtr env, int64_t max_steps) : Wrapper(std::move(env)), max_steps_(max_steps) {
  GL_CHECK(max_steps > 0, "TimeLimit({}): max_steps must be positive, got {}", name(), max_steps);
}

std::vector<double> TimeLimit::reset(std::optional<uint64_t> seed) {
  elapsed_ = 0;
  return env_->reset(seed);
}

Step TimeLimit::step(const std::vector<double>& action) {
  Step s = env_->step(action);
  if (++elapsed_ >= max_steps_) s.truncated = true;
  return s;
}

// ---------------------------------------------------------------- EpisodeStatistics

EpisodeStatistics::EpisodeStatistics(EnvPtr env) : Wrapper(std::move(env)) {}

std::vector<double> EpisodeStatistics::reset(std::optional<uint64_t> seed) {
  current_ = {};
  finished_.reset();
  return env_->reset(seed);
}

Step EpisodeStatistics::step(const std::vector<double>& action) {
  Step s = env_->step(action);
  current_.episode_return += s.reward;
  current_.length += 1;
  finished_.reset();
  if (s.done()) {
    finished_ = current_;
    current_ = {};
    ++episodes_;
  }
  return s;
}

// ---------------------------------------------------------------- NormalizeObservation

NormalizeObservation::NormalizeObservation(EnvPtr env, double epsilon, double clip)
    : Wrapper(std::move(env)), rms(observation_space().dim()), epsilon_(epsilon), clip_(clip) {
  GL_CHECK(!observation_space().is_discrete(), "NormalizeObservation({}): needs a box observation space, got {}",
           name(), observation_space().str());
  GL_CHECK(clip > 0, "NormalizeObservation({}): clip must be positive, got {}", name(), clip);
}

std::vector<double> NormalizeObservation::normalize(const std::vector<double>& obs) const {
  GL_CHECK(int64_t(obs.size()) == rms.dim(), "NormalizeObservation({}): observation has {} values, expected {}", name(),
           obs.size(), rms.dim());
  std::vector<double> out(obs.size());
  for (size_t j = 0; j < obs.size(); ++j)
    out[j] = std::clamp((obs[j] - rms.mean[j]) / std::sqrt(rms.var[j] + epsilon_), -clip_, clip_);
  return out;
}

void NormalizeObservation::observe(std::vector<double>& obs) {
  if (!frozen) rms.update(obs);
  obs = normalize(obs);
}

std::vector<double> NormalizeObservation::reset(std::optional<uint64_t> seed) {
  std::vector<double> obs = env_->reset(seed);
  observe(obs);
  return obs;
}

Step NormalizeObservation::step(const std::vector<double>& action) {
  Step s = env_->step(action);
  observe(s.obs);
  return s;
}

// ---------------------------------------------------------------- NormalizeReward

NormalizeReward::NormalizeReward(EnvPtr env, double gamma, double epsilon, double clip)
    : Wrapper(std::move(env)), return_rms(1), gamma_(gamma), epsilon_(epsilon), clip_(clip) {
  GL_CHECK(gamma >= 0 && gamma <= 1, "NormalizeReward({}): gamma must be in [0, 1], got {}", name(), gamma);
  GL_CHECK(clip > 0, "NormalizeReward({}): clip must be positive, got {}", name(), clip);
}

std::vector<double> NormalizeReward::reset(std::optional<uint64_t> seed) {
  discounted_return_ = 0;
  return env_->reset(seed);
}

Step NormalizeReward::step(const std::vector<double>& action) {
  Step s = env_->step(action);
  discounted_return_ = gamma_ * discounted_return_ + s.reward;
  if (!frozen) return_rms.update({discounted_return_});
  s.reward = std::clamp(s.reward / std::sqrt(return_rms.var[0] + epsilon_), -clip_, clip_);
  if (s.done()) discounted_return_ = 0;
  return s;
}

// ---------------------------------------------------------------- ClipAction

ClipAction::ClipAction(EnvPtr env) : Wrapper(std::move(env)) {
  GL_CHECK(!action_space().is_discrete(), "ClipAction({}): needs a box action space, got {}", name(),
           action_space().str());
}

Step ClipAction::step(const std::vector<double>& action) {
  const Space& space = action_space();
  GL_CHECK(action.size() == space.low.size(), "ClipAction({}): action has {} values, the space {} has {}", name(),
           action.size(), space.str(), space.low.size());
  std::vector<double> clipped(action.size());
  for (size_t j = 0; j < action.size(); ++j) clipped[j] = std::clamp(action[j], space.low[j], space.high[j]);
  return env_->step(clipped);
}

}  // namespace gradlab::envs
