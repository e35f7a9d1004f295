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
// --device cpu|cuda|ref: the weights and tokens are drawn on the CPU, then
// moved; fitting and scoring run there (the eigendecompositions on the host),
// and the peak memory is still the host process's.
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

struct Args {
  int64_t threads = 1;
  int64_t seed = 0;
  int64_t sequences = 10000;
  int64_t vocab = 47;
  int64_t context = 12;
  int64_t d_model = 64;
  int64_t layers = 2;
  int64_t heads = 4;
  int64_t batch = 64;
  std::string cases = "kfac,ekfac,kfac-reduce,ekfac-reduce";
  std::string jsonl;
  bool smoke = false;
};

}  // namespace

int main(int argc, char** argv) {
  Cli cli("ekfac_speed",
          "K-FAC / EK-FAC influence on a small GPT's sub-layers: factor fitting and scoring speed (examples/s) and "
          "peak memory.");
  Args args;
  cli.bind(args.threads, "--threads", "OpenMP threads", kThreadBounds);
  cli.bind(args.seed, "--seed", "seed for the weights, the tokens and the sampled targets", {0, INT64_MAX});
  cli.bind(args.sequences, "--sequences", "training sequences", {2, 1 << 24});
  cli.bind(args.vocab, "--vocab", "vocabulary size", {2, 1 << 20});
  cli.bind(args.context, "--context", "tokens per sequence", {2, 4096});
  cli.bind(args.d_model, "--d-model", "model width", {1, 1 << 16});
  cli.bind(args.layers, "--layers", "transformer blocks", {1, 256});
  cli.bind(args.heads, "--heads", "attention heads (must divide --d-model)", {1, 1024});
  cli.bind(args.batch, "--batch", "sequences per forward/backward pass", {1, 1 << 20});
  cli.bind(args.cases, "--cases", "estimators to time");
  cli.bind(args.jsonl, "--jsonl", "append one JSON object per measurement to this file");
  cli.bind_flag(args.smoke, "--smoke", "a few seconds: 256 sequences of 8 tokens, d_model 16, one block");
  Device device = Device::cpu;
  cli.bind(device, "--device", "where the GPT lives and the estimators compute (cpu, cuda, ref)");
  cli.parse(argc, argv);
  try {
    args.sequences = cli.budget_default<int64_t>(args.smoke, "--sequences", args.sequences, 256);
    args.context = cli.budget_default<int64_t>(args.smoke, "--context", args.context, 8);
    args.d_model = cli.budget_default<int64_t>(args.smoke, "--d-model", args.d_model, 16);
    args.layers = cli.budget_default<int64_t>(args.smoke, "--layers", args.layers, 1);
    args.heads = cli.budget_default<int64_t>(args.smoke, "--heads", args.heads, 2);
    set_num_threads(int(args.threads));
    std::vector<std::string> names = split_list(args.cases);
    for (const std::string& c : names)
      GL_CHECK(c == "kfac" || c == "ekfac" || c == "kfac-reduce" || c == "ekfac-reduce",
               "--cases: unknown case '{}' (kfac, ekfac, kfac-reduce, ekfac-reduce)", c);

    Generator gen{uint64_t(args.seed)};
    nn::GPT gpt({.vocab = args.vocab,
                 .context = args.context,
                 .d_model = args.d_model,
                 .heads = args.heads,
                 .layers = args.layers},
                gen);
    const Tensor tokens = randint(0, args.vocab, {args.sequences, args.context}, gen).to(device);
    Tensor mask = zeros({args.sequences, args.context}, DType::f32, device);
    mask.narrow(1, args.context / 2, args.context - args.context / 2).fill_(1.0);  // the second half is the response
    const Tensor query_tokens = randint(0, args.vocab, {1, args.context}, gen).to(device);
    gpt.to(device);

    Problem problem;
    problem.linear_layers = linfac_layers(gpt);
    problem.params = linear_params(problem.linear_layers);
    problem.n_train = args.sequences;
    problem.batch_size = args.batch;
    problem.example_losses = [&](const std::vector<int64_t>& rows) {
      const Tensor idx = from_vector<int64_t>(rows, {int64_t(rows.size())}, device);
      return -gpt.sequence_logprob(index_select(tokens, 0, idx), index_select(mask, 0, idx)).sum;
    };
    problem.sampled_losses = [&](const std::vector<int64_t>& rows, Generator& g) {
      const Tensor idx = from_vector<int64_t>(rows, {int64_t(rows.size())}, device);
      return sampled_sequence_losses(gpt, index_select(tokens, 0, idx), index_select(mask, 0, idx), g);
    };
    const QueryLoss query = [&] { return sum(-gpt.sequence_logprob(query_tokens, mask.narrow(0, 0, 1)).sum); };
    std::vector<int64_t> all(static_cast<size_t>(args.sequences));
    for (int64_t i = 0; i < args.sequences; ++i) all[size_t(i)] = i;

    int64_t linfac_params = 0;
    for (const Var& p : problem.params) linfac_params += p.numel();
    std::printf(
        "ekfac_speed: GPT vocab %lld, context %lld, d_model %lld, %lld block(s), %lld heads; %lld sub-layers "
        "(%lld parameters); %lld sequences in batches of %lld; %lld thread(s)%s\n",
        (long long)args.vocab, (long long)args.context, (long long)args.d_model, (long long)args.layers,
        (long long)args.heads, (long long)problem.linear_layers.size(), (long long)linfac_params,
        (long long)args.sequences, (long long)args.batch, (long long)args.threads,
        device == Device::cpu ? "" : fmt::format("; on {}", device_name(device)).c_str());

    Jsonl out(args.jsonl);
    bool peak_resets = true;
    Table table({"case", "seconds", "examples/s", "peak RSS MiB", "RSS before MiB"});
    auto record = [&](const std::string& case_name, double seconds, double rss_before) {
      const double peak = proc_status_mib("VmHWM");
      const double rate = double(args.sequences) / seconds;
      table.row({case_name, fmt::format("{:.2f}", seconds), fmt::format("{:.0f}", rate), fmt::format("{:.1f}", peak),
                 fmt::format("{:.1f}", rss_before)});
      Jsonl::Record rec{.bench = "ekfac_speed",
                        .case_name = case_name,
                        .metric = "examples_per_s",
                        .value = rate,
                        .unit = "examples/s",
                        .threads = int(args.threads)};
      rec.numbers["peak_rss_mib"] = peak;
      rec.numbers["seconds"] = seconds;
      rec.extra["peak_rss"] = peak_resets ? "VmHWM reset before the phase" : "VmHWM since process start";
      rec.extra["sequences"] = std::to_string(args.sequences);
      rec.extra["model"] =
          fmt::format("vocab{}-ctx{}-d{}-L{}-H{}", args.vocab, args.context, args.d_model, args.layers, args.heads);
      rec.extra["batch"] = std::to_string(args.batch);
      if (device != Device::cpu) rec.extra["device"] = std::string(device_name(device));
      out.write(rec);
    };
    double checksum = 0;
    std::map<std::string, double> eigh_seconds;
    for (const std::string& name : names) {
      KFACOptions options = case_options(name);
      options.seed = uint64_t(args.seed);
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
                        .threads = int(args.threads)};
      rec.extra["model"] =
          fmt::format("vocab{}-ctx{}-d{}-L{}-H{}", args.vocab, args.context, args.d_model, args.layers, args.heads);
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
