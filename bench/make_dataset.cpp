// build/bench/make_dataset: builds a D4RL-style offline dataset (envs/datasets.h)
// from the built-in behaviour policies, saves it as safetensors, reloads it to
// validate the file, and prints its summary (rows, episodes, returns, score).
//   build/bench/make_dataset --env Pendulum-v1 --level medium --transitions 50000 --out pendulum-medium.safetensors
//   build/bench/make_dataset --env Pendulum-v1 --level all --out-dir datasets/
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>

#include "bench/common/bench.h"
#include "bench/common/cli.h"
#include "envs/datasets.h"
#include "tensor/atomic_file.h"
#include "tensor/error.h"

using namespace gradlab;
using namespace gradlab::bench;

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

double meta_number(const envs::Dataset& d, const std::string& key) {
  const auto it = d.metadata.find(key);
  return it == d.metadata.end() ? NAN : envs::metadata_number(d, key);
}

void make_one(const std::string& env, const std::string& level, int64_t transitions, uint64_t seed,
              const std::string& path, Jsonl& jsonl) {
  const double start = now();
  const envs::Dataset built = envs::build_dataset(env, level, transitions, seed);
  envs::save_dataset(path, built);
  const envs::Dataset d = envs::load_dataset(path);  // validates what was written
  const double seconds = now() - start;
  fmt::print("== {}\n{}built and verified in {:.2f} s\n", path, envs::describe_dataset(d), seconds);
  const std::string case_name = env + "/" + level;
  for (const auto& [metric, unit] : {std::pair<std::string, std::string>{"return_mean", "return"},
                                     {"return_std", "return"},
                                     {"normalized_score", "score"}}) {
    const double v = meta_number(d, metric);
    if (!std::isfinite(v)) continue;
    Jsonl::Record r;
    r.bench = "make_dataset";
    r.case_name = case_name;
    r.metric = metric;
    r.value = v;
    r.unit = unit;
    r.numbers["transitions"] = double(d.size());
    r.numbers["episodes"] = meta_number(d, "episodes");
    r.numbers["seed"] = double(seed);
    jsonl.write(r);
  }
}

struct Args {
  std::string env = "Pendulum-v1";
  std::string level = "medium";
  int64_t transitions = 50000;
  int64_t seed = 0;
  std::string out;
  std::string out_dir;
  std::string jsonl;
  int64_t threads = 1;
  bool smoke = false;
};

}  // namespace

int main(int argc, char** argv) {
  Cli cli("make_dataset", "builds a D4RL-style offline dataset (safetensors) from built-in behaviour policies");
  Args args;
  cli.bind(args.env, "--env", "Pendulum-v1, PointMass-Run, PointMass-Jump or SquareToy");
  cli.bind(args.level, "--level", "random, medium, medium-replay, expert, medium-expert, or all (needs --out-dir)");
  cli.bind(args.transitions, "--transitions", "rows in the dataset", {1, INT64_MAX});
  cli.bind(args.seed, "--seed", "seed of the environment and the behaviour policies", {0, INT64_MAX});
  cli.bind(args.out, "--out", "output .safetensors file (one level)");
  cli.bind(args.out_dir, "--out-dir", "output folder: writes ENV-LEVEL.safetensors for each level");
  cli.bind(args.jsonl, "--jsonl", "append one JSON line per summary figure to this file");
  cli.bind(args.threads, "--threads", "accepted for uniformity; dataset building is single-threaded", kThreadBounds);
  cli.bind_flag(args.smoke, "--smoke", "a 2000-row Pendulum-v1 medium dataset in a temporary folder");
  cli.parse(argc, argv);
  try {
    Jsonl jsonl(args.jsonl);
    if (args.smoke) {
      const std::string dir =
          (std::filesystem::temp_directory_path() / fmt::format("gradlab_make_dataset_{}", ::getpid())).string();
      make_directories(dir);
      make_one("Pendulum-v1", "medium", 2000, uint64_t(args.seed), dir + "/smoke.safetensors", jsonl);
      std::filesystem::remove_all(dir);
      return 0;
    }
    std::vector<std::string> levels = {args.level};
    if (args.level == "all") {
      GL_CHECK(!args.out_dir.empty(), "make_dataset: --level all needs --out-dir");
      levels = envs::dataset_levels();
    }
    for (const std::string& lv : levels) {
      std::string path = args.out;
      if (!args.out_dir.empty()) {
        make_directories(args.out_dir);
        path = args.out_dir + "/" + args.env + "-" + lv + ".safetensors";
      }
      GL_CHECK(!path.empty(), "make_dataset: give --out FILE or --out-dir DIR");
      make_one(args.env, lv, args.transitions, uint64_t(args.seed), path, jsonl);
    }
  } catch (const std::exception& e) {  // gradlab::Error, and the library's (filesystem, bad_alloc)
    fmt::print(stderr, "make_dataset: {}\n", e.what());
    return 1;
  }
  return 0;
}
