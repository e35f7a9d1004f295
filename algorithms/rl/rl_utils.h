// What PPO, SAC and TD3 share besides their storage (the counterpart of
// CleanRL's cleanrl_utils): the result a train function returns, the
// deterministic evaluation that ends every run, seed derivation for the
// run's independent random streams, RunLog, the CSV log with fixed keys
// plus the progress line on stderr, and how evaluations go into both.
#pragma once

#include <chrono>
#include <cstdint>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "autograd/var.h"
#include "envs/env.h"
#include "tensor/random.h"

namespace gradlab::rl {

// Builds the env a run trains or evaluates on; empty means envs::make_env(env_id).
using EnvFactory = std::function<envs::EnvPtr()>;
envs::EnvPtr make_env_or(const EnvFactory& factory, const std::string& env_id);

// A train function's answer: the learning curves (x = environment steps) and
// the final evaluation of the deterministic (greedy) policy.
struct TrainResult {
  std::vector<std::pair<double, double>> episode_returns;  // (global_step, return) of each training episode
  std::vector<std::pair<double, double>> eval_returns;     // (global_step, mean eval return), incl. the final one
  double final_eval_return = 0;                            // mean over eval_episodes
  std::vector<double> final_eval_episode_returns;
  int64_t env_steps = 0;
  double seconds = 0;
  double sps = 0;  // environment steps per second over the whole run (updates included)
};

// Mean return of `episodes` episodes of `act` (observation -> action) on env,
// episode e started with reset(seed + e). Each episode must end by itself
// (the env's own time limit); one longer than max_steps throws.
struct Evaluation {
  double mean_return = 0;
  std::vector<double> returns;
};
Evaluation evaluate_policy(envs::Env& env, const std::function<std::vector<double>(const std::vector<double>&)>& act,
                           int64_t episodes, uint64_t seed, int64_t max_steps = 1000000);

// Seeds split by gradlab::derive_seed (tensor/random.h).
using gradlab::derive_seed;

// A CSV log with one fixed header for every algorithm (the CleanRL keys:
// global_step, episodic_return, episodic_length, losses/..., SPS, ...). Each
// row sets some keys; the others are left empty. Rows are appended and
// flushed one by one, so a killed run keeps every finished line. An empty
// path writes nothing. The progress line goes to stderr at most every
// `progress_seconds` (never when that is <= 0).
class RunLog {
 public:
  RunLog(const std::string& csv_path, std::string run_name, int64_t total_steps, double progress_seconds = 2.0);
  static const std::vector<std::string>& keys();

  // One CSV row at global_step; every key must be one of keys().
  void row(int64_t global_step, const std::map<std::string, double>& values);
  // Prints "name step s/total (p%) return r SPS x ETA t" when due (or always with force).
  void progress(int64_t global_step, double recent_return, bool force = false);
  // Steps per second since construction.
  double sps(int64_t global_step) const;
  double seconds() const;

 private:
  std::ofstream csv_;
  std::string name_;
  int64_t total_;
  double every_;
  std::chrono::steady_clock::time_point start_, last_print_;
};

// The evaluations that punctuate a run, into its result and its log:
// record_evaluation files one made during training at env step global_step
// (its mean joins eval_returns and the CSV); finish_run ends every run at
// env_steps: the run's time and steps per second (which leave the final
// evaluation out), then that evaluation, and the last progress line.
void record_evaluation(TrainResult& result, RunLog& log, int64_t global_step, double mean_return);
void finish_run(TrainResult& result, RunLog& log, int64_t env_steps, double recent_return,
                const std::function<Evaluation()>& evaluate);

}  // namespace gradlab::rl
