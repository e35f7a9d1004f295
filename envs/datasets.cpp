// Offline dataset builder, safetensors storage and the D4RL normalised score
// (envs/datasets.h; docs/papers/environments.md "Pendulum-D4RL" and the square toy).
#include "envs/datasets.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdlib>

#include "envs/offline_toys.h"
#include "nn/safetensors.h"
#include "tensor/creation.h"
#include "tensor/error.h"

namespace gradlab::envs {

namespace {

// The seeds of the roles within one dataset build (behaviour policy, each
// level's collection). This is part of the datasets' definition, like the
// behaviour policies: a level built from a seed has the same rows on every
// release, so it keeps its own splitmix64 formula rather than
// gradlab::derive_seed (which mixes the seed differently). Everything else
// in gradlab seeds through Generator::fork / derive_seed.
uint64_t dataset_role_seed(uint64_t seed, uint64_t role) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ull * (role + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

std::string number(double v) { return std::isfinite(v) ? fmt::format("{:.6g}", v) : "nan"; }

// Rows being collected, before they become tensors.
struct Rows {
  int64_t obs_dim = 0, act_dim = 0;
  std::vector<float> obs, act, rew, next, term, tout;
  std::vector<double> returns;  // complete episodes
  void add(const std::vector<double>& o, const std::vector<double>& a, double r, const std::vector<double>& n, bool t,
           bool timeout) {
    obs.insert(obs.end(), o.begin(), o.end());
    act.insert(act.end(), a.begin(), a.end());
    next.insert(next.end(), n.begin(), n.end());
    rew.push_back(float(r));
    term.push_back(t ? 1.0f : 0.0f);
    tout.push_back(timeout ? 1.0f : 0.0f);
  }
  int64_t size() const { return int64_t(rew.size()); }
};

std::vector<float> to_floats(const Tensor& t) { return t.contiguous().to_vector<float>(); }

void set_return_stats(Dataset& d, const std::vector<double>& returns) {
  double mean = NAN, sd = NAN;
  if (!returns.empty()) {
    mean = 0;
    for (double r : returns) mean += r;
    mean /= double(returns.size());
    double var = 0;
    for (double r : returns) var += (r - mean) * (r - mean);
    sd = std::sqrt(var / double(returns.size()));  // population std, as numpy's np.std
  }
  d.metadata["episodes"] = std::to_string(returns.size());
  d.metadata["return_mean"] = number(mean);
  d.metadata["return_std"] = number(sd);
}

Dataset to_dataset(const Rows& rows, const std::string& env) {
  Dataset d;
  const int64_t n = rows.size();
  d.observations = from_vector(rows.obs, {n, rows.obs_dim});
  d.actions = from_vector(rows.act, {n, rows.act_dim});
  d.rewards = from_vector(rows.rew, {n});
  d.next_observations = from_vector(rows.next, {n, rows.obs_dim});
  d.terminals = from_vector(rows.term, {n});
  d.timeouts = from_vector(rows.tout, {n});
  d.metadata["env"] = env;
  d.metadata["transitions"] = std::to_string(n);
  d.metadata["format"] = "gradlab-d4rl-1";
  set_return_stats(d, rows.returns);
  return d;
}

double mean_return(Env& env, const Policy& policy, int64_t episodes) {
  double total = 0;
  for (int64_t e = 0; e < episodes; ++e) {
    std::vector<double> obs = env.reset();
    Step s;
    double ret = 0;
    while (!s.done()) {
      s = env.step(policy(obs));
      ret += s.reward;
      obs = s.obs;
    }
    total += ret;
  }
  return total / double(episodes);
}

}  // namespace

const std::vector<std::string>& dataset_levels() {
  static const std::vector<std::string> levels = {"random", "medium", "medium-replay", "expert", "medium-expert"};
  return levels;
}

double normalized_score(double ret, double random_return, double expert_return) {
  GL_CHECK(std::isfinite(random_return) && std::isfinite(expert_return) && expert_return != random_return,
           "normalized_score: the reference returns must be finite and differ, got random {} and expert {}",
           random_return, expert_return);
  return 100.0 * (ret - random_return) / (expert_return - random_return);  // D4RL's normalised score
}

double normalized_score(double ret, const ReferenceReturns& refs) {
  return normalized_score(ret, refs.random, refs.expert);
}

ReferenceReturns measure_reference_returns(const std::string& env_name, const BehaviourSet& behaviour, int64_t episodes,
                                           uint64_t seed) {
  GL_CHECK(episodes >= 1, "measure_reference_returns: episodes must be >= 1, got {}", episodes);
  EnvPtr env = make_env(env_name);
  ReferenceReturns refs;
  env->reset(seed);
  refs.random = mean_return(*env, behaviour.random, episodes);
  env->reset(seed);
  refs.expert = mean_return(*env, behaviour.expert, episodes);
  return refs;
}

ReferenceReturns builtin_reference_returns(const std::string& env) {
  return measure_reference_returns(env, builtin_behaviour(env, 0), 100, 0);
}

Dataset collect_transitions(Env& env, const Policy& policy, int64_t transitions, uint64_t seed) {
  GL_CHECK(transitions >= 1, "collect_transitions: transitions must be >= 1, got {}", transitions);
  Rows rows;
  rows.obs_dim = env.observation_space().dim();
  rows.act_dim = env.action_space().dim();
  std::vector<double> obs = env.reset(seed);
  double ret = 0;
  while (rows.size() < transitions) {
    const std::vector<double> action = policy(obs);
    GL_CHECK(int64_t(action.size()) == rows.act_dim,
             "collect_transitions: the policy gave {} action values for {}, "
             "which takes {}",
             action.size(), env.name(), rows.act_dim);
    const Step s = env.step(action);
    ret += s.reward;
    const bool last_row = rows.size() + 1 == transitions;
    rows.add(obs, action, s.reward, s.obs, s.terminated, !s.terminated && (s.truncated || last_row));
    if (s.done()) {
      rows.returns.push_back(ret);
      ret = 0;
      if (!last_row) obs = env.reset();
    } else {
      obs = s.obs;
    }
  }
  return to_dataset(rows, env.name());
}

Dataset square_toy_dataset(int64_t transitions, uint64_t seed) {
  GL_CHECK(transitions >= 1, "square_toy_dataset: transitions must be >= 1, got {}", transitions);
  EnvRandom rng(seed);
  Rows rows;
  rows.obs_dim = 2;
  rows.act_dim = 2;
  for (int64_t i = 0; i < transitions; ++i) {
    const auto s = SquareToy::sample_band_state(rng);
    const double ax = rng.uniform(-1, 1), ay = rng.uniform(-1, 1);
    const double nx = s[0] + ax, ny = s[1] + ay;  // left unclipped in the generator, as in the paper's code
    rows.add({s[0], s[1]}, {ax, ay}, SquareToy::reward_at(nx, ny), {nx, ny}, false, false);
  }
  Dataset d = to_dataset(rows, "SquareToy");
  d.metadata["iid"] = "true";
  return d;
}

double metadata_number(const Dataset& d, const std::string& key) {
  const auto it = d.metadata.find(key);
  GL_CHECK(it != d.metadata.end(), "dataset metadata: no field '{}'", key);
  const std::string& text = it->second;
  if (text == "nan" || text == "-nan") return NAN;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  GL_CHECK(!text.empty() && end != text.c_str() && *end == '\0', "dataset metadata: field '{}' = '{}' is not a number",
           key, text);
  return v;
}

Dataset concatenate(const Dataset& a, const Dataset& b) {
  GL_CHECK(a.obs_dim() == b.obs_dim() && a.act_dim() == b.act_dim(),
           "concatenate: dims differ (obs {} vs {}, actions {} vs {})", a.obs_dim(), b.obs_dim(), a.act_dim(),
           b.act_dim());
  Rows rows;
  rows.obs_dim = a.obs_dim();
  rows.act_dim = a.act_dim();
  for (const Dataset* d : {&a, &b}) {
    auto append = [](std::vector<float>& to, const Tensor& t) {
      const auto v = to_floats(t);
      to.insert(to.end(), v.begin(), v.end());
    };
    append(rows.obs, d->observations);
    append(rows.act, d->actions);
    append(rows.rew, d->rewards);
    append(rows.next, d->next_observations);
    append(rows.term, d->terminals);
    append(rows.tout, d->timeouts);
  }
  Dataset out = to_dataset(rows, a.metadata.count("env") ? a.metadata.at("env") : "");
  for (const auto& [k, v] : a.metadata)
    if (!out.metadata.count(k)) out.metadata[k] = v;
  // episode counts and return statistics: pooled from the two parts
  const double na = metadata_number(a, "episodes"), nb = metadata_number(b, "episodes");
  const double ma = metadata_number(a, "return_mean"), mb = metadata_number(b, "return_mean");
  const double sa = metadata_number(a, "return_std"), sb = metadata_number(b, "return_std");
  const double n = na + nb;
  out.metadata["episodes"] = std::to_string(int64_t(n));
  if (na == 0 || nb == 0) {
    const bool use_a = nb == 0;
    out.metadata["return_mean"] = number(use_a ? ma : mb);
    out.metadata["return_std"] = number(use_a ? sa : sb);
  } else {
    const double mean = (na * ma + nb * mb) / n;
    const double second = (na * (sa * sa + ma * ma) + nb * (sb * sb + mb * mb)) / n;
    out.metadata["return_mean"] = number(mean);
    out.metadata["return_std"] = number(std::sqrt(std::max(0.0, second - mean * mean)));
  }
  return out;
}

Dataset build_dataset(const std::string& env_name, const BehaviourSet& behaviour, const std::string& level,
                      int64_t transitions, uint64_t seed, const ReferenceReturns& refs) {
  GL_CHECK(transitions >= 2, "build_dataset: transitions must be >= 2, got {}", transitions);
  EnvPtr env = make_env(env_name);
  Dataset d;
  const double pm = behaviour.medium_p;
  auto medium = [&](double p, uint64_t role) {
    return mixture_policy(behaviour.expert, behaviour.random, p, dataset_role_seed(seed, role));
  };
  if (level == "random" && env_name == "SquareToy") {
    d = square_toy_dataset(transitions, seed);
    d.metadata["policy"] = "uniform random actions, i.i.d. band states (the ORPO toy generator)";
  } else if (level == "random") {
    d = collect_transitions(*env, behaviour.random, transitions, seed);
    d.metadata["policy"] = behaviour.random_description;
  } else if (level == "expert") {
    d = collect_transitions(*env, behaviour.expert, transitions, seed);
    d.metadata["policy"] = behaviour.expert_description;
  } else if (level == "medium") {
    d = collect_transitions(*env, medium(pm, 1), transitions, seed);
    d.metadata["policy"] =
        fmt::format("per step: expert with p = {}, else random; expert: {}", pm, behaviour.expert_description);
  } else if (level == "medium-replay") {
    const int stages = 5;
    for (int k = 0; k < stages; ++k) {
      const int64_t share = transitions / stages + (k == stages - 1 ? transitions % stages : 0);
      const double p = pm * double(k) / (stages - 1);
      Dataset part = collect_transitions(*env, medium(p, 10 + k), share, dataset_role_seed(seed, 20 + k));
      d = k == 0 ? part : concatenate(d, part);
    }
    d.metadata["policy"] = fmt::format(
        "5 equal shares from mixtures with p = 0, {0}/4, {0}/2, 3*{0}/4, {0} in order; "
        "expert: {1}",
        pm, behaviour.expert_description);
  } else if (level == "medium-expert") {
    const int64_t half = transitions / 2;
    Dataset m = collect_transitions(*env, medium(pm, 1), half, seed);
    Dataset e = collect_transitions(*env, behaviour.expert, transitions - half, dataset_role_seed(seed, 2));
    d = concatenate(m, e);
    d.metadata["policy"] = fmt::format("medium (first {} rows) then expert ({} rows); medium p = {}; expert: {}", half,
                                       transitions - half, pm, behaviour.expert_description);
  } else {
    fail("build_dataset: unknown level '{}' (known: random, medium, medium-replay, expert, medium-expert)", level);
  }
  d.metadata["env"] = env_name;
  d.metadata["level"] = level;
  d.metadata["seed"] = std::to_string(seed);
  d.metadata["ref_random_return"] = number(refs.random);
  d.metadata["ref_expert_return"] = number(refs.expert);
  const double mean = metadata_number(d, "return_mean");
  d.metadata["normalized_score"] = number(std::isfinite(mean) ? normalized_score(mean, refs) : NAN);
  d.metadata["termination_fn"] = "none";
  return d;
}

Dataset build_dataset(const std::string& env, const std::string& level, int64_t transitions, uint64_t seed) {
  return build_dataset(env, builtin_behaviour(env, dataset_role_seed(seed, 0)), level, transitions, seed,
                       builtin_reference_returns(env));
}

TerminationFn termination_function(const std::string& env) {
  if (env == "Pendulum-v1" || env == "SquareToy" || env.starts_with("PointMass-"))
    return [](const std::vector<double>&, const std::vector<double>&, const std::vector<double>&) { return false; };
  fail("termination_function: none known for '{}' (known: Pendulum-v1, SquareToy, PointMass-Run, PointMass-Jump)", env);
}

void save_dataset(const std::string& path, const Dataset& d) {
  GL_CHECK(d.size() >= 1, "save_dataset: '{}': the dataset is empty", path);
  save_safetensors(path,
                   {{"observations", d.observations},
                    {"actions", d.actions},
                    {"rewards", d.rewards},
                    {"next_observations", d.next_observations},
                    {"terminals", d.terminals},
                    {"timeouts", d.timeouts}},
                   d.metadata);
}

Dataset load_dataset(const std::string& path) {
  SafetensorsFile file = load_safetensors(path);
  auto get = [&](const char* key) {
    for (const auto& [name, t] : file.tensors)
      if (name == key) {
        GL_CHECK(t.dtype() == DType::f32, "load_dataset: '{}': {} has dtype {}, expected F32", path, key,
                 dtype_name(t.dtype()));
        return t;
      }
    fail(
        "load_dataset: '{}' has no tensor '{}' (a dataset needs observations, actions, rewards, "
        "next_observations, terminals, timeouts)",
        path, key);
  };
  Dataset d;
  d.observations = get("observations");
  d.actions = get("actions");
  d.rewards = get("rewards");
  d.next_observations = get("next_observations");
  d.terminals = get("terminals");
  d.timeouts = get("timeouts");
  d.metadata = file.metadata;
  GL_CHECK(file.tensors.size() == 6, "load_dataset: '{}' has {} tensors, expected the 6 dataset keys", path,
           file.tensors.size());
  GL_CHECK(d.rewards.dim() == 1 && d.rewards.numel() >= 1,
           "load_dataset: '{}': rewards has shape {}, expected [N], N >= 1", path, d.rewards.shape());
  const int64_t n = d.rewards.numel();
  GL_CHECK(d.observations.dim() == 2 && d.observations.size(0) == n,
           "load_dataset: '{}': observations has shape {}, "
           "expected [{}, obs_dim]",
           path, d.observations.shape(), n);
  GL_CHECK(d.next_observations.shape() == d.observations.shape(),
           "load_dataset: '{}': next_observations has shape "
           "{}, observations {}",
           path, d.next_observations.shape(), d.observations.shape());
  GL_CHECK(d.actions.dim() == 2 && d.actions.size(0) == n,
           "load_dataset: '{}': actions has shape {}, expected [{}, "
           "act_dim]",
           path, d.actions.shape(), n);
  for (const auto& [key, t] :
       {std::pair<const char*, const Tensor*>{"terminals", &d.terminals}, {"timeouts", &d.timeouts}}) {
    GL_CHECK(t->dim() == 1 && t->numel() == n, "load_dataset: '{}': {} has shape {}, expected [{}]", path, key,
             t->shape(), n);
    for (float v : to_floats(*t))
      GL_CHECK(v == 0.0f || v == 1.0f, "load_dataset: '{}': {} holds {}, expected 0 or 1", path, key, v);
  }
  for (const auto& [key, t] : {std::pair<const char*, const Tensor*>{"observations", &d.observations},
                               {"actions", &d.actions},
                               {"rewards", &d.rewards},
                               {"next_observations", &d.next_observations}})
    for (float v : to_floats(*t)) GL_CHECK(std::isfinite(v), "load_dataset: '{}': {} holds {}", path, key, v);
  for (const char* key : {"env", "level"})
    GL_CHECK(d.metadata.count(key), "load_dataset: '{}': the metadata has no '{}'", path, key);
  const std::string& env_name = d.metadata.at("env");
  bool known = false;
  for (const std::string& name : env_names()) known |= name == env_name;
  if (known) {
    EnvPtr env = make_env(env_name);
    GL_CHECK(env->observation_space().dim() == d.obs_dim() && env->action_space().dim() == d.act_dim(),
             "load_dataset: '{}': {} has observations of {} and actions of {} values, the file {} and {}", path,
             env_name, env->observation_space().dim(), env->action_space().dim(), d.obs_dim(), d.act_dim());
  }
  return d;
}

std::string describe_dataset(const Dataset& d) {
  auto meta = [&](const char* k) { return d.metadata.count(k) ? d.metadata.at(k) : std::string("?"); };
  int64_t terminals = 0, timeouts = 0;
  for (float v : to_floats(d.terminals)) terminals += v != 0;
  for (float v : to_floats(d.timeouts)) timeouts += v != 0;
  return fmt::format(
      "env {}  level {}  seed {}\n"
      "rows {}  obs_dim {}  act_dim {}  terminals {}  timeouts {}\n"
      "episodes {}  return {} +- {}  (references: random {}, expert {}; normalised score {})\n"
      "policy: {}\n",
      meta("env"), meta("level"), meta("seed"), d.size(), d.obs_dim(), d.act_dim(), terminals, timeouts,
      meta("episodes"), meta("return_mean"), meta("return_std"), meta("ref_random_return"), meta("ref_expert_return"),
      meta("normalized_score"), meta("policy"));
}

}  // namespace gradlab::envs
