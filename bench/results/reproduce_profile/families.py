#!/usr/bin/env python3
# The core-seconds of a profiled reproduce run (run.sh's folder) by kernel
# family, per experiment and in total: each experiment's perf samples are
# shared out by symbol into the families below (first match wins), and its
# user + system seconds are split in those shares.
#   python3 bench/results/reproduce_profile/families.py /tmp/reproduce_profile > families.md
import re
import subprocess
import sys

FAMILIES = [
    ("GEMM", r"micro_kernel|edge_kernel|gemm_thread|pack_a|pack_b|gemm_narrow|gemm_row|cpu::gemm|gemm_with|narrow_across|narrow_"),
    ("attention", r"attention"),
    ("layer norm", r"layer_norm"),
    ("activations (SiLU, GELU, tanh, sigmoid, ReLU, softplus)",
     r"Silu|Gelu|Tanh|Sigmoid|Relu|Softplus|bias_activation|vm::exp|vm::erf"),
    ("other elementwise (add, mul, copy, where, fill, cast)",
     r"run_binary|binary_run|unary_run|unary_backward|for_each_run|copy_row|cpu::copy|fill|where|compare|cast|convert"),
    ("reductions, softmax, cross-entropy, sort", r"reduce|softmax|cross_entropy|logsumexp|sort|arg|row_reduce|cumsum"),
    ("optimiser (Adam)", r"adam|polyak"),
    ("random numbers", r"random|philox|Generator|normal|uniform"),
    ("caching allocator and its lock", r"device_alloc|device_free|pthread_mutex|lll_lock"),
    ("kernel (system calls, page faults)", r"kernel\.kallsyms"),
    ("malloc, free, memcpy, memset", r"malloc|free|memcpy|memset|memmove|_int_|unlink_chunk"),
    ("op and autograd bookkeeping",
     r"autograd|Var::|VarImpl|Node|GradContext|_M_invoke|backward|engine|shared_ptr|_Sp_counted|std::function|"
     r"make_shared|record|Tensor::|gradlab::linear|gradlab::backend|unary_var|binary_op|binary_shape|gradlab::mul|"
     r"gradlab::add|gradlab::matmul|Module::|accumulate_into|Storage|omp_get"),
    ("environments", r"envs::|Pendulum|CartPole|PointMass|SquareToy|Maze|NoisyTV|step\b"),
    ("libm (scalar exp, log, pow...)", r"libm\.so"),
]


def family(symbol_line):
    for name, pattern in FAMILIES:
        if re.search(pattern, symbol_line):
            return name
    return "other"


def shares(perf_file):
    report = subprocess.run(["perf", "report", "-i", perf_file, "--no-children", "--sort", "dso,symbol", "--stdio"],
                            capture_output=True, text=True, check=True).stdout
    out = {}
    for line in report.splitlines():
        m = re.match(r"\s+([0-9.]+)%\s+(.*)", line)
        if m:
            out[family(m.group(2))] = out.get(family(m.group(2)), 0.0) + float(m.group(1)) / 100
    return out


folder = sys.argv[1]
times = {}
for line in open(f"{folder}/times.txt"):
    p = line.split()
    if len(p) == 4:
        times[p[0]] = (float(p[1]), float(p[2]) + float(p[3]))
core_seconds = {}
for e, (_, cpu) in times.items():
    for f, share in shares(f"{folder}/{e}.perf").items():
        core_seconds.setdefault(f, {})[e] = share * cpu
exps = list(times)
total = {f: sum(v.values()) for f, v in core_seconds.items()}
all_cpu = sum(t[1] for t in times.values())
print("| kernel family | " + " | ".join(exps) + " | all (core-s) | share |")
print("| --- |" + " ---: |" * (len(exps) + 2))
for f in sorted(core_seconds, key=lambda f: -total[f]):
    row = " | ".join(f"{core_seconds[f].get(e, 0):.0f}" for e in exps)
    print(f"| {f} | {row} | {total[f]:.0f} | {100 * total[f] / all_cpu:.1f}% |")
print("| **core-seconds** | " + " | ".join(f"{times[e][1]:.0f}" for e in exps) + f" | {all_cpu:.0f} | |")
print("| **seconds** | " + " | ".join(f"{times[e][0]:.0f}" for e in exps) +
      f" | {sum(t[0] for t in times.values()):.0f} | |")
