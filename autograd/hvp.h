// Hessian-vector products and inverse-Hessian-vector solvers, the second-order
// tools of influence functions: hvp() differentiates the gradient along a
// direction by central differences, conjugate_gradient() and lissa() solve
// (H + lambda I) x = b using only such products. A list of parameter tensors
// is treated throughout as one long vector (dot products sum over the list).
#pragma once

#include <functional>
#include <vector>

#include "autograd/var.h"

namespace gradlab {

// H v, the Hessian of loss_fn() with respect to `params` times v, by central
// differences of gradients:
//
//   H v ~ (grad L(theta + eps v) - grad L(theta - eps v)) / (2 eps).
//
// params are leaf Vars that require a gradient; v holds one tensor per param,
// of its shape, dtype and device. loss_fn is called twice and must return a
// one-element Var computed from the params' current values (it is run with
// recording on, even inside a NoGradGuard). Each param's value tensor is
// perturbed in place (so every view of it sees the perturbation) and copied
// back bit-exactly afterwards, also when loss_fn throws; the params' grads are
// restored as they were. Side effects to know: the in-place writes move the
// values' versions, so a graph recorded earlier that saved a param refuses a
// later backward; and other leaves reached by the loss accumulate the two
// passes' gradients (turn them off with requires_grad_(false) or zero them).
//
// Error. Expanding the gradient g along v, the even terms cancel and the
// quotient is H v + (eps^2 / 6) D^3 g[v, v, v] + O(eps^4), with D^3 g the third
// derivative of the gradient (the fourth of L): truncation costs
// O(eps^2 |third derivative| |v|^3). Rounding the two gradients (each off by
// about u |grad|, u the unit roundoff of the params' dtype) costs O(u |grad| /
// eps), and rounding theta +- eps v to the dtype adds an error of that order.
// Balancing the two gives eps ~ cbrt(u), scaled so that the step eps v is
// relative to the parameters' size; with eps = 0 we take
//
//   eps = cbrt(u) * (1 + |theta|) / |v|,
//
// cbrt(u) = cbrt(2^-24) = 3.9e-3 for f32 and cbrt(2^-53) = 4.8e-6 for f64
// (the coarsest dtype among the params decides), and the relative error of the
// product is then of order u^(2/3): about 1e-5 in f32, 1e-11 in f64, when the
// third derivative is of the size of the second. A zero v gives zeros. With
// every parameter on one device other than the CPU, that step is computed
// there and never read back; a given eps, or parameters on the CPU, take it
// on the host (hvp_default_eps).
std::vector<Tensor> hvp(const std::function<Var()>& loss_fn, const std::vector<Var>& params,
                        const std::vector<Tensor>& v, double eps = 0);

// The step hvp() takes for eps = 0: cbrt(u) * (1 + |theta|) / |v|, u the unit
// roundoff of the coarsest param dtype (0 when |v| = 0).
double hvp_default_eps(const std::vector<Var>& params, const std::vector<Tensor>& v);

// A linear operator on lists of tensors: x -> H x (e.g. a lambda around hvp(),
// possibly on a fresh minibatch each call). It must return tensors of its
// argument's shapes and dtypes.
using HvpOperator = std::function<std::vector<Tensor>(const std::vector<Tensor>&)>;

// What a solver reports besides its answer.
struct SolveReport {
  int iterations = 0;            // operator applications per repeat (CG: iterations run)
  double residual_norm = 0;      // CG: |b - (H + lambda I) x|, as the recursion tracks it
  double relative_residual = 0;  // CG: residual_norm / |b|
  bool converged = false;        // CG: relative_residual <= tol within max_iters
};

// Solves (H + lambda I) x = b by conjugate gradients, starting from x = 0, with
// H applied by `hvp`. H + lambda I must be symmetric positive definite (raise
// lambda for a non-convex loss): a direction of non-positive curvature throws
// gradlab::Error. Stops when |r| <= tol |b| or after max_iters iterations
// (in exact arithmetic at most n, the total number of elements). Returns x;
// fills *report when it is given. Dot products accumulate in f64; on a device
// the step sizes stay there and an iteration reads back one copy (p.Ap and
// r.r, for the curvature check and the stopping test).
std::vector<Tensor> conjugate_gradient(const HvpOperator& hvp, const std::vector<Tensor>& b, double lambda = 0,
                                       int max_iters = 100, double tol = 1e-10, SolveReport* report = nullptr);

// Estimates (H + lambda I)^-1 b by the LiSSA recursion (Agarwal et al. 2017):
//
//   x_0 = b,   x_j = b + (I - (H + lambda I) / scale) x_{j-1},   j = 1..depth,
//
// so that x_depth = sum_{k=0..depth} (I - A / scale)^k b with A = H + lambda I,
// a truncated Neumann series, and x_depth / scale -> A^-1 b. It converges when
// every eigenvalue mu of A satisfies 0 < mu < 2 scale; choose scale larger
// than the largest eigenvalue of H + lambda I (then the error shrinks like
// (1 - mu_min / scale)^depth, so depth should be several times scale /
// mu_min). The operator may be stochastic (a minibatch Hessian per call): the
// estimate is then averaged over `repeats` independent recursions. Returns the
// average of x_depth / scale; *report gets iterations = depth.
std::vector<Tensor> lissa(const HvpOperator& hvp, const std::vector<Tensor>& b, double lambda, double scale, int depth,
                          int repeats = 1, SolveReport* report = nullptr);

}  // namespace gradlab
