// Shared RL helpers: env factory, deterministic evaluation, seed derivation
// and the CSV run log (see rl_utils.h).
#include "algorithms/rl/rl_utils.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdio>

#include "tensor/atomic_file.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace gradlab::rl {

envs::EnvPtr make_env_or(const EnvFactory& factory, const std::string& env_id) {
  envs::EnvPtr env = factory ? factory() : envs::make_env(env_id);
  GL_CHECK(env != nullptr, "make_env_or: the env factory for '{}' returned null", env_id);
  return env;
}

Evaluation evaluate_policy(envs::Env& env, const std::function<std::vector<double>(const std::vector<double>&)>& act,
                           int64_t episodes, uint64_t seed, int64_t max_steps) {
  GL_CHECK(episodes > 0, "evaluate_policy({}): episodes must be positive, got {}", env.name(), episodes);
  Evaluation out;
  for (int64_t e = 0; e < episodes; ++e) {
    std::vector<double> obs = env.reset(seed + uint64_t(e));
    double ret = 0;
    for (int64_t t = 0;; ++t) {
      GL_CHECK(t < max_steps, "evaluate_policy({}): episode {} did not end within {} steps", env.name(), e, max_steps);
      envs::Step s = env.step(act(obs));
      ret += s.reward;
      if (s.done()) break;
      obs = std::move(s.obs);
    }
    out.returns.push_back(ret);
    out.mean_return += ret / double(episodes);
  }
  return out;
}

// ---------------------------------------------------------------- RunLog

const std::vector<std::string>& RunLog::keys() {
  static const std::vector<std::string> k = {"global_step",
                                             "episodic_return",
                                             "episodic_length",
                                             "eval_return",
                                             "losses/value_loss",
                                             "losses/policy_loss",
                                             "losses/entropy",
                                             "losses/old_approx_kl",
                                             "losses/approx_kl",
                                             "losses/clipfrac",
                                             "losses/explained_variance",
                                             "losses/qf1_values",
                                             "losses/qf2_values",
                                             "losses/qf1_loss",
                                             "losses/qf2_loss",
                                             "losses/qf_loss",
                                             "losses/actor_loss",
                                             "losses/alpha",
                                             "losses/alpha_loss",
                                             "learning_rate",
                                             "SPS"};
  return k;
}

RunLog::RunLog(const std::string& csv_path, std::string run_name, int64_t total_steps, double progress_seconds)
    : name_(std::move(run_name)), total_(total_steps), every_(progress_seconds) {
  start_ = last_print_ = std::chrono::steady_clock::now();
  if (csv_path.empty()) return;
  const size_t slash = csv_path.find_last_of('/');
  if (slash != std::string::npos && slash > 0) make_directories(csv_path.substr(0, slash));
  csv_.open(csv_path, std::ios::out | std::ios::trunc);
  GL_CHECK(csv_.good(), "RunLog: cannot open '{}' for writing", csv_path);
  const auto& k = keys();
  for (size_t i = 0; i < k.size(); ++i) csv_ << (i ? "," : "") << k[i];
  csv_ << "\n";
  csv_.flush();
}

void RunLog::row(int64_t global_step, const std::map<std::string, double>& values) {
  const auto& k = keys();
  for (const auto& [key, value] : values) {
    bool known = false;
    for (const auto& name : k) known = known || name == key;
    if (!known || key == "global_step") {
      std::string list;
      for (const auto& name : k) list += (list.empty() ? "" : ", ") + name;
      fail("RunLog::row: unknown log key '{}' (known: {})", key, list);
    }
  }
  if (!csv_.is_open()) return;
  std::string line = std::to_string(global_step);
  for (size_t i = 1; i < k.size(); ++i) {
    line += ",";
    auto it = values.find(k[i]);
    if (it != values.end()) line += fmt::format("{:.9g}", it->second);
  }
  csv_ << line << "\n";
  csv_.flush();
  GL_CHECK(csv_.good(), "RunLog: writing the CSV log of {} failed", name_);
}

double RunLog::seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

double RunLog::sps(int64_t global_step) const { return double(global_step) / std::max(seconds(), 1e-9); }

void RunLog::progress(int64_t global_step, double recent_return, bool force) {
  if (every_ <= 0) return;
  const auto now = std::chrono::steady_clock::now();
  if (!force && std::chrono::duration<double>(now - last_print_).count() < every_) return;
  last_print_ = now;
  const double rate = sps(global_step);
  const double eta = rate > 0 ? double(total_ - global_step) / rate : 0.0;
  std::fprintf(stderr, "%s step %lld/%lld (%.0f%%) return %.1f SPS %.0f ETA %.0fs\n", name_.c_str(),
               (long long)global_step, (long long)total_,
               100.0 * double(global_step) / double(std::max<int64_t>(total_, 1)), recent_return, rate, eta);
}

void record_evaluation(TrainResult& result, RunLog& log, int64_t global_step, double mean_return) {
  result.eval_returns.emplace_back(double(global_step), mean_return);
  log.row(global_step, {{"eval_return", mean_return}});
}

void finish_run(TrainResult& result, RunLog& log, int64_t env_steps, double recent_return,
                const std::function<Evaluation()>& evaluate) {
  result.env_steps = env_steps;
  result.seconds = log.seconds();
  result.sps = log.sps(env_steps);
  const Evaluation final_eval = evaluate();
  result.final_eval_return = final_eval.mean_return;
  result.final_eval_episode_returns = final_eval.returns;
  record_evaluation(result, log, env_steps, final_eval.mean_return);
  log.progress(env_steps, recent_return, true);
}

}  // namespace gradlab::rl
