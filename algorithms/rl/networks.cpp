// The off-policy actor and critic networks (algorithms/rl/networks.h).
#include "algorithms/rl/networks.h"

namespace gradlab::rl {

namespace {
// {first, hidden..., last}
std::vector<int64_t> sizes(int64_t first, const std::vector<int64_t>& hidden, int64_t last) {
  std::vector<int64_t> out{first};
  out.insert(out.end(), hidden.begin(), hidden.end());
  if (last > 0) out.push_back(last);
  return out;
}
}  // namespace

QNetwork::QNetwork(int64_t obs_dim, int64_t action_dim, const std::vector<int64_t>& hidden, Generator& gen) {
  net = register_module("net", std::make_shared<nn::MLP>(sizes(obs_dim + action_dim, hidden, 1), gen));
}

Var QNetwork::forward(const Var& obs, const Var& actions) const {
  return squeeze(net->forward(concat(std::vector<Var>{obs, actions}, 1)), 1);  // [B]
}

DeterministicActor::DeterministicActor(int64_t obs_dim, const envs::Space& actions, const std::vector<int64_t>& hidden,
                                       Generator& gen) {
  net = register_module("net", std::make_shared<nn::MLP>(sizes(obs_dim, hidden, actions.dim()), gen));
  std::vector<float> scale, bias;
  for (size_t j = 0; j < actions.low.size(); ++j) {
    scale.push_back(float((actions.high[j] - actions.low[j]) / 2));
    bias.push_back(float((actions.high[j] + actions.low[j]) / 2));
  }
  register_buffer("action_scale", from_vector(scale));
  register_buffer("action_bias", from_vector(bias));
}

Var DeterministicActor::forward(const Var& obs) const {
  return head(net->forward(obs)) * buffer("action_scale").to(obs.device()) + buffer("action_bias").to(obs.device());
}

SquashedGaussianActor::SquashedGaussianActor(int64_t obs_dim, const envs::Space& actions,
                                             const std::vector<int64_t>& hidden, double log_std_min, double log_std_max,
                                             Generator& gen) {
  const int64_t A = actions.dim(), last = hidden.back();
  trunk = register_module("trunk", std::make_shared<nn::MLP>(sizes(obs_dim, hidden, 0), gen,
                                                             nn::MLPOptions{.output = nn::Activation::relu}));
  fc_mean = register_module("fc_mean", std::make_shared<nn::Linear>(last, A, gen));
  fc_logstd = register_module("fc_logstd", std::make_shared<nn::Linear>(last, A, gen));
  head = register_module("head", std::make_shared<nn::TanhGaussianHead>(
                                     from_vector(actions.low), from_vector(actions.high),
                                     nn::TanhGaussianOptions{log_std_min, log_std_max, nn::LogStdBound::tanh}));
}

nn::TanhGaussianSample SquashedGaussianActor::sample(const Var& obs, Generator& gen) const {
  const Var h = trunk->forward(obs);
  return head->rsample(fc_mean->forward(h), fc_logstd->forward(h), gen);
}

Var SquashedGaussianActor::deterministic(const Var& obs) const {
  return head->deterministic(fc_mean->forward(trunk->forward(obs)));
}

std::vector<Var> joined(const std::vector<Var>& a, const std::vector<Var>& b) {
  std::vector<Var> out = a;
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

Tensor row_tensor(const std::vector<double>& x) {
  std::vector<float> f(x.begin(), x.end());
  return from_vector(f, {1, int64_t(x.size())});
}

}  // namespace gradlab::rl
