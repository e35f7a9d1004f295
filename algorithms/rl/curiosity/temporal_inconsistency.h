// TI, self-supervised exploration via temporal inconsistency (Gao et al. 2022,
// arXiv 2208.11361; docs/papers/temporal-inconsistency.md). One predictor f_theta(s, a) is trained; every M
// gradient steps a copy of theta enters a FIFO of K snapshots (no other
// training, hence "no extra training cost"). For each transition the
// snapshots' normalised predictions form P [K, d] with rows w_k n(f_theta_k(s, a)),
// and the curiosity is the nuclear norm
//   r^i = ||P||_* = sum_i sigma_i(P)          (docs/papers/temporal-inconsistency.md)
// from the K x K Gram matrix and the Jacobi eigensolver (nuclear_norm.h).
// With unit rows, sqrt(K) <= ||P||_* <= sqrt(K min(K, d)): the minimum when the
// snapshots agree (rank one), larger as they disagree over time.
// Reconstructed (docs/papers/temporal-inconsistency.md marks them as gradlab's reconstruction; the paper's text was not
// available): the predictor is a latent forward model whose target is a fixed
// random embedding g(s') (as RND's target), trained with the normalised loss
// ||n(f(s, a)) - n(g(s'))||^2; K = 5 and M gradient steps (8 in CuriosityOptions; the
// experiments set M from the run's length with ti_interval_for); the
// variational weights w = softmax(-l_k / T), l_k the snapshot's prediction
// loss on the current batch (flag ti_variational; the ablation is w = 1/K);
// the optional Frobenius normalisation ||P||_* / (||P||_F sqrt(max(K, d))) as in
// the same group's NNM. Until K snapshots exist, the filled ones are used.
// Option ti_ema_target ("ti_ema"): a BYOL-style target. The predictor becomes
// f(s, a) = h(e(s), a) with an online encoder e, and g is an EMA of e
// (g <- tau g + (1 - tau) e after every gradient step, g starting at e); the
// snapshots then copy both e and h. The snapshot interval M is best chosen from
// the run's number of gradient steps so that the FIFO fills during the run
// (ti_interval_for in ppo_curiosity.h).
// On a device, every network, snapshot and EMA copy lives there; reward() reads
// two things back (check_batch's action range, and the Gram matrices for the
// host eigensolver, nuclear_norm.h) and update() two (the action range, its loss).
#pragma once

#include "algorithms/rl/curiosity/intrinsic.h"
#include "nn/ensemble.h"

namespace gradlab::rl::curiosity {

class TemporalInconsistency : public LearnedIntrinsicReward {
 public:
  TemporalInconsistency(CuriosityOptions options, uint64_t seed);
  std::string name() const override {
    return options_.ti_ema_target ? "ti_ema" : options_.ti_variational ? "ti" : "ti_uniform";
  }
  Tensor reward(const TransitionBatch& batch) override;

  // Copies the predictor's current weights into the FIFO (the oldest leaves when full).
  void take_snapshot();
  int64_t snapshot_count() const { return filled_; }
  int64_t snapshots_taken() const { return taken_; }
  // The weighted prediction matrices P [N, k, d] of the k filled snapshots, and the weights w [k].
  struct Predictions {
    Tensor P;
    Tensor weights;
  };
  Predictions predictions(const TransitionBatch& batch) const;

  nn::MLP predictor;          // D + A -> hidden -> hidden -> d
  nn::MLP target;             // D -> hidden -> d, fixed random embedding of s' (with ti_ema_target: EMA of encoder)
  nn::EnsembleMLP snapshots;  // K frozen copies of the predictor (with ti_ema_target: of head), a FIFO by slot
  // Used only with ti_ema_target: the online encoder, the head h and the encoder's snapshots.
  nn::MLP encoder;                    // D -> hidden -> d
  nn::MLP head;                       // d + A -> hidden -> d
  nn::EnsembleMLP encoder_snapshots;  // K frozen copies of the encoder, in the same slots as snapshots
  // The online prediction f(s, a) (with a graph to the trained parameters): [N, d], not normalised.
  Var predict(const TransitionBatch& batch) const;

 protected:
  Var loss(const TransitionBatch& batch) override;
  void after_step() override;
  // g <- tau g + (1 - tau) e (ti_ema_target only).
  void update_ema(double tau);

 private:
  int64_t filled_ = 0, next_slot_ = 0, taken_ = 0;
};

}  // namespace gradlab::rl::curiosity
