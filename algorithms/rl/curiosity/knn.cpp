// k-nearest-neighbour distances within a batch (the particle entropy estimate of RE3 and APT).
#include "algorithms/rl/curiosity/knn.h"

#include <algorithm>

#include "tensor/error.h"
#include "tensor/ops.h"

namespace gradlab::rl::curiosity {

Tensor knn_distances(const Tensor& z, int64_t k) {
  GL_CHECK(z.dim() == 2, "knn_distances: expected embeddings [N, F], got {}", z.shape());
  GL_CHECK(k >= 1, "knn_distances: k must be >= 1, got {}", k);
  const int64_t n = z.size(0);
  const int64_t kk = std::min(k, n - 1);
  if (kk < 1) return zeros({n, 0}, DType::f64, z.device());
  const Tensor zz = z.to(DType::f64);
  const Tensor sq = sum(square(zz), {1}, true);                                // [N, 1]
  const Tensor d2 = maximum(sq + sq.mT() - matmul(zz, zz.mT()) * 2.0, 0.0);    // squared distances [N, N]
  const Tensor nearest = topk(sqrt(d2), kk + 1, 1, /*largest=*/false).values;  // self (0) first
  return nearest.slice(1, 1, kk + 1).contiguous();
}

}  // namespace gradlab::rl::curiosity
