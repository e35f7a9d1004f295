// The experiment runner (bench/common/experiment.h): confidence intervals,
// parallel runs that stay deterministic per seed, the files it writes, and
// a failing run reported with its method and seed; prepare() jobs for the
// assets a seed's methods share.
#include <doctest/doctest.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>

#include "bench/common/experiment.h"
#include "bench/common/seed_cache.h"
#include "tensor/error.h"
#include "tensor/random.h"

using namespace gradlab;
using namespace gradlab::bench;

namespace {

std::string read_all(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string temp_dir(const std::string& name) {
  auto p = std::filesystem::temp_directory_path() / ("gradlab-test-" + name);
  std::filesystem::remove_all(p);
  return p.string();
}

// Flags as a binary would parse them from a command line.
struct Flags {
  Cli cli{"test_experiment", "runner test"};
  ExperimentFlags flags{cli, 5, 3};
  explicit Flags(std::vector<std::string> args) {
    std::vector<char*> argv = {const_cast<char*>("test_experiment")};
    for (auto& a : args) argv.push_back(a.data());
    storage = std::move(args);
    cli.parse(int(argv.size()), argv.data());
  }
  std::vector<std::string> storage;
};

}  // namespace

TEST_CASE("stat_of: mean and Student-t 95% interval worked by hand") {
  // values 1, 2, 3, 4: mean 2.5, sample sd sqrt(5/3), t(3) = 3.182
  const Stat s = stat_of({1, 2, 3, 4});
  CHECK(s.n == 4);
  CHECK(s.mean == doctest::Approx(2.5));
  CHECK(s.ci95 == doctest::Approx(3.182 * std::sqrt(5.0 / 3.0) / 2.0));
  CHECK(s.min == 1);
  CHECK(s.max == 4);
  CHECK(stat_of({7}).ci95 == 0);
  CHECK(stat_of({}).n == 0);
  CHECK(t_quantile_975(1) == doctest::Approx(12.706));
  CHECK(t_quantile_975(30) == doctest::Approx(2.042));
  CHECK(t_quantile_975(120) == doctest::Approx(1.980).epsilon(0.002));  // tables: 1.980
  CHECK_THROWS_WITH_AS(t_quantile_975(0),
                       doctest::Contains("t_quantile_975: degrees of freedom must be at least 1, got 0"), Error);
}

TEST_CASE("the verdict rule on hand-made paired intervals") {
  // Differences 1, 2, 3 (mean 2, sd 1, t(2) = 4.303): 2 ± 2.484 spans zero.
  CHECK(paired_verdict(stat_of({1, 2, 3})) == Verdict::not_established);
  // 2, 2.1, 1.9, 2.0: 2 ± 0.13, above zero.
  CHECK(paired_verdict(stat_of({2, 2.1, 1.9, 2.0})) == Verdict::reproduced);
  // The mirror image: below zero, against the paper.
  CHECK(paired_verdict(stat_of({-2, -2.1, -1.9, -2.0})) == Verdict::not_reproduced);
  // One seed has no interval, whatever its sign; no seeds neither.
  CHECK(paired_verdict(stat_of({5})) == Verdict::not_established);
  CHECK(paired_verdict(stat_of({})) == Verdict::not_established);
  // Identical arms: a zero-width interval at zero is not evidence either way.
  CHECK(paired_verdict(stat_of({0, 0, 0})) == Verdict::not_established);
  CHECK(paired_differences({3, 5}, {1, 6}) == std::vector<double>{2, -1});
  CHECK_THROWS_WITH_AS(paired_differences({1}, {1, 2}), doctest::Contains("paired_differences: 1 values against 2"),
                       Error);
  CHECK(std::string(verdict_name(Verdict::not_reproduced)) == "not reproduced");
  // Parts of one claim: all must hold; any against the paper decides against it.
  CHECK(all_of({Verdict::reproduced, Verdict::reproduced}) == Verdict::reproduced);
  CHECK(all_of({Verdict::reproduced, Verdict::not_established}) == Verdict::not_established);
  CHECK(all_of({Verdict::not_established, Verdict::not_reproduced}) == Verdict::not_reproduced);
  // "on most of 4": 3 reproduced suffice; 2 not reproduced make 3 impossible.
  const Verdict R = Verdict::reproduced, E = Verdict::not_established, N = Verdict::not_reproduced;
  CHECK(at_least({R, R, R, N}, 3) == R);
  CHECK(at_least({R, R, E, E}, 3) == E);
  CHECK(at_least({R, R, E, N}, 3) == E);
  CHECK(at_least({R, R, N, N}, 3) == N);
  CHECK(at_least({E}, 1) == E);
  CHECK_THROWS(at_least({R, R}, 3));
  CHECK_THROWS(at_least({R}, 0));
  CHECK(minus({0.9, 0.8}, 0.85)[1] == doctest::Approx(-0.05));
}

TEST_CASE("budget flags choose the seed count and the step budget") {
  Flags quick({"--quick"});
  CHECK(quick.flags.budget() == Budget::quick);
  CHECK(quick.flags.seed_count() == 3);
  Flags full({});
  CHECK(full.flags.seed_count() == 5);
  Flags smoke({"--smoke"});
  CHECK(smoke.flags.seed_count() == 1);
  Flags forced({"--quick", "--seeds", "7"});
  CHECK(forced.flags.seed_count() == 7);
  // The command line rejects these values itself (tests/bench_cli.sh); a
  // program that sets the flags in code still meets the runner's own checks.
  Flags negative({});
  negative.flags.seeds = -2;
  CHECK_THROWS_WITH_AS(Experiment("toy", negative.flags),
                       doctest::Contains("toy: --seeds must be 0 (by budget) or positive, got -2"), Error);
  Flags no_threads({});
  no_threads.flags.threads = 0;
  CHECK_THROWS_WITH_AS(Experiment("toy", no_threads.flags),
                       doctest::Contains("toy: --threads must be at least 1, got 0"), Error);
  RunContext ctx;
  ctx.budget = Budget::quick;
  CHECK(ctx.pick(1000, 100, 10) == 100);
}

TEST_CASE("runs on parallel threads are deterministic per seed and land in seed order") {
  const std::string out = temp_dir("runner");
  Flags f({"--seeds", "4", "--threads", "2", "--seed", "10", "--out", out, "--jsonl", out + "/r.jsonl"});
  Experiment ex("toy", f.flags);
  // Each run draws from the (per-thread) default generator, which the runner seeds.
  auto fn = [](const RunContext& run) {
    RunResult r;
    const double u = rand({1}, DType::f64).item<double>();
    r.metric("draw", u);
    r.metric("seed", double(run.seed));
    for (int i = 0; i <= 4; ++i) r.curve("line", i, double(run.seed) * i);
    return r;
  };
  ex.add("a", fn);
  ex.add("b", fn);
  CHECK_THROWS_WITH_AS(ex.add("a", fn), doctest::Contains("toy: method 'a' registered twice"), Error);
  ex.run();
  for (const auto& m : {"a", "b"}) {
    const auto seeds = ex.values(m, "seed");
    REQUIRE(seeds.size() == 4);
    for (int i = 0; i < 4; ++i) CHECK(seeds[size_t(i)] == 10 + i);
  }
  // Same seed, same numbers, whichever thread ran it.
  CHECK(ex.values("a", "draw") == ex.values("b", "draw"));
  Generator g(11);
  CHECK(ex.values("a", "draw")[1] == rand({1}, g, DType::f64).item<double>());
  CHECK(ex.stat("a", "seed").mean == doctest::Approx(11.5));

  ex.report({"seed", "draw"}, {{{"a", "seed"}, {{"solved_seeds", 3}}}});
  ex.claim("seeds are counted", true, "4 seeds");
  ex.claim("a second claim", false, "not this time");
  ex.claim("a paired claim", Verdict::not_established, "+0.1 ± 0.3");
  const std::string summary = read_all(out + "/summary.csv");
  CHECK(summary.find("a,seed,11.5,") != std::string::npos);
  const std::string claims = read_all(out + "/claims.tsv");
  CHECK(claims.find("toy\tseeds are counted\t4 seeds\tyes\tfull") != std::string::npos);
  CHECK(claims.find("toy\ta second claim\tnot this time\tno\tfull\t-\n") != std::string::npos);
  CHECK(claims.find("toy\ta paired claim\t+0.1 ± 0.3\tno\tfull\tnot established\n") != std::string::npos);
  const std::string jsonl = read_all(out + "/r.jsonl");
  CHECK(jsonl.find("\"case\":\"a\",\"metric\":\"seed\",\"value\":11.5") != std::string::npos);
  CHECK(jsonl.find("\"solved_seeds\":3") != std::string::npos);
  CHECK(jsonl.find("\"metric\":\"claim_reproduced\",\"value\":0") != std::string::npos);
  CHECK(jsonl.find("\"verdict\":\"not established\"") != std::string::npos);
  const std::string curves = read_all(out + "/curves.csv");
  CHECK(curves.find("b,13,line,4,52") != std::string::npos);
  // The plotted band: the mean of seeds 10..13 at x = 4 is 46.
  const std::string dat = read_all(out + "/line.dat");
  CHECK(dat.find("4 46 ") != std::string::npos);
  std::filesystem::remove_all(out);
}

TEST_CASE("a run that throws stops the experiment, naming the method and seed") {
  const std::string out = temp_dir("runner-fail");
  Flags f({"--seeds", "2", "--threads", "2", "--out", out});
  Experiment ex("toy", f.flags);
  ex.add("ok", [](const RunContext&) { return RunResult{}; });
  ex.add("broken", [](const RunContext& run) -> RunResult {
    if (run.seed_index == 1) fail("diverged at step {}", 7);
    return RunResult{};
  });
  try {
    ex.run();
    FAIL("run() should have thrown");
  } catch (const Error& e) {
    const std::string msg = e.what();
    CHECK(msg.find("method 'broken' seed 2") != std::string::npos);
    CHECK(msg.find("diverged at step 7") != std::string::npos);
  }
  std::filesystem::remove_all(out);
}

TEST_CASE("prepare() builds each seed's shared assets once, in jobs of their own, before the runs") {
  // One worker takes the jobs in queue order, so every build comes first and
  // is done by its own job. With two, the order between one worker's build
  // and the other's runs is the scheduler's (on a busy machine a run can reach
  // the cache first and build the asset itself): each asset is still built
  // once, and the results are the same.
  for (const char* threads : {"1", "2"}) {
    CAPTURE(threads);
    const std::string out = temp_dir("runner-prepare");
    Flags f({"--seeds", "3", "--threads", threads, "--seed", "5", "--out", out});
    Experiment ex("toy", f.flags);
    std::atomic<int> builds{0};
    std::mutex mu;
    std::vector<std::string> builders;  // run.method of each build
    // The asset draws from the default generator, as a build inside a method would right after the runner seeds it.
    SeedCache<double> cache([&](const RunContext& run) {
      ++builds;
      std::lock_guard<std::mutex> lock(mu);
      builders.push_back(run.method);
      return rand({1}, DType::f64).item<double>() + double(run.seed);
    });
    std::atomic<int> runs_before_assets{0};
    auto fn = [&](const RunContext& run) {
      if (builds.load() < 3) ++runs_before_assets;
      RunResult r;
      r.metric("asset", cache.get(run));
      return r;
    };
    ex.add("a", fn);
    ex.add("b", fn);
    ex.prepare("the asset", [&](const RunContext& run) { cache.get(run); });
    ex.run();
    CHECK(builds == 3);
    if (std::string(threads) == "1") {
      CHECK(builders == std::vector<std::string>(3, "prepare:the asset"));
      CHECK(runs_before_assets == 0);
    }
    for (int i = 0; i < 3; ++i) {
      Generator g(uint64_t(5 + i));
      const double want = rand({1}, g, DType::f64).item<double>() + double(5 + i);
      CHECK(ex.values("a", "asset")[size_t(i)] == want);
      CHECK(ex.values("b", "asset")[size_t(i)] == want);
    }
    std::filesystem::remove_all(out);
  }
}

TEST_CASE("a preparation that throws stops the experiment, naming it and the seed") {
  const std::string out = temp_dir("runner-prepare-fail");
  Flags f({"--seeds", "2", "--threads", "2", "--out", out});
  Experiment ex("toy", f.flags);
  ex.add("ok", [](const RunContext&) { return RunResult{}; });
  ex.prepare("the SFT policy", [](const RunContext& run) {
    if (run.seed_index == 1) fail("out of data");
  });
  CHECK_THROWS_WITH_AS(ex.run(), doctest::Contains("toy: preparing the SFT policy for seed 2 failed: out of data"),
                       Error);
  std::filesystem::remove_all(out);
}

TEST_CASE("an unwritable --jsonl fails when the experiment is made, before any run; missing folders are made") {
  const std::string out = temp_dir("runner-jsonl");
  Flags f({"--out", out});
  f.flags.jsonl = "/etc/passwd/r.jsonl";  // under a regular file: no folder can be made there
  CHECK_THROWS_WITH_AS(Experiment("toy", f.flags), doctest::Contains("--jsonl: cannot write /etc/passwd/r.jsonl"),
                       Error);
  f.flags.jsonl = out + "/new/nested/r.jsonl";
  CHECK_NOTHROW(Experiment("toy", f.flags));
  CHECK(std::filesystem::exists(out + "/new/nested/r.jsonl"));
  std::filesystem::remove_all(out);
}
