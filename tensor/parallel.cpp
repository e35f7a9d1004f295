// The wait policy of idle OpenMP threads, read once from the environment
// OpenMP itself reads, and the elementwise grains that follow from it
// (tensor/parallel.h).
#include "tensor/parallel.h"

#include <cctype>
#include <cstdlib>
#include <string>

namespace gradlab {

bool idle_threads_sleep() {
  static const bool sleep = [] {
    const char* policy = std::getenv("OMP_WAIT_POLICY");
    if (policy == nullptr) return false;
    std::string p(policy);
    for (char& c : p) c = char(std::toupper(static_cast<unsigned char>(c)));
    return p == "PASSIVE";
  }();
  return sleep;
}

int64_t map_grain(bool transcendental) {
  if (idle_threads_sleep()) return transcendental ? 65536 : 262144;
  return transcendental ? kGrainTranscendental : kGrainElementwise;
}

}  // namespace gradlab
