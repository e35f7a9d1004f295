// The last step shared by the RL front ends (build/bench/ppo, sac, td3): one
// summary line on stdout and, with --jsonl, the final evaluation return and
// the steps per second as records {"bench": ALGO, "case": ENV, ...}.
#pragma once

#include <fmt/format.h>

#include <string>

#include "algorithms/rl/rl_utils.h"
#include "bench/common/bench.h"

namespace gradlab::bench {

// `eval_kind` says how the evaluation acts ("greedy", "deterministic").
inline void report_training(const std::string& algo, const std::string& env_id, int64_t seed, const rl::TrainResult& r,
                            const char* eval_kind, int64_t eval_episodes, const std::string& jsonl, int64_t threads) {
  fmt::print("{} {} seed {}: {} steps in {:.1f} s ({:.0f} SPS), {} eval return {:.2f} over {} episodes\n", algo, env_id,
             seed, r.env_steps, r.seconds, r.sps, eval_kind, r.final_eval_return, eval_episodes);
  Jsonl out(jsonl);
  out.write({.bench = algo,
             .case_name = env_id,
             .metric = "eval_return",
             .value = r.final_eval_return,
             .unit = "return",
             .threads = int(threads)});
  out.write({.bench = algo,
             .case_name = env_id,
             .metric = "SPS",
             .value = r.sps,
             .unit = "steps/s",
             .threads = int(threads)});
}

}  // namespace gradlab::bench
