// DyMeCu (docs/papers/dymecu.md): two online learners, EMA memory (three readings), the learner gap as curiosity.
#include "algorithms/rl/curiosity/dymecu.h"

namespace gradlab::rl::curiosity {

DyMeCu::DyMeCu(CuriosityOptions o, uint64_t seed)
    : LearnedIntrinsicReward(o, seed),
      encoder1({o.obs_dim, o.hidden, o.feature_dim}, gen_),
      encoder2({o.obs_dim, o.hidden, o.feature_dim}, gen_),
      memory({o.obs_dim, o.hidden, o.feature_dim}, gen_),
      predictor1({o.feature_dim + o.n_actions, o.hidden, o.feature_dim}, gen_),
      predictor2({o.feature_dim + o.n_actions, o.hidden, o.feature_dim}, gen_),
      memory2({o.obs_dim, o.hidden, o.feature_dim}, gen_) {
  GL_CHECK(o.dymecu_tau >= 0 && o.dymecu_tau <= 1, "dymecu: tau must be in [0, 1], got {}", o.dymecu_tau);
  GL_CHECK(o.dymecu_memory == "outavg" || o.dymecu_memory == "own" || o.dymecu_memory == "paramavg",
           "dymecu: memory must be outavg, own or paramavg, got '{}'", o.dymecu_memory);
  for (nn::MLP* m : {&encoder1, &encoder2, &memory, &predictor1, &predictor2, &memory2})
    m->to(o.device);  // initialised on the CPU, then moved
  memory.freeze();
  memory2.freeze();
  grow_memory(0.0);  // each memory starts at its learner (paramavg: at the learners' average)
  std::vector<Var> params;
  for (const nn::MLP* m : {&encoder1, &encoder2, &predictor1, &predictor2})
    for (const Var& p : m->parameters()) params.push_back(p);
  set_parameters(std::move(params));
}

Var DyMeCu::prediction(int k, const TransitionBatch& b) const {
  const nn::MLP& enc = k == 1 ? encoder1 : encoder2;
  const nn::MLP& pred = k == 1 ? predictor1 : predictor2;
  return normalize_rows(pred(concat({enc(b.obs), Var(one_hot(b.actions, options_.n_actions))}, 1)));
}

Tensor DyMeCu::memory_target(int k, const TransitionBatch& b) const {
  GL_CHECK(k == 1 || k == 2, "dymecu: learner must be 1 or 2, got {}", k);
  NoGradGuard no_grad;
  const std::string& m = options_.dymecu_memory;
  if (m == "paramavg") return normalize_rows(memory(b.next_obs)).value();  // sg(n(z_xi(s')))
  if (m == "own") return normalize_rows((k == 1 ? memory : memory2)(b.next_obs)).value();  // sg(n(z_xik(s')))
  return normalize_rows((memory(b.next_obs) + memory2(b.next_obs)) * 0.5).value();  // sg(n((z_xi1 + z_xi2) / 2))
}

void DyMeCu::grow_memory(double tau) {
  NoGradGuard no_grad;
  const std::vector<Var> xi = memory.parameters(), xi2 = memory2.parameters(), t1 = encoder1.parameters(),
                         t2 = encoder2.parameters();
  const bool paramavg = options_.dymecu_memory == "paramavg";
  for (size_t i = 0; i < xi.size(); ++i) {
    Tensor v = xi[i].value();
    if (paramavg) {
      v.copy_(v * tau + (t1[i].value() + t2[i].value()) * (0.5 * (1 - tau)));  // docs/papers/dymecu.md DY.2
    } else {
      v.copy_(v * tau + t1[i].value() * (1 - tau));  // xi_1 <- tau xi_1 + (1 - tau) theta_1
      Tensor v2 = xi2[i].value();
      v2.copy_(v2 * tau + t2[i].value() * (1 - tau));  // xi_2 <- tau xi_2 + (1 - tau) theta_2
    }
  }
}

Tensor DyMeCu::reward(const TransitionBatch& b) {
  check_batch(b, options_, name());
  NoGradGuard no_grad;
  const Tensor p1 = prediction(1, b).value(), p2 = prediction(2, b).value();
  if (options_.dymecu_memory_gap) {
    const Tensor m1 = memory_target(1, b), m2 = memory_target(2, b);
    return (sum(square(p1 - m1), {1}) + sum(square(p2 - m2), {1})) * 0.5;  // mean_k ||n(q_k) - m_k(s')||^2
  }
  return sum(square(p1 - p2), {1});  // docs/papers/dymecu.md: r^i = ||n(q_1) - n(q_2)||^2, the learner gap
}

Var DyMeCu::loss(const TransitionBatch& b) {
  const Var m1(memory_target(1, b)), m2(memory_target(2, b));
  return mean(sum(square(prediction(1, b) - m1), {1})) + mean(sum(square(prediction(2, b) - m2), {1}));  // L_1 + L_2
}

}  // namespace gradlab::rl::curiosity
