// The offline-RL methods of ORPO's experiments (build/bench/orpo_toy and
// orpo_d4rl), built from one set of settings, so both binaries run the same
// code: ORPO and its ablations, MOPO, TD3+BC, CQL and BC. Model-based
// methods of one seed and dataset share one trained dynamics ensemble, so
// their comparison is paired.
#pragma once

#include <fmt/format.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "algorithms/rl/offline/bc.h"
#include "algorithms/rl/offline/cql.h"
#include "algorithms/rl/offline/mopo.h"
#include "algorithms/rl/offline/orpo.h"
#include "algorithms/rl/offline/td3_bc.h"
#include "tensor/error.h"

namespace gradlab::bench {

struct OfflineSettings {
  int64_t steps = 10000;  // gradient steps of every method
  int64_t batch_size = 256;
  int64_t eval_every = 1000, eval_episodes = 10;
  std::vector<int64_t> policy_hidden{256, 256};
  rl::DynamicsEnsembleOptions dynamics;
  int64_t rollout_every = 1000, rollout_batch = 10000, horizon = 5;
  double lambda = 1.0, beta = 0.015;
  double cql_alpha = 5.0;
  double td3bc_alpha = 2.5;  // TD3+BC's alpha, for the baseline and ORPO's output policy
  bool normalize_states = true;
};

struct OfflineMethod {
  std::string name;
  std::string what;  // one line for --help and the write-up
  bool model_based = false;
  std::function<rl::OfflineResult(const OfflineSettings&, const envs::Dataset&,
                                  std::shared_ptr<const rl::DynamicsEnsemble>, uint64_t seed)>
      run;
};

inline rl::ORPOArgs orpo_args(const OfflineSettings& s, uint64_t seed) {
  rl::ORPOArgs a;
  a.seed = seed;
  a.gradient_steps = s.steps;
  a.batch_size = s.batch_size;
  a.rollout_every = s.rollout_every;
  a.rollout_batch = s.rollout_batch;
  a.horizon = a.rollout_horizon = s.horizon;
  a.lambda = s.lambda;
  a.beta = s.beta;
  a.normalize_states = s.normalize_states;
  a.rollout_learner.hidden = a.output_learner.hidden = s.policy_hidden;
  a.output_learner.alpha = s.td3bc_alpha;
  a.dynamics = s.dynamics;
  a.eval_every = s.eval_every;
  a.eval_episodes = s.eval_episodes;
  a.progress_seconds = 0;
  return a;
}

// An ORPO variant: the default settings changed by `edit`.
inline OfflineMethod orpo_variant(const std::string& name, const std::string& what,
                                  std::function<void(rl::ORPOArgs&)> edit) {
  return {name, what, true,
          [name, edit](const OfflineSettings& s, const envs::Dataset& d, std::shared_ptr<const rl::DynamicsEnsemble> m,
                       uint64_t seed) {
            rl::ORPOArgs a = orpo_args(s, seed);
            a.exp_name = name;
            edit(a);
            return rl::train_orpo(a, d, m);
          }};
}

// Every method, the paper's comparison first, then the ablations.
inline std::vector<OfflineMethod> offline_methods() {
  std::vector<OfflineMethod> all;
  all.push_back(orpo_variant("orpo", "ORPO: SAC rollout policy in the O-MDP, TD3+BC output policy in the P-MDP",
                             [](rl::ORPOArgs&) {}));
  all.push_back({"mopo", "MOPO: SAC in the P-MDP on its own rollouts (5% real, 95% model)", true,
                 [](const OfflineSettings& s, const envs::Dataset& d, std::shared_ptr<const rl::DynamicsEnsemble> m,
                    uint64_t seed) {
                   rl::MOPOArgs a;
                   a.seed = seed;
                   a.gradient_steps = s.steps;
                   a.batch_size = s.batch_size;
                   a.rollout_every = s.rollout_every;
                   a.rollout_batch = s.rollout_batch;
                   a.horizon = s.horizon;
                   a.lambda = s.lambda;
                   a.normalize_states = s.normalize_states;
                   a.learner.hidden = s.policy_hidden;
                   a.dynamics = s.dynamics;
                   a.eval_every = s.eval_every;
                   a.eval_episodes = s.eval_episodes;
                   a.progress_seconds = 0;
                   return rl::train_mopo(a, d, m);
                 }});
  all.push_back({"td3bc", "TD3+BC on the dataset alone (alpha 2.5, standardised states)", false,
                 [](const OfflineSettings& s, const envs::Dataset& d, std::shared_ptr<const rl::DynamicsEnsemble>,
                    uint64_t seed) {
                   rl::TD3BCArgs a;
                   a.seed = seed;
                   a.learner.alpha = s.td3bc_alpha;
                   a.gradient_steps = s.steps;
                   a.batch_size = s.batch_size;
                   a.normalize_states = s.normalize_states;
                   a.learner.hidden = s.policy_hidden;
                   a.eval_every = s.eval_every;
                   a.eval_episodes = s.eval_episodes;
                   a.progress_seconds = 0;
                   return rl::train_td3_bc(a, d);
                 }});
  all.push_back({"cql", "CQL(H): SAC with the importance-sampled conservative penalty, fixed alpha", false,
                 [](const OfflineSettings& s, const envs::Dataset& d, std::shared_ptr<const rl::DynamicsEnsemble>,
                    uint64_t seed) {
                   rl::CQLArgs a;
                   a.seed = seed;
                   a.gradient_steps = s.steps;
                   a.batch_size = s.batch_size;
                   a.normalize_states = s.normalize_states;
                   a.learner.hidden = s.policy_hidden;
                   a.cql.alpha = s.cql_alpha;
                   a.eval_every = s.eval_every;
                   a.eval_episodes = s.eval_episodes;
                   a.progress_seconds = 0;
                   return rl::train_cql(a, d);
                 }});
  all.push_back({"bc", "behaviour cloning: the actor regressed onto the data's actions", false,
                 [](const OfflineSettings& s, const envs::Dataset& d, std::shared_ptr<const rl::DynamicsEnsemble>,
                    uint64_t seed) {
                   rl::BCArgs a;
                   a.seed = seed;
                   a.gradient_steps = s.steps;
                   a.batch_size = s.batch_size;
                   a.normalize_states = s.normalize_states;
                   a.hidden = s.policy_hidden;
                   a.eval_every = s.eval_every;
                   a.eval_episodes = s.eval_episodes;
                   a.progress_seconds = 0;
                   return rl::train_bc(a, d);
                 }});
  // ablations
  all.push_back(orpo_variant("orpo_pi_o_eq_pi",
                             "ablation: the output policy fills D_o itself (pi_o = pi, MOPO-style with TD3+BC)",
                             [](rl::ORPOArgs& a) { a.rollout_policy = rl::RolloutPolicy::output; }));
  all.push_back(orpo_variant("orpo_random_rollout", "ablation: D_o filled by uniformly random actions",
                             [](rl::ORPOArgs& a) { a.rollout_policy = rl::RolloutPolicy::random; }));
  all.push_back(orpo_variant("orpo_beta0", "ablation: beta = 0 (the rollout policy sees the plain model reward)",
                             [](rl::ORPOArgs& a) { a.beta = 0; }));
  all.push_back(orpo_variant("orpo_beta10x", "ablation: beta 10x", [](rl::ORPOArgs& a) { a.beta *= 10; }));
  all.push_back(orpo_variant("orpo_lambda0.5x", "ablation: lambda 0.5x", [](rl::ORPOArgs& a) { a.lambda *= 0.5; }));
  all.push_back(orpo_variant("orpo_lambda5x", "ablation: lambda 5x", [](rl::ORPOArgs& a) { a.lambda *= 5; }));
  return all;
}

inline const OfflineMethod& find_offline_method(const std::vector<OfflineMethod>& all, const std::string& name,
                                                const std::string& binary) {
  std::string known;
  for (const OfflineMethod& m : all) {
    if (m.name == name) return m;
    known += (known.empty() ? "" : ", ") + m.name;
  }
  GL_CHECK(false, "{}: --methods: unknown method '{}' (known: {})", binary, name, known);
  return all.front();
}

}  // namespace gradlab::bench
