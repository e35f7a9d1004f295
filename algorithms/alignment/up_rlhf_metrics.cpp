// AUROC by ranks and the 15-bin expected calibration error of a reward
// model's Bradley-Terry preference probabilities (docs/papers/up-rlhf.md; the paper's §4.2).
#include "algorithms/alignment/up_rlhf_metrics.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "tensor/error.h"

namespace gradlab::alignment {

double auroc(const std::vector<double>& pos, const std::vector<double>& neg) {
  GL_CHECK(!pos.empty() && !neg.empty(), "auroc: need positive and negative scores, got {} and {}", pos.size(),
           neg.size());
  struct Item {
    double score;
    bool positive;
  };
  std::vector<Item> all;
  all.reserve(pos.size() + neg.size());
  for (double s : pos) all.push_back({s, true});
  for (double s : neg) all.push_back({s, false});
  for (const Item& it : all) GL_CHECK(std::isfinite(it.score), "auroc: a score is not finite ({})", it.score);
  std::sort(all.begin(), all.end(), [](const Item& a, const Item& b) { return a.score < b.score; });
  // Mann-Whitney U from average ranks (1-based), ties sharing their mean rank.
  double positive_rank_sum = 0;
  for (size_t i = 0; i < all.size();) {
    size_t j = i;
    while (j < all.size() && all[j].score == all[i].score) ++j;
    const double mean_rank = 0.5 * double(i + 1 + j);  // mean of ranks i+1 .. j
    for (size_t k = i; k < j; ++k)
      if (all[k].positive) positive_rank_sum += mean_rank;
    i = j;
  }
  const double np = double(pos.size()), nn = double(neg.size());
  return (positive_rank_sum - np * (np + 1) / 2) / (np * nn);
}

Calibration preference_calibration(const std::vector<double>& margins, const std::vector<bool>& a_preferred, int bins) {
  GL_CHECK(!margins.empty() && margins.size() == a_preferred.size(),
           "preference_calibration: {} margins and {} labels (need as many, at least one)", margins.size(),
           a_preferred.size());
  GL_CHECK(bins >= 1, "preference_calibration: bins must be positive, got {}", bins);
  double largest = 0;
  for (double d : margins) {
    GL_CHECK(std::isfinite(d), "preference_calibration: a margin is not finite ({})", d);
    largest = std::max(largest, std::fabs(d));
  }
  Calibration c;
  // The largest |margin| maps to probability 0.99: s = logit(0.99) / max |d|.
  c.scale = largest > 0 ? std::log(0.99 / 0.01) / largest : 0.0;
  std::vector<double> p_sum(bins, 0), y_sum(bins, 0), count(bins, 0);
  double correct = 0;
  for (size_t i = 0; i < margins.size(); ++i) {
    const double p = 1 / (1 + std::exp(-c.scale * margins[i]));  // P(a > b) = sigma(s (r_a - r_b))
    const int b = std::min(bins - 1, int(p * bins));
    p_sum[b] += p;
    y_sum[b] += a_preferred[i] ? 1 : 0;
    count[b] += 1;
    if (margins[i] == 0)
      correct += 0.5;
    else if ((margins[i] > 0) == a_preferred[i])
      correct += 1;
  }
  const double n = double(margins.size());
  for (int b = 0; b < bins; ++b)
    if (count[b] > 0) c.ece += count[b] / n * std::fabs(p_sum[b] / count[b] - y_sum[b] / count[b]);
  c.accuracy = correct / n;
  return c;
}

bool proxy_collapsed(const std::vector<double>& proxy, double noise) {
  GL_CHECK(!proxy.empty(), "proxy_collapsed: no proxy values");
  GL_CHECK(noise >= 0 && std::isfinite(noise), "proxy_collapsed: noise must be finite and >= 0, got {}", noise);
  for (double v : proxy) GL_CHECK(std::isfinite(v), "proxy_collapsed: a proxy value is not finite ({})", v);
  const double start = proxy.front(), final_value = proxy.back();
  const double peak = *std::max_element(proxy.begin(), proxy.end());
  const double drop = peak - final_value;
  return drop > std::max(0.5 * (peak - start), noise);
}

}  // namespace gradlab::alignment
