// VectorEnv: N environments stepped together with auto-reset; observations
// are written straight into one [N, obs_dim] f32 tensor (see vector_env.h).
#include "envs/vector_env.h"

#include <cmath>

#include "tensor/error.h"

namespace gradlab::envs {

namespace {

bool same_space(const Space& a, const Space& b) {
  return a.kind == b.kind && a.n == b.n && a.low == b.low && a.high == b.high;
}

}  // namespace

VectorEnv::VectorEnv(std::vector<EnvPtr> envs) : envs_(std::move(envs)) {
  GL_CHECK(!envs_.empty(), "VectorEnv: needs at least one env");
  for (size_t i = 0; i < envs_.size(); ++i) {
    GL_CHECK(envs_[i] != nullptr, "VectorEnv: env {} is null", i);
    GL_CHECK(same_space(envs_[i]->observation_space(), envs_[0]->observation_space()) &&
                 same_space(envs_[i]->action_space(), envs_[0]->action_space()),
             "VectorEnv: env {} ({}, obs {}, actions {}) does not match env 0 ({}, obs {}, actions {})", i,
             envs_[i]->name(), envs_[i]->observation_space().str(), envs_[i]->action_space().str(), envs_[0]->name(),
             envs_[0]->observation_space().str(), envs_[0]->action_space().str());
    stats_.push_back(find_wrapper<EpisodeStatistics>(*envs_[i]));
  }
  obs_dim_ = envs_[0]->observation_space().dim();
}

static std::vector<EnvPtr> make_n(const std::function<EnvPtr()>& make, int64_t n) {
  GL_CHECK(n > 0, "VectorEnv: the number of envs must be positive, got {}", n);
  GL_CHECK(bool(make), "VectorEnv: the env factory is empty");
  std::vector<EnvPtr> envs;
  for (int64_t i = 0; i < n; ++i) envs.push_back(make());
  return envs;
}

VectorEnv::VectorEnv(const std::function<EnvPtr()>& make, int64_t n) : VectorEnv(make_n(make, n)) {}

Tensor VectorEnv::reset(uint64_t seed) {
  const int64_t N = num_envs();
  Tensor obs = Tensor::empty({N, obs_dim_}, DType::f32);
  float* o = obs.data<float>();
  for (int64_t i = 0; i < N; ++i) {
    const std::vector<double> x = envs_[size_t(i)]->reset(seed + uint64_t(i));
    GL_CHECK(int64_t(x.size()) == obs_dim_, "VectorEnv: {} reset gave {} values, its space {} has {}",
             envs_[size_t(i)]->name(), x.size(), observation_space().str(), obs_dim_);
    for (int64_t j = 0; j < obs_dim_; ++j) o[i * obs_dim_ + j] = float(x[size_t(j)]);
  }
  started_ = true;
  return obs;
}

VectorStep VectorEnv::step(const Tensor& actions) {
  const int64_t N = num_envs();
  const Space& space = action_space();
  GL_CHECK(actions.defined(), "VectorEnv::step: actions are undefined");
  std::vector<std::vector<double>> per_env(static_cast<size_t>(N));
  if (space.is_discrete()) {
    GL_CHECK(actions.shape() == Shape{N} || actions.shape() == (Shape{N, 1}),
             "VectorEnv::step({}): discrete actions must be [{}] or [{}, 1], got {}", envs_[0]->name(), N, N,
             actions.shape());
    const std::vector<double> a = actions.to(DType::f64).contiguous().to_vector<double>();
    for (int64_t i = 0; i < N; ++i) per_env[size_t(i)] = {a[size_t(i)]};
  } else {
    const int64_t A = space.dim();
    GL_CHECK(actions.shape() == (Shape{N, A}), "VectorEnv::step({}): box actions must be [{}, {}], got {}",
             envs_[0]->name(), N, A, actions.shape());
    const std::vector<double> a = actions.to(DType::f64).contiguous().to_vector<double>();
    for (int64_t i = 0; i < N; ++i) per_env[size_t(i)].assign(a.begin() + i * A, a.begin() + (i + 1) * A);
  }
  return step(per_env);
}

VectorStep VectorEnv::step(const std::vector<std::vector<double>>& actions) {
  const int64_t N = num_envs();
  GL_CHECK(started_, "VectorEnv::step({}): call reset(seed) first", envs_[0]->name());
  GL_CHECK(int64_t(actions.size()) == N, "VectorEnv::step({}): expected {} actions, got {}", envs_[0]->name(), N,
           actions.size());
  VectorStep out;
  out.obs = Tensor::empty({N, obs_dim_}, DType::f32);
  out.rewards.assign(size_t(N), 0.0);
  out.terminated.assign(size_t(N), 0);
  out.truncated.assign(size_t(N), 0);
  out.final_obs.resize(size_t(N));
  out.episodes.resize(size_t(N));
  float* o = out.obs.data<float>();
  for (int64_t i = 0; i < N; ++i) {
    Env& env = *envs_[size_t(i)];
    Step s = env.step(actions[size_t(i)]);
    GL_CHECK(int64_t(s.obs.size()) == obs_dim_, "VectorEnv: {} step gave {} values, its space {} has {}", env.name(),
             s.obs.size(), observation_space().str(), obs_dim_);
    out.rewards[size_t(i)] = s.reward;
    out.terminated[size_t(i)] = s.terminated;
    out.truncated[size_t(i)] = s.truncated;
    const std::vector<double>* next = &s.obs;
    std::vector<double> first;
    if (s.done()) {
      if (stats_[size_t(i)]) out.episodes[size_t(i)] = stats_[size_t(i)]->finished();
      out.final_obs[size_t(i)] = std::move(s.obs);
      first = env.reset();  // auto-reset: the env's generator continues
      next = &first;
    }
    for (int64_t j = 0; j < obs_dim_; ++j) o[i * obs_dim_ + j] = float((*next)[size_t(j)]);
  }
  return out;
}

}  // namespace gradlab::envs
