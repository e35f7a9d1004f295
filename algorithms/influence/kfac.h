// K-FAC and EK-FAC influence on Linear layers, and LinFAC on a GPT's
// transformer sub-layers. A layer s = W a + b is treated as s = W' a' with
// W' = [W | b] [out, in'] and a' = (a, 1) (in' = in + 1 with a bias, else in).
// Its per-example gradient is G_m = sum_t D_t a'_t^T, D_t = dl_m/ds_t, and the
// curvature of the mean training loss is approximated per layer (layers are
// independent blocks) by a Kronecker product over row-major vec(W'):
//
//   F ~= S (x) A,   A [in', in'] from the inputs, S [out, out] from the D's.
//
// Tokens (for inputs [B, T, in]; for [B, in] both coincide, T = 1):
//   expand: A = mean over all N*T tokens of a' a'^T,
//           S = (1/N) sum_n sum_t D_t D_t^T                  (tokens independent)
//   reduce: a_n = mean_t a'_t, D_n = sum_t D_t,
//           A = mean_n a_n a_n^T,  S = mean_n D_n D_n^T      (one term per sequence)
// Fisher: D comes from Problem::sampled_losses (targets drawn from the model:
// the true Fisher / Gauss-Newton, the default) or Problem::example_losses (the
// empirical Fisher).
//
// With A = Q_A diag(lambda_A) Q_A^T and S = Q_S diag(lambda_S) Q_S^T, the
// inverse is applied in the Kronecker eigenbasis:
//
//   F^-1 G ~= Q_S [(Q_S^T G Q_A) ./ (Lambda + damping)] Q_A^T,
//   K-FAC:  Lambda_ij = lambda_S,i lambda_A,j
//   EK-FAC: Lambda_ij = mean_m ((Q_S^T G_m Q_A)_ij)^2   (G_m per example, from
//           the same sampled/empirical losses; eigenvalue correction)
//   damping = d * mean_ij Lambda_ij (relative, default d = 0.1) or d (absolute).
//
// and score(m) = sum_layers <F^-1 G_q, G_m>, G_q the query loss's gradient and
// G_m training example m's (always from example_losses). Fitting is one pass
// (two for EK-FAC) of batched forward/backward over the training set with the
// sum of the per-example losses, so the output gradient of row i is that of
// example i's own loss; scoring is one more pass over the examples scored.
// Everything runs on the problem's device except the eigendecompositions
// (host code: each factor crosses to the host once, its eigenpairs come back).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "algorithms/influence/influence.h"
#include "nn/gpt.h"

namespace gradlab::influence {

enum class KFACFisher { sampled, empirical };
enum class KFACTokens { expand, reduce };
enum class KFACDamping { relative, absolute };

struct KFACOptions {
  KFACFisher fisher = KFACFisher::sampled;
  bool eigen_correction = false;  // EK-FAC
  double damping = 0.1;
  KFACDamping damping_kind = KFACDamping::relative;
  KFACTokens tokens = KFACTokens::expand;
  uint64_t seed = 0;   // the sampled targets' draws (the same draws in both EK-FAC passes)
  std::string name{};  // empty: "kfac" or "ekfac", with "-reduce" for reduced tokens
};

// What fit() leaves per layer, all f64 on the problem's device.
struct KFACLayerFactors {
  Tensor A, S;                // [in', in'], [out, out]
  Tensor QA, QS;              // eigenvectors as columns, eigenvalues ascending
  Tensor lambda_A, lambda_S;  // [in'], [out] (clamped at 0)
  Tensor eigenvalues;         // Lambda [out, in']: K-FAC's products or EK-FAC's corrected values
  double damping = 0;         // the absolute damping added to Lambda
};

class KFACInfluence : public Estimator {
 public:
  explicit KFACInfluence(KFACOptions options = {});
  std::string name() const override;
  // Needs problem.linear_layers (no LoRA adapters) whose weights and biases
  // are exactly problem.params; sampled_losses for the sampled Fisher.
  void fit(const Problem& problem) override;
  Tensor score(const QueryLoss& query, const std::vector<int64_t>& train_examples) override;

  const KFACOptions& options() const { return options_; }
  const std::vector<KFACLayerFactors>& factors() const;
  // The gradient of a one-element loss with respect to each layer's [W | b]:
  // [out, in'] f64 per layer on the problem's device (a layer the loss does
  // not reach gives zeros).
  std::vector<Tensor> layer_gradients(const QueryLoss& loss) const;
  // Q_S [(Q_S^T G Q_A) ./ (Lambda + damping)] Q_A^T per layer, G [out, in']
  // (moved to the problem's device if it is elsewhere); results on that device.
  std::vector<Tensor> precondition(const std::vector<Tensor>& layer_grads) const;

 private:
  void check_fitted(const char* op) const;
  KFACOptions options_;
  Problem problem_;
  std::vector<KFACLayerFactors> factors_;
  bool fitted_ = false;
};

// The transformer sub-layers of a GPT, each a Linear map s = W a + b of its
// input: per block attn.qkv, attn.proj, fc and fc_out (in that order).
std::vector<std::shared_ptr<nn::Linear>> linfac_layers(const nn::GPT& model);
// The layers' weights and biases (those that exist), layer by layer: the
// params of a Problem for K-FAC or LinFAC.
std::vector<Var> linear_params(const std::vector<std::shared_ptr<nn::Linear>>& layers);
// LinFAC: EK-FAC on linfac_layers, tokens expanded or reduced, named
// "linfac-expand" or "linfac-reduce" (base supplies the other options).
std::unique_ptr<KFACInfluence> make_linfac(KFACTokens tokens, KFACOptions base = {});

}  // namespace gradlab::influence
