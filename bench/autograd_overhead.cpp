// build/bench/autograd_overhead: what autograd costs per op when the ops are
// small. A chain of --ops ops on --size x --size f32 tensors (h*w, h+b, tanh,
// sigmoid, repeated), summed and differentiated, in microseconds per op against
// PyTorch running the same chain; plus the forward alone, recording and not.
// Then checks that backward frees each graph (allocator bytes in use).
//   build/bench/autograd_overhead --threads 1 --jsonl out.jsonl
//   build/bench/autograd_overhead --device cuda   # the chain on the GPU (PyTorch's reference is the CPU's: off)
#include <fmt/format.h>

#include <cstdio>

#include "autograd/ops.h"
#include "bench/common/bench.h"
#include "bench/common/cli.h"
#include "tensor/allocator.h"
#include "tensor/backend.h"

using namespace gradlab;
using namespace gradlab::bench;

namespace {

// The leaves of the chain: an input x and two parameters w, b, all requiring grad.
struct Chain {
  Var x, w, b;
  int64_t ops;

  // h = x, then for i < ops: h*w, h+b, tanh(h), sigmoid(h) in turn; sum(h).
  Var loss() const {
    Var h = x;
    for (int64_t i = 0; i < ops; ++i) {
      switch (i % 4) {
        case 0: h = h * w; break;
        case 1: h = h + b; break;
        case 2: h = tanh(h); break;
        default: h = sigmoid(h); break;
      }
    }
    return sum(h);
  }
  // One training-style call: fresh grads, a fresh graph, forward and backward.
  void forward_backward() const {
    x.zero_grad(), w.zero_grad(), b.zero_grad();
    loss().backward();
  }
};

const char* const kCases[] = {"chain_fwd_bwd", "chain_fwd_record", "chain_fwd_nograd"};

std::string mib(int64_t bytes) { return fmt::format("{:.3f} MiB", double(bytes) / (1 << 20)); }

struct Args {
  int64_t ops = 1000;
  int64_t size = 64;
  int64_t threads = 1;
  int64_t seed = 0;
  int64_t samples = 7;
  std::string jsonl;
  bool no_reference = false;
  bool smoke = false;
  Device device = Device::cpu;
};

}  // namespace

int main(int argc, char** argv) {
  Cli cli("autograd_overhead",
          "Microseconds per op of a chain of small ops, forward + backward and forward alone, against PyTorch.");
  Args args;
  cli.bind(args.ops, "--ops", "ops in the chain (h*w, h+b, tanh, sigmoid, repeated)", {1, INT64_MAX});
  cli.bind(args.size, "--size", "the tensors are size x size f32", {1, INT64_MAX});
  cli.bind(args.threads, "--threads", "OpenMP threads (both for gradlab and PyTorch)", kThreadBounds);
  cli.bind(args.seed, "--seed", "seed for x, w and b", {0, INT64_MAX});
  cli.bind(args.samples, "--samples", "timed samples per case", {1, INT64_MAX});
  cli.bind(args.jsonl, "--jsonl", "append one JSON object per measurement to this file");
  cli.bind_flag(args.no_reference, "--no-reference", "skip the PyTorch reference");
  cli.bind_flag(args.smoke, "--smoke", "a tiny run to check that the binary works (20 ops, 1 sample, no reference)");
  cli.bind(args.device, "--device", "where the chain's tensors live (PyTorch's reference is the CPU's only)");
  cli.parse(argc, argv);
  try {
    args.ops = cli.budget_default<int64_t>(args.smoke, "--ops", args.ops, 20);
    args.samples = cli.budget_default<int64_t>(args.smoke, "--samples", args.samples, 1);
    if (args.smoke || args.device != Device::cpu) args.no_reference = true;
    GL_CHECK(args.ops >= 1, "--ops: must be >= 1, got {}", args.ops);
    GL_CHECK(args.size >= 1, "--size: must be >= 1, got {}", args.size);
    GL_CHECK(args.threads >= 1, "--threads: must be >= 1, got {}", args.threads);
    GL_CHECK(args.samples >= 1, "--samples: must be >= 1, got {}", args.samples);
    set_num_threads(int(args.threads));
    std::printf("autograd_overhead: %lld ops on [%lld, %lld] f32, %s, %lld thread(s)\n", (long long)args.ops,
                (long long)args.size, (long long)args.size, std::string(device_name(args.device)).c_str(),
                (long long)args.threads);

    Generator gen{uint64_t(args.seed)};
    auto leaf = [&] { return Var::leaf(randn({args.size, args.size}, gen).to(args.device)); };
    const Var x = leaf(), w = leaf(), b = leaf();
    const Chain chain{x, w, b, args.ops};
    // Each call ends with the device's queue drained, so a GPU's time is counted, not only its launches.
    const Backend& be = backend(args.device);
    std::map<std::string, std::function<void()>> fns = {
        {"chain_fwd_bwd", [&] { chain.forward_backward(), be.synchronize(); }},
        {"chain_fwd_record", [&] { chain.loss(), be.synchronize(); }},  // the graph is built, then dropped
        {"chain_fwd_nograd",
         [&] {
           NoGradGuard no_grad;
           chain.loss();
           be.synchronize();
         }},
    };

    // gradlab is timed before and after the PyTorch run, and the samples
    // pooled, so that a slow spell of a shared machine weighs on both sides.
    const double min_sample = args.smoke ? 0.0 : 0.05;
    const int warmup = args.smoke ? 0 : 2;
    const int half = std::max(1, int(args.samples + 1) / 2);
    auto time_all = [&] {
      std::map<std::string, Timing> ts;
      for (const char* c : kCases) ts[c] = time_it(fns.at(c), half, min_sample, warmup);
      return ts;
    };
    const std::map<std::string, Timing> before = time_all();
    Reference torch;
    if (!args.no_reference) {
      torch =
          run_reference("bench/pytorch/autograd_overhead.py",
                        fmt::format("--ops {} --size {} --threads {} --seed {} --samples {} --min-sample-seconds {}",
                                    args.ops, args.size, args.threads, args.seed, args.samples, min_sample),
                        int(args.threads));
      if (!torch.ok)
        std::printf("PyTorch reference skipped: %s (install python3-torch: make bench-deps)\n", torch.why.c_str());
    }
    const std::map<std::string, Timing> after = args.no_reference ? before : time_all();

    Jsonl out(args.jsonl);
    const std::string ref_name = torch.ok ? torch.label : "pytorch";
    Table table({"case", "us/op", "min-max", ref_name + " us/op", "ours/ref (lower is better)"});
    const double per_op_us = 1e6 / double(args.ops);
    for (const char* c : kCases) {
      const Timing t = args.no_reference ? before.at(c) : merge(before.at(c), after.at(c));
      const double us = t.median * per_op_us;
      std::vector<std::string> row = {c, fmt::format("{:.2f}", us),
                                      fmt::format("{:.2f}-{:.2f}", t.min * per_op_us, t.max * per_op_us)};
      Jsonl::Record rec{.bench = "autograd_overhead",
                        .case_name = c,
                        .metric = "us_per_op",
                        .value = us,
                        .unit = "us",
                        .threads = int(args.threads)};
      rec.extra["ops"] = std::to_string(args.ops);
      rec.extra["size"] = std::to_string(args.size);
      rec.extra["device"] = std::string(device_name(args.device));
      const std::optional<double> ref_seconds = torch.seconds(c);
      add_comparison_lower_is_better(row, rec, us, ref_seconds ? std::optional(*ref_seconds * per_op_us) : std::nullopt,
                                     torch.label);
      out.write(rec);
      table.row(row);
    }
    std::fputs(table.str().c_str(), stdout);

    // Each backward frees its graph, and a graph that is never differentiated
    // is freed with its last Var: the bytes in use must not grow over many calls.
    // The peak of one call shows what the graph holds while it lives.
    bool freed = true;
    for (const char* c : {"chain_fwd_bwd", "chain_fwd_record"}) {
      const MemoryStats start = memory_stats(args.device);
      reset_peak_memory(args.device);
      for (int i = 0; i < 200; ++i) fns.at(c)();
      const MemoryStats end = memory_stats(args.device);
      std::printf("memory, %s x 200: in use %s before, %s after (%+lld bytes); peak %s\n", c,
                  mib(start.in_use_bytes).c_str(), mib(end.in_use_bytes).c_str(),
                  (long long)(end.in_use_bytes - start.in_use_bytes), mib(end.peak_bytes).c_str());
      freed = freed && end.in_use_bytes <= start.in_use_bytes;
    }
    if (!freed) {
      std::fprintf(stderr, "autograd_overhead: the bytes in use grew over 200 calls: a graph is not freed\n");
      return 1;
    }
  } catch (const std::exception& e) {  // gradlab::Error, and the library's (filesystem, bad_alloc)
    std::fprintf(stderr, "autograd_overhead: %s\n", e.what());
    return 1;
  }
  return 0;
}
