// Small helpers shared by the curiosity tests: tensor values as doubles,
// setting a parameter by hand, tiny module options and a hand-written batch
// of transitions.
#pragma once

#include <initializer_list>
#include <vector>

#include "algorithms/rl/curiosity/intrinsic.h"
#include "tensor/creation.h"

namespace gradlab::rl::curiosity::test {

inline std::vector<double> vals(const Tensor& t) { return t.to(DType::f64).contiguous().to_vector<double>(); }

inline void set(const Var& p, const Tensor& value) {
  Tensor t = p.value();
  t.copy_(value);
}

inline CuriosityOptions tiny(int64_t D, int64_t A, int64_t hidden, int64_t F) {
  CuriosityOptions o;
  o.obs_dim = D;
  o.n_actions = A;
  o.hidden = hidden;
  o.feature_dim = F;
  return o;
}

inline TransitionBatch batch(std::initializer_list<double> obs, std::initializer_list<int64_t> actions,
                      std::initializer_list<double> next_obs, int64_t D) {
  const int64_t n = int64_t(actions.size());
  std::vector<int64_t> a(actions);
  return {tensor(obs, {n, D}), from_vector(a, {n}), tensor(next_obs, {n, D})};
}

}  // namespace gradlab::rl::curiosity::test
