// The evaluation figures of UP-RLHF (docs/papers/up-rlhf.md): the AUROC with which an
// uncertainty score separates two sets of samples (late-policy vs SFT), and
// the expected calibration error of a reward model's preference
// probabilities, P(a > b) = sigma(s (r_a - r_b)) with the scale s set so that
// the largest |r_a - r_b| of the test set maps to 0.99, in equal-width bins;
// and the flag that tells a collapsed PPO run from an over-optimised one.
#pragma once

#include <vector>

namespace gradlab::alignment {

// P(score of a random positive > score of a random negative), ties counted
// one half (the Mann-Whitney statistic over n_pos n_neg). Both sets non-empty.
double auroc(const std::vector<double>& positive_scores, const std::vector<double>& negative_scores);

struct Calibration {
  double ece = 0;       // sum_b (n_b / N) |mean p_b - mean y_b|
  double accuracy = 0;  // fraction with (r_a > r_b) == y (a tie counts one half)
  double scale = 0;     // s: logit(0.99) / max |r_a - r_b| (0 when every margin is 0)
};
// margins[i] = r(a_i) - r(b_i), a_preferred[i] = whether the label prefers a_i.
Calibration preference_calibration(const std::vector<double>& margins, const std::vector<bool>& a_preferred,
                                   int bins = 15);

// Over-optimisation is the proxy reward rising while the gold reward falls; a
// run whose proxy (the reward PPO maximises) itself falls has collapsed
// instead. With proxy the evaluated proxy means in order (proxy[0] at the SFT
// start), the run is collapsed when the proxy ends further below its peak than
//   max(half of its gain from the start to the peak, noise)
// where noise is the evaluation's own uncertainty (e.g. two standard errors
// of the final mean). A run that never rises and ends more than `noise`
// below its start is collapsed too. At least one value; noise >= 0.
bool proxy_collapsed(const std::vector<double>& proxy, double noise);

}  // namespace gradlab::alignment
