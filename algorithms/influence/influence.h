// gradlab's influence library: one interface, many estimators. An influence
// estimator answers "had training example z_m weighed a little more in
// training, how much would the query loss L_q have dropped?". For a model
// trained to a minimum of the mean training loss L(theta) = (1/N) sum_m l_m,
// upweighting z_m by eps moves the optimum by -eps H^-1 g_m (H the Hessian of
// L, g_m the gradient of l_m), so the query loss changes by
// -eps g_q^T H^-1 g_m. gradlab's sign convention:
//
//   score(m) = g_q^T H^-1 g_m
//
// positive: z_m pushes the model toward the query (lowers L_q; when L_q is
// -log pi(undesired output | prompt), z_m promotes the undesired output);
// negative: z_m counteracts it. Leaving z_m out changes L_q by about
// score(m) / N, which is what leave_one_out() measures by retraining.
//
// Each estimator replaces H^-1 (or the whole product) by something cheaper:
//   exact.h        the explicit f64 Hessian, solved directly
//   iterative.h    CG and LiSSA on Hessian-vector products
//   tracin.h       TracIn: gradient dot products over checkpoints (H^-1 -> lr sum)
//   datainf.h      DataInf: a closed-form inverse of a damped per-layer Fisher
//   kfac.h         K-FAC / EK-FAC on Linear layers, and LinFAC on transformer
//                  sub-layers (tokens expanded or reduced)
//   leave_one_out.h  ground truth by retraining
// and metrics.h ranks and compares their scores. They compute on the device
// of the problem's parameters (cpu, cuda, ref) and hand the scores to the host
// once per score() call; see README.md for what else crosses.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "autograd/var.h"
#include "nn/linear.h"
#include "tensor/random.h"

namespace gradlab::influence {

// What an estimator sees of a model and its training set.
struct Problem {
  // The parameters influence is taken with respect to: leaf Vars that require
  // a gradient (all of the model's, or a subset such as its Linear weights).
  std::vector<Var> params;
  // The number of training examples, indexed 0 .. n_train - 1.
  int64_t n_train = 0;
  // Per-example training losses [B] of the examples `rows` (the training
  // objective is their mean over all n_train examples). For a sequence, the
  // loss of its response tokens summed.
  std::function<Var(const std::vector<int64_t>& rows)> example_losses;
  // Optional: the same losses with the targets drawn from the model's own
  // predictive distribution with `gen` (the true Fisher / Gauss-Newton
  // curvature of K-FAC and LinFAC). Estimators that need it throw when it is
  // missing and the option asks for it.
  std::function<Var(const std::vector<int64_t>& rows, Generator& gen)> sampled_losses;
  // Optional, for K-FAC and LinFAC: the Linear layers whose weight (and bias,
  // if any) are among `params`.
  std::vector<std::shared_ptr<nn::Linear>> linear_layers;
  // Rows per forward/backward pass when an estimator loops over the training set.
  int64_t batch_size = 64;
};

// A query: a one-element loss of the current model, e.g. the mean of
// -log pi(undesired output | prompt) over the model's own undesired generations.
using QueryLoss = std::function<Var()>;

// The one interface: fit once per model, then score any query against any
// training examples.
class Estimator {
 public:
  virtual ~Estimator() = default;
  // A short name for tables ("exact", "cg", "lissa", "tracin", "datainf", "kfac", "ekfac", "linfac-reduce", ...).
  virtual std::string name() const = 0;
  // Precomputes what does not depend on the query (a Hessian, curvature
  // factors, training gradients); call again after the model changes.
  virtual void fit(const Problem& problem) = 0;
  // The score of each training example in `train_examples` (indices into the
  // problem's training set) on the query: [k] f64 on the CPU, in the order
  // given (computed on the problem's device, then read once). Throws
  // gradlab::Error before fit() or for an index out of range.
  virtual Tensor score(const QueryLoss& query, const std::vector<int64_t>& train_examples) = 0;
};

// ---- gradients as flat vectors (shared by the estimators) ----

// Every helper below computes on the parameters' device (check_problem
// requires them all on one): flat vectors and gradient tables are made there
// and nothing is copied to the host.

// The number of elements of the parameters, summed.
int64_t parameter_count(const std::vector<Var>& params);
// The gradient of a one-element loss with respect to params, flattened into
// one f64 vector [P] (parameter order; a parameter the loss does not reach
// contributes zeros). Leaves the params' .grad as it found them.
Tensor flat_gradient(const Var& loss, const std::vector<Var>& params);
// The per-example gradients of the problem's losses for `rows`: [k, P] f64,
// one backward pass per example (exact and simple; K-FAC has a batched path).
Tensor example_gradients(const Problem& problem, const std::vector<int64_t>& rows);
// Splits a flat [P] vector back into tensors of the params' shapes, dtypes and
// device (the inverse of flattening), and flattens a list of tensors (all on
// one device) into [P] f64 on that device.
std::vector<Tensor> unflatten(const Tensor& flat, const std::vector<Var>& params);
Tensor flatten(const std::vector<Tensor>& tensors);
// Checks a problem and the row indices against it (op names the caller); the
// parameters must all live on one device, the problem's device.
void check_problem(const Problem& problem, const std::string& op);
// The device the problem's parameters live on (where the estimators compute).
Device problem_device(const Problem& problem);
void check_rows(const Problem& problem, const std::vector<int64_t>& rows, const std::string& op);

// The params' current values, and a way to put saved values back (TracIn's
// checkpoints, leave-one-out's restarts).
std::vector<Tensor> snapshot(const std::vector<Var>& params);
void restore(const std::vector<Var>& params, const std::vector<Tensor>& values);

}  // namespace gradlab::influence
