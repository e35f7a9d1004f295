// A paired comparative claim recorded with its verdict (see claims.h).
#include "bench/common/claims.h"

#include <fmt/format.h>

namespace gradlab::bench {

void paired_claim(Experiment& ex, const std::string& text, const std::string& a, const std::string& b,
                  const std::string& metric) {
  const Stat d = stat_of(paired_differences(ex.values(a, metric), ex.values(b, metric)));
  std::string per_seed;
  for (double x : d.values) per_seed += fmt::format("{}{:+.3f}", per_seed.empty() ? "" : ", ", x);
  ex.claim(text, paired_verdict(d),
           fmt::format("{} {} minus {}: {} per seed ({}); {} {} vs {} {}", metric, a, b, format_stat(d, 3), per_seed, a,
                       format_stat(ex.stat(a, metric), 3), b, format_stat(ex.stat(b, metric), 3)));
}

std::string seed_values(const Experiment& ex, const std::string& method, const std::string& metric) {
  std::string out;
  for (double v : ex.values(method, metric)) out += fmt::format("{}{:.3f}", out.empty() ? "" : ", ", v);
  return out;
}

}  // namespace gradlab::bench
