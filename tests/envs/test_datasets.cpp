// envs/datasets and envs/behaviour_policies: the normalised score on hand
// numbers, row bookkeeping of collected data (terminals, timeouts, episode
// returns, next_observations), the square-toy generator (band states,
// unclipped s + a), the levels and their order, determinism, the safetensors
// round trip, and the loader's errors (truncated file, missing key, bad
// shape, bad flag values).
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "envs/classic_control.h"
#include "envs/datasets.h"
#include "nn/safetensors.h"
#include "tensor/error.h"

using namespace gradlab;
using namespace gradlab::envs;
namespace fs = std::filesystem;

namespace {

struct ScratchDir {
  fs::path path;
  ScratchDir() {
    path = fs::temp_directory_path() / fmt::format("gradlab_test_envs_{}", ::getpid());
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::string scratch_file(const std::string& name) {
  static ScratchDir dir;
  return (dir.path / name).string();
}

std::vector<float> floats(const Tensor& t) { return t.contiguous().to_vector<float>(); }

std::string load_error(const std::string& path) {
  try {
    load_dataset(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("D4RL normalised score on hand numbers") {
  CHECK(normalized_score(-500.0, -1200.0, -150.0) == doctest::Approx(100.0 * 700.0 / 1050.0));
  CHECK(normalized_score(-1200.0, -1200.0, -150.0) == 0.0);
  CHECK(normalized_score(-150.0, -1200.0, -150.0) == doctest::Approx(100.0));
  CHECK(normalized_score(10.0, ReferenceReturns{0.0, 40.0}) == doctest::Approx(25.0));
  CHECK(normalized_score(-1300.0, -1200.0, -150.0) < 0);  // worse than random
  CHECK_THROWS_WITH_AS(
      normalized_score(1.0, 2.0, 2.0),
      doctest::Contains("normalized_score: the reference returns must be finite and differ, got random 2 and expert 2"),
      Error);
  CHECK_THROWS_WITH_AS(
      normalized_score(1.0, NAN, 2.0),
      doctest::Contains(
          "normalized_score: the reference returns must be finite and differ, got random nan and expert 2"),
      Error);
}

TEST_CASE("numeric metadata: read, NaN kept, and a missing or garbled field named") {
  Dataset d;
  d.metadata = {{"return_mean", "-412.5"}, {"return_std", "nan"}, {"episodes", "12x"}};
  CHECK(metadata_number(d, "return_mean") == -412.5);
  CHECK(std::isnan(metadata_number(d, "return_std")));
  CHECK_THROWS_WITH_AS(metadata_number(d, "episodes"),
                       doctest::Contains("dataset metadata: field 'episodes' = '12x' is not a number"), Error);
  CHECK_THROWS_WITH_AS(metadata_number(d, "level"), doctest::Contains("dataset metadata: no field 'level'"), Error);
}

TEST_CASE("collect_transitions keeps whole episodes, flags timeouts and terminals, and chains next_observations") {
  Pendulum env;
  const Dataset d = collect_transitions(env, uniform_random_policy(env.action_space(), 1), 450, 7);
  REQUIRE(d.size() == 450);
  CHECK(d.obs_dim() == 3);
  CHECK(d.act_dim() == 1);
  const auto obs = floats(d.observations), next = floats(d.next_observations), rew = floats(d.rewards);
  const auto term = floats(d.terminals), tout = floats(d.timeouts), act = floats(d.actions);
  double returns[2] = {0, 0};
  for (int i = 0; i < 450; ++i) {
    CHECK(term[i] == 0.0f);
    CHECK(tout[i] == ((i == 199 || i == 399 || i == 449) ? 1.0f : 0.0f));
    if (i < 400) returns[i / 200] += rew[i];
    if (tout[i] == 0.0f)
      for (int j = 0; j < 3; ++j) CHECK(next[i * 3 + j] == obs[(i + 1) * 3 + j]);
    CHECK(std::fabs(act[i]) <= 2.0f);
  }
  CHECK(d.metadata.at("episodes") == "2");  // the cut third episode is not counted
  const double mean = (returns[0] + returns[1]) / 2, sd = std::fabs(returns[0] - returns[1]) / 2;
  CHECK(std::stod(d.metadata.at("return_mean")) == doctest::Approx(mean).epsilon(1e-4));
  CHECK(std::stod(d.metadata.at("return_std")) == doctest::Approx(sd).epsilon(1e-4));
  // a true terminal state: CartPole pushed one way falls within a few dozen steps
  CartPole cart;
  const Dataset c = collect_transitions(
      cart, [](const std::vector<double>&) { return std::vector<double>{1.0}; }, 60, 3);
  const auto cterm = floats(c.terminals), ctout = floats(c.timeouts);
  int terminals = 0;
  for (int i = 0; i < 60; ++i) {
    terminals += cterm[i] != 0;
    CHECK(!(cterm[i] != 0 && ctout[i] != 0));
  }
  CHECK(terminals >= 1);
}

TEST_CASE("the square-toy generator: band states, uniform actions, unclipped s + a, signed-distance reward") {
  const Dataset d = square_toy_dataset(10000, 5);
  REQUIRE(d.size() == 10000);
  const auto obs = floats(d.observations), next = floats(d.next_observations), act = floats(d.actions),
             rew = floats(d.rewards), term = floats(d.terminals), tout = floats(d.timeouts);
  int outside = 0;
  for (int i = 0; i < 10000; ++i) {
    const float x = obs[2 * i], y = obs[2 * i + 1];
    CHECK(std::fabs(x + y) < 0.25f + 1e-6f);
    CHECK(std::fabs(act[2 * i]) <= 1.0f);
    CHECK(next[2 * i] == doctest::Approx(x + act[2 * i]).epsilon(1e-5));
    CHECK(next[2 * i + 1] == doctest::Approx(y + act[2 * i + 1]).epsilon(1e-5));
    CHECK(rew[i] == doctest::Approx((next[2 * i] + next[2 * i + 1]) / std::sqrt(2.0)).epsilon(1e-4));
    outside += std::fabs(next[2 * i]) > 3.0f || std::fabs(next[2 * i + 1]) > 3.0f;
    CHECK(term[i] == 0.0f);
    CHECK(tout[i] == 0.0f);
  }
  CHECK(outside > 0);  // s' is not clipped to the square in the generator
  const Dataset via_level = build_dataset("SquareToy", "random", 10000, 5);
  CHECK(floats(via_level.observations) == obs);
  CHECK(via_level.metadata.at("iid") == "true");
}

TEST_CASE("the Pendulum expert swings up and the levels sit where they should") {
  const ReferenceReturns refs = builtin_reference_returns("Pendulum-v1");
  CHECK(refs.expert > -250);  // swing-up and balance from any start
  CHECK(refs.random < -1000);
  const Dataset medium = build_dataset("Pendulum-v1", "medium", 20000, 1);
  const double score = std::stod(medium.metadata.at("normalized_score"));
  CHECK(score > 20);
  CHECK(score < 45);
  const Dataset expert = build_dataset("Pendulum-v1", "expert", 4000, 1);
  CHECK(std::stod(expert.metadata.at("normalized_score")) > 90);
  CHECK(medium.metadata.at("level") == "medium");
  CHECK(medium.metadata.at("termination_fn") == "none");
}

TEST_CASE("medium-replay and medium-expert are ordered unions of their parts") {
  const Dataset mr = build_dataset("PointMass-Run", "medium-replay", 5003, 2);
  REQUIRE(mr.size() == 5003);
  // the first share is random (p = 0), the last the medium mixture: mean reward rises
  const auto rew = floats(mr.rewards);
  double first = 0, last = 0;
  for (int i = 0; i < 1000; ++i) first += rew[i];
  for (int i = 4003; i < 5003; ++i) last += rew[i];
  CHECK(last > first + 50);
  const Dataset me = build_dataset("Pendulum-v1", "medium-expert", 2000, 3);
  const Dataset m = build_dataset("Pendulum-v1", "medium", 1000, 3);
  REQUIRE(me.size() == 2000);
  const auto me_obs = floats(me.observations), m_obs = floats(m.observations);
  CHECK(std::vector<float>(me_obs.begin(), me_obs.begin() + 3000) == m_obs);
  CHECK(std::stoi(me.metadata.at("episodes")) == 10);
  CHECK_THROWS_WITH_AS(
      build_dataset("Pendulum-v1", "median", 100, 0),
      doctest::Contains(
          "build_dataset: unknown level 'median' (known: random, medium, medium-replay, expert, medium-expert)"),
      Error);
  CHECK_THROWS_WITH_AS(build_dataset("CartPole-v1", "random", 100, 0),
                       doctest::Contains("builtin_behaviour: no built-in behaviour policies for 'CartPole-v1'"), Error);
}

TEST_CASE("building is deterministic in the seed") {
  const Dataset a = build_dataset("PointMass-Jump", "medium", 700, 9),
                b = build_dataset("PointMass-Jump", "medium", 700, 9);
  const Dataset c = build_dataset("PointMass-Jump", "medium", 700, 10);
  CHECK(floats(a.actions) == floats(b.actions));
  CHECK(floats(a.rewards) == floats(b.rewards));
  CHECK(floats(a.actions) != floats(c.actions));
  // the jump data keep y in a narrow band: the runner holds it near 0
  const auto obs = floats(build_dataset("PointMass-Jump", "expert", 500, 1).observations);
  for (size_t i = 0; i < obs.size(); i += 4) CHECK(std::fabs(obs[i + 1]) < 0.15f);
}

TEST_CASE("datasets round-trip through safetensors with D4RL's keys and metadata") {
  const Dataset d = build_dataset("Pendulum-v1", "medium-replay", 1000, 4);
  const std::string path = scratch_file("pendulum.safetensors");
  save_dataset(path, d);
  const SafetensorsFile raw = load_safetensors(path);
  std::vector<std::string> keys;
  for (const auto& [name, t] : raw.tensors) keys.push_back(name);
  CHECK(keys ==
        std::vector<std::string>{"observations", "actions", "rewards", "next_observations", "terminals", "timeouts"});
  const Dataset back = load_dataset(path);
  CHECK(floats(back.observations) == floats(d.observations));
  CHECK(floats(back.actions) == floats(d.actions));
  CHECK(floats(back.rewards) == floats(d.rewards));
  CHECK(floats(back.next_observations) == floats(d.next_observations));
  CHECK(floats(back.terminals) == floats(d.terminals));
  CHECK(floats(back.timeouts) == floats(d.timeouts));
  CHECK(back.metadata == d.metadata);
  for (const char* k : {"env", "level", "policy", "episodes", "return_mean", "return_std", "seed", "ref_random_return",
                        "ref_expert_return", "normalized_score"})
    CHECK_MESSAGE(back.metadata.count(k), "missing metadata ", k);
  CHECK(describe_dataset(back).find("Pendulum-v1") != std::string::npos);
}

TEST_CASE("the loader rejects truncated files, missing keys, bad shapes and bad flags, naming the file") {
  const Dataset d = build_dataset("Pendulum-v1", "random", 300, 1);
  const std::string good = scratch_file("good.safetensors");
  save_dataset(good, d);
  // truncated
  std::string bytes;
  {
    std::ifstream in(good, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  const std::string cut = scratch_file("cut.safetensors");
  {
    std::ofstream out(cut, std::ios::binary);
    out.write(bytes.data(), std::streamsize(bytes.size() - 100));
  }
  CHECK(load_error(cut).find(cut) != std::string::npos);
  // a missing key
  const std::string missing = scratch_file("missing.safetensors");
  save_safetensors(missing,
                   {{"observations", d.observations},
                    {"actions", d.actions},
                    {"rewards", d.rewards},
                    {"next_observations", d.next_observations},
                    {"terminals", d.terminals}},
                   d.metadata);
  std::string e = load_error(missing);
  CHECK(e.find("timeouts") != std::string::npos);
  CHECK(e.find(missing) != std::string::npos);
  // a wrong shape
  const std::string shape = scratch_file("shape.safetensors");
  save_safetensors(shape,
                   {{"observations", d.observations},
                    {"actions", d.actions},
                    {"rewards", d.rewards},
                    {"next_observations", d.next_observations.view({-1})},
                    {"terminals", d.terminals},
                    {"timeouts", d.timeouts}},
                   d.metadata);
  CHECK(load_error(shape).find("next_observations") != std::string::npos);
  // a flag that is not 0/1
  Dataset bad = d;
  bad.terminals = d.terminals.clone();
  bad.terminals.data<float>()[3] = 0.5f;
  const std::string flags = scratch_file("flags.safetensors");
  save_dataset(flags, bad);
  CHECK(load_error(flags).find("terminals") != std::string::npos);
  // dims that do not match the env named in the metadata
  Dataset wrong_env = d;
  wrong_env.metadata["env"] = "PointMass-Run";
  const std::string env_file = scratch_file("env.safetensors");
  save_dataset(env_file, wrong_env);
  CHECK(load_error(env_file).find("PointMass-Run") != std::string::npos);
  CHECK(load_error(good).empty());
}

TEST_CASE("termination functions of the offline envs say never; others are errors") {
  for (const char* env : {"Pendulum-v1", "SquareToy", "PointMass-Run", "PointMass-Jump"})
    CHECK(!termination_function(env)({0.0}, {0.0}, {0.0}));
  CHECK_THROWS_WITH_AS(termination_function("CartPole-v1"),
                       doctest::Contains("termination_function: none known for 'CartPole-v1'"), Error);
}
