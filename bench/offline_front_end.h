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
#include "bench/common/cli.h"
#include "bench/common/experiment.h"
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
  Device device = Device::cpu;  // the run's --device: where every method's networks and batches live
};

struct OfflineMethod {
  std::string name;
  std::string what;  // one line for --help and the write-up
  bool model_based = false;
  std::function<rl::OfflineResult(const OfflineSettings&, const envs::Dataset&,
                                  std::shared_ptr<const rl::DynamicsEnsemble>, uint64_t seed)>
      run;
};

// The settings every method's arguments share (the Args structs name them alike).
template <class Args>
Args common_args(const OfflineSettings& s, uint64_t seed) {
  Args a;
  a.seed = seed;
  a.gradient_steps = s.steps;
  a.batch_size = s.batch_size;
  a.normalize_states = s.normalize_states;
  a.eval_every = s.eval_every;
  a.eval_episodes = s.eval_episodes;
  a.progress_seconds = 0;  // the experiment runner reports progress
  a.device = s.device;
  return a;
}

// ... and those the model-based methods (ORPO, MOPO) share on top.
template <class Args>
Args model_based_args(const OfflineSettings& s, uint64_t seed) {
  Args a = common_args<Args>(s, seed);
  a.rollout_every = s.rollout_every;
  a.rollout_batch = s.rollout_batch;
  a.horizon = s.horizon;
  a.lambda = s.lambda;
  a.dynamics = s.dynamics;
  return a;
}

inline rl::ORPOArgs orpo_args(const OfflineSettings& s, uint64_t seed) {
  rl::ORPOArgs a = model_based_args<rl::ORPOArgs>(s, seed);
  a.rollout_horizon = s.horizon;
  a.beta = s.beta;
  a.rollout_learner.hidden = a.output_learner.hidden = s.policy_hidden;
  a.output_learner.alpha = s.td3bc_alpha;
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
                   rl::MOPOArgs a = model_based_args<rl::MOPOArgs>(s, seed);
                   a.learner.hidden = s.policy_hidden;
                   return rl::train_mopo(a, d, m);
                 }});
  all.push_back({"td3bc", "TD3+BC on the dataset alone (alpha 2.5, standardised states)", false,
                 [](const OfflineSettings& s, const envs::Dataset& d, std::shared_ptr<const rl::DynamicsEnsemble>,
                    uint64_t seed) {
                   rl::TD3BCArgs a = common_args<rl::TD3BCArgs>(s, seed);
                   a.learner.alpha = s.td3bc_alpha;
                   a.learner.hidden = s.policy_hidden;
                   return rl::train_td3_bc(a, d);
                 }});
  all.push_back({"cql", "CQL(H): SAC with the importance-sampled conservative penalty, fixed alpha", false,
                 [](const OfflineSettings& s, const envs::Dataset& d, std::shared_ptr<const rl::DynamicsEnsemble>,
                    uint64_t seed) {
                   rl::CQLArgs a = common_args<rl::CQLArgs>(s, seed);
                   a.learner.hidden = s.policy_hidden;
                   a.cql.alpha = s.cql_alpha;
                   return rl::train_cql(a, d);
                 }});
  all.push_back({"bc", "behaviour cloning: the actor regressed onto the data's actions", false,
                 [](const OfflineSettings& s, const envs::Dataset& d, std::shared_ptr<const rl::DynamicsEnsemble>,
                    uint64_t seed) {
                   rl::BCArgs a = common_args<rl::BCArgs>(s, seed);
                   a.hidden = s.policy_hidden;
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

// The flags both ORPO experiments take, with each binary's defaults.
struct OfflineFlagDefaults {
  int64_t transitions, smoke_transitions;
  const char* transitions_help;
  double lambda, beta;
  int64_t hidden, model_hidden;
  int64_t rollout_batch, smoke_rollout_batch;
  int64_t smoke_steps;  // full 5000, quick 2000
  // The dynamics ensemble's epoch cap at the full and the quick budget (0:
  // until early stopping; smoke: 2).
  int64_t model_epochs, quick_model_epochs;
};

// Bound to the command line when made: parse() writes into the fields.
struct OfflineFlags {
  OfflineFlags(Cli& cli, const OfflineFlagDefaults& d)
      : defaults(d),
        transitions(d.transitions),
        lambda(d.lambda),
        beta(d.beta),
        hidden(d.hidden),
        model_hidden(d.model_hidden) {
    cli.bind(steps, "--steps", fmt::format("gradient steps per method (0: 5000, quick 2000, smoke {})", d.smoke_steps),
             {0, 100000000});
    cli.bind(transitions, "--transitions", d.transitions_help, {100, 100000000});
    cli.bind(lambda, "--lambda", "ORPO/MOPO: the penalty lambda of the pessimistic MDP");
    cli.bind(beta, "--beta", "ORPO: the bonus beta of the optimistic MDP");
    cli.bind(horizon, "--horizon", "model rollout length h (and h_o)", {1, 1000});
    cli.bind(rollout_batch, "--rollout-batch",
             fmt::format("start states per rollout round (0: {}, smoke {})", d.rollout_batch, d.smoke_rollout_batch),
             {0, 100000000});
    cli.bind(uncertainty, "--uncertainty", "u(s, a): aleatoric (max std norm) or ensemble_std");
    cli.bind(hidden, "--hidden", "policy and critic width (two hidden layers)", {1, 65536});
    cli.bind(model_hidden, "--model-hidden", "dynamics ensemble width (four hidden layers)", {1, 65536});
    const auto cap = [](int64_t e) { return e > 0 ? std::to_string(e) : std::string("until early stopping"); };
    cli.bind(model_epochs, "--model-epochs",
             fmt::format("cap on the dynamics ensemble's training epochs; early stopping may end it sooner (0: by "
                         "budget, full {}, quick {}, smoke 2)",
                         cap(d.model_epochs), cap(d.quick_model_epochs)),
             {0, 100000});
    cli.bind(td3bc_alpha, "--td3bc-alpha",
             "TD3+BC's alpha (Q weight alpha / mean|Q| against the BC term), for td3bc and ORPO's output policy");
  }
  OfflineFlags(const OfflineFlags&) = delete;  // the command line writes into these very fields
  OfflineFlags& operator=(const OfflineFlags&) = delete;

  // After cli.parse: checks the values and builds the settings (smoke-sized
  // networks unless the width flags were given).
  OfflineSettings settings(const Cli& cli, const ExperimentFlags& flags, const std::string& binary) const {
    const bool smoke = flags.smoke;
    GL_CHECK(lambda >= 0 && beta >= 0, "{}: --lambda and --beta must be >= 0, got {} and {}", binary, lambda, beta);
    GL_CHECK(uncertainty == "aleatoric" || uncertainty == "ensemble_std",
             "{}: --uncertainty must be aleatoric or ensemble_std, got '{}'", binary, uncertainty);
    GL_CHECK(td3bc_alpha > 0, "{}: --td3bc-alpha must be positive, got {}", binary, td3bc_alpha);
    OfflineSettings s;
    s.td3bc_alpha = td3bc_alpha;
    s.policy_hidden = {hidden, hidden};
    s.dynamics.hidden = std::vector<int64_t>(4, model_hidden);
    s.dynamics.uncertainty = rl::parse_uncertainty(uncertainty);
    s.lambda = lambda;
    s.beta = beta;
    s.horizon = horizon;
    s.rollout_batch =
        rollout_batch > 0 ? rollout_batch : (smoke ? defaults.smoke_rollout_batch : defaults.rollout_batch);
    s.dynamics.max_epochs = model_epochs > 0
                                ? model_epochs
                                : by_budget(flags.budget(), defaults.model_epochs, defaults.quick_model_epochs, 2);
    if (smoke) {
      s.dynamics.hidden = cli.given("--model-hidden") ? s.dynamics.hidden : std::vector<int64_t>(4, 16);
      s.policy_hidden = cli.given("--hidden") ? s.policy_hidden : std::vector<int64_t>{16, 16};
    }
    return s;
  }
  // The dataset rows (--transitions, smaller for --smoke).
  int64_t rows(const Cli& cli, bool smoke) const {
    return cli.budget_default<int64_t>(smoke, "--transitions", transitions, defaults.smoke_transitions);
  }
  // The gradient steps of one run (--steps, else by budget).
  int64_t run_steps(const RunContext& run) const {
    return steps > 0 ? steps : run.pick(5000, 2000, defaults.smoke_steps);
  }

  OfflineFlagDefaults defaults;
  int64_t steps = 0;  // 0: by budget
  int64_t transitions;
  double lambda, beta;
  int64_t horizon = 5;
  int64_t rollout_batch = 0;  // 0: by budget
  int64_t model_epochs = 0;   // 0: by budget
  std::string uncertainty = "aleatoric";
  int64_t hidden, model_hidden;
  double td3bc_alpha = 2.5;
};

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
