// build/bench/ekfac_speed: speed and memory of K-FAC / EK-FAC influence
// (algorithms/influence/kfac.h) on the transformer sub-layers of a small GPT
// (LinFAC: every block's qkv, proj, fc and fc_out), over --sequences training
// sequences of random tokens with the second half of each sequence as the
// response, and one query:
//   fit/CASE    factor fitting: one batched forward/backward pass over the
//               training set with model-sampled targets (two for EK-FAC),
//               plus the eigendecompositions                     (examples/s)
//   score/CASE  scoring every training sequence against the query: one more
//               batched pass with the real targets                (examples/s)
// CASE is kfac, ekfac, kfac-reduce or ekfac-reduce (tokens expanded or reduced).
// The eigendecompositions of the fitted factors, a fixed cost of every fit,
// are also timed on their own, again after the fit (eigh/CASE, seconds).
// Peak memory is the process's VmHWM (peak resident set, /proc/self/status),
// reset before each phase by writing 5 to /proc/self/clear_refs; where the
// reset is refused the figure is the peak since the start (the table says so).
//   build/bench/ekfac_speed --threads 2 --jsonl out.jsonl
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>

#include "algorithms/influence/fisher_targets.h"
#include "algorithms/influence/kfac.h"
#include "autograd/ops.h"
#include "bench/common/bench.h"
#include "bench/common/cli.h"
#include "tensor/parallel.h"

using namespace gradlab;
using namespace gradlab::bench;
using namespace gradlab::influence;

namespace {

// A "Vm...:  N kB" line of /proc/self/status in MiB; -1 when unreadable.
double proc_status_mib(const std::string& key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key + ":", 0) == 0) return std::stod(line.substr(key.size() + 1)) / 1024.0;
  return -1;
}

// Resets VmHWM to the current resident set; false when the kernel refuses.
bool reset_peak_rss() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.flush();
  return bool(out);
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

KFACOptions case_options(const std::string& name) {
  KFACOptions o;
  o.eigen_correction = name.rfind("ekfac", 0) == 0;
  o.tokens = name.find("-reduce") != std::string::npos ? KFACTokens::reduce : KFACTokens::expand;
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  Cli cli("ekfac_speed",
          "K-FAC / EK-FAC influence on a small GPT's sub-layers: factor fitting and scoring speed (examples/s) and "
          "peak memory.");
  int64_t& threads = cli.integer("--threads", 1, "OpenMP threads", kThreadBounds);
  int64_t& seed = cli.integer("--seed", 0, "seed for the weights, the tokens and the sampled targets", {0, INT64_MAX});
  int64_t& sequences = cli.integer("--sequences", 10000, "training sequences", {2, 1 << 24});
  int64_t& vocab = cli.integer("--vocab", 47, "vocabulary size", {2, 1 << 20});
  int64_t& context = cli.integer("--context", 12, "tokens per sequence", {2, 4096});
  int64_t& d_model = cli.integer("--d-model", 64, "model width", {1, 1 << 16});
  int64_t& layers = cli.integer("--layers", 2, "transformer blocks", {1, 256});
  int64_t& heads = cli.integer("--heads", 4, "attention heads (must divide --d-model)", {1, 1024});
  int64_t& batch = cli.integer("--batch", 64, "sequences per forward/backward pass", {1, 1 << 20});
  std::string& cases = cli.text("--cases", "kfac,ekfac,kfac-reduce,ekfac-reduce", "estimators to time");
  std::string& jsonl = cli.text("--jsonl", "", "append one JSON object per measurement to this file");
  bool& smoke = cli.flag("--smoke", "a few seconds: 256 sequences of 8 tokens, d_model 16, one block");
  cli.parse(argc, argv);
  try {
    sequences = cli.budget_default<int64_t>(smoke, "--sequences", sequences, 256);
    context = cli.budget_default<int64_t>(smoke, "--context", context, 8);
    d_model = cli.budget_default<int64_t>(smoke, "--d-model", d_model, 16);
    layers = cli.budget_default<int64_t>(smoke, "--layers", layers, 1);
    heads = cli.budget_default<int64_t>(smoke, "--heads", heads, 2);
    set_num_threads(int(threads));
    std::vector<std::string> names = split_list(cases);
    for (const std::string& c : names)
      GL_CHECK(c == "kfac" || c == "ekfac" || c == "kfac-reduce" || c == "ekfac-reduce",
               "--cases: unknown case '{}' (kfac, ekfac, kfac-reduce, ekfac-reduce)", c);

    Generator gen{uint64_t(seed)};
    nn::GPT gpt({.vocab = vocab, .context = context, .d_model = d_model, .heads = heads, .layers = layers}, gen);
    const Tensor tokens = randint(0, vocab, {sequences, context}, gen);
    Tensor mask = zeros({sequences, context});
    mask.narrow(1, context / 2, context - context / 2).fill_(1.0);  // the second half is the response
    const Tensor query_tokens = randint(0, vocab, {1, context}, gen);

    Problem problem;
    problem.linear_layers = linfac_layers(gpt);
    problem.params = linear_params(problem.linear_layers);
    problem.n_train = sequences;
    problem.batch_size = batch;
    problem.example_losses = [&](const std::vector<int64_t>& rows) {
      const Tensor idx = from_vector<int64_t>(rows, {int64_t(rows.size())});
      return -gpt.sequence_logprob(index_select(tokens, 0, idx), index_select(mask, 0, idx)).sum;
    };
    problem.sampled_losses = [&](const std::vector<int64_t>& rows, Generator& g) {
      const Tensor idx = from_vector<int64_t>(rows, {int64_t(rows.size())});
      return sampled_sequence_losses(gpt, index_select(tokens, 0, idx), index_select(mask, 0, idx), g);
    };
    const QueryLoss query = [&] { return sum(-gpt.sequence_logprob(query_tokens, mask.narrow(0, 0, 1)).sum); };
    std::vector<int64_t> all(static_cast<size_t>(sequences));
    for (int64_t i = 0; i < sequences; ++i) all[size_t(i)] = i;

    int64_t linfac_params = 0;
    for (const Var& p : problem.params) linfac_params += p.numel();
    std::printf(
        "ekfac_speed: GPT vocab %lld, context %lld, d_model %lld, %lld block(s), %lld heads; %lld sub-layers "
        "(%lld parameters); %lld sequences in batches of %lld; %lld thread(s)\n",
        (long long)vocab, (long long)context, (long long)d_model, (long long)layers, (long long)heads,
        (long long)problem.linear_layers.size(), (long long)linfac_params, (long long)sequences, (long long)batch,
        (long long)threads);

    Jsonl out(jsonl);
    bool peak_resets = true;
    Table table({"case", "seconds", "examples/s", "peak RSS MiB", "RSS before MiB"});
    auto record = [&](const std::string& case_name, double seconds, double rss_before) {
      const double peak = proc_status_mib("VmHWM");
      const double rate = double(sequences) / seconds;
      table.row({case_name, fmt::format("{:.2f}", seconds), fmt::format("{:.0f}", rate), fmt::format("{:.1f}", peak),
                 fmt::format("{:.1f}", rss_before)});
      Jsonl::Record rec{.bench = "ekfac_speed",
                        .case_name = case_name,
                        .metric = "examples_per_s",
                        .value = rate,
                        .unit = "examples/s",
                        .threads = int(threads)};
      rec.numbers["peak_rss_mib"] = peak;
      rec.numbers["seconds"] = seconds;
      rec.extra["peak_rss"] = peak_resets ? "VmHWM reset before the phase" : "VmHWM since process start";
      rec.extra["sequences"] = std::to_string(sequences);
      rec.extra["model"] = fmt::format("vocab{}-ctx{}-d{}-L{}-H{}", vocab, context, d_model, layers, heads);
      rec.extra["batch"] = std::to_string(batch);
      out.write(rec);
    };
    double checksum = 0;
    std::map<std::string, double> eigh_seconds;
    for (const std::string& name : names) {
      KFACOptions options = case_options(name);
      options.seed = uint64_t(seed);
      KFACInfluence estimator(options);
      double rss_before = proc_status_mib("VmRSS");
      peak_resets = reset_peak_rss() && peak_resets;
      auto start = std::chrono::steady_clock::now();
      estimator.fit(problem);
      record("fit/" + name, seconds_since(start), rss_before);
      // The fit's eigendecompositions on their own: eigh of every fitted A and S again.
      start = std::chrono::steady_clock::now();
      for (const KFACLayerFactors& f : estimator.factors())
        checksum += 0 * (eigh(f.A).eigenvalues.numel() + eigh(f.S).eigenvalues.numel());
      eigh_seconds[name] = seconds_since(start);

      rss_before = proc_status_mib("VmRSS");
      peak_resets = reset_peak_rss() && peak_resets;
      start = std::chrono::steady_clock::now();
      const Tensor scores = estimator.score(query, all);
      record("score/" + name, seconds_since(start), rss_before);
      checksum += sum(abs(scores)).item();
    }
    std::fputs(table.str().c_str(), stdout);
    for (const auto& [name, seconds] : eigh_seconds) {
      std::printf("fit/%s includes the eigendecompositions of its factors (f64 eigh), %.2f s on their own\n",
                  name.c_str(), seconds);
      Jsonl::Record rec{.bench = "ekfac_speed",
                        .case_name = "eigh/" + name,
                        .metric = "seconds",
                        .value = seconds,
                        .unit = "s",
                        .threads = int(threads)};
      rec.extra["model"] = fmt::format("vocab{}-ctx{}-d{}-L{}-H{}", vocab, context, d_model, layers, heads);
      out.write(rec);
    }
    std::printf("peak RSS: VmHWM of /proc/self/status, %s; sum of |scores| over the cases: %.6g\n",
                peak_resets ? "reset before each phase (clear_refs)" : "since the process started (reset refused)",
                checksum);
  } catch (const std::exception& e) {  // gradlab::Error, and the library's (filesystem, bad_alloc)
    std::fprintf(stderr, "ekfac_speed: %s\n", e.what());
    return 1;
  }
  return 0;
}
