#!/usr/bin/env bash
# The install check of `make test`: `make install` into a temporary prefix,
# then a small program that uses the tensor library, autograd, nn and optim
# (and the ops' self-registration, which needs the whole archive) is compiled
# against the installed headers with nothing but
# `pkg-config --cflags --libs gradlab`, linked, and run.
#   tests/install_check.sh BUILD=build ARCH=native CUDA=0 SANITIZE=0
# (the make variables of the build whose library is installed).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v pkg-config >/dev/null || { echo "install check: pkg-config is missing (make deps installs it)"; exit 1; }
prefix=$(mktemp -d "${TMPDIR:-/tmp}/gradlab-install.XXXXXX")
trap 'rm -rf "$prefix"' EXIT

# A make of its own (not the jobs of the make test that runs this script).
env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make --no-print-directory install PREFIX="$prefix" "$@"
test -f "$prefix/lib/libgradlab.a" && test -f "$prefix/include/gradlab/tensor/ops.h" &&
  test -f "$prefix/lib/pkgconfig/gradlab.pc" || { echo "install check: installed files missing"; exit 1; }

cat >"$prefix/first.cpp" <<'CPP'
// Fits y = 2x + 1 with one Linear layer and SGD, and checks an op's gradient.
#include <cmath>
#include <cstdio>

#include "autograd/gradcheck.h"
#include "autograd/ops.h"
#include "nn/linear.h"
#include "optim/sgd.h"

using namespace gradlab;

int main() {
  Generator gen(0);
  const Tensor x = randn({64, 1}, gen);
  const Tensor y = x * 2.0 + 1.0;
  nn::Linear layer(1, 1, gen);
  optim::SGD opt(layer.parameters(), {.lr = 0.1});
  double loss = 0;
  for (int step = 0; step < 200; ++step) {
    const Var l = mse(layer(Var(x)), Var(y));
    opt.zero_grad();
    l.backward();
    opt.step();
    loss = l.item();
  }
  const bool registered = !gradcheck_registry().empty();  // static registration survived the link
  const GradcheckResult g = gradcheck([](const Vars& v) { return tanh(v[0]); }, {{{3, 2}}});
  std::printf("loss %.2e, weight %.3f, bias %.3f, %zu gradcheck specs, tanh gradcheck %s\n", loss,
              layer.weight.value().item(), layer.bias.value().item(), gradcheck_registry().size(),
              g.ok ? "ok" : "FAILED");
  return (loss < 1e-6 && registered && g.ok && std::fabs(layer.weight.value().item() - 2.0) < 1e-3) ? 0 : 1;
}
CPP

export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
flags=$(pkg-config --cflags --libs gradlab)
echo "pkg-config --cflags --libs gradlab: $flags"
# shellcheck disable=SC2086  # the flags are words
g++ -O1 "$prefix/first.cpp" -o "$prefix/first" $flags
"$prefix/first"
echo "install check: passed"
