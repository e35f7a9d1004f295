// The k-nearest-neighbour distances within a batch of embeddings, the particle
// estimate of state entropy that RE3 and APT reward (docs/papers/rl-baselines.md
// "APT and RE3"): for each row of z [N, F], the Euclidean distances to its k
// nearest other rows, ascending. Computed on z's device (the ops it uses, f64
// matmul, maximum, sqrt and topk, have kernels on cpu, ref and cuda), with no
// host read.
#pragma once

#include "tensor/tensor.h"

namespace gradlab::rl::curiosity {

// z [N, F] -> [N, min(k, N - 1)] f64 distances (self excluded); [N, 0] when N < 2.
Tensor knn_distances(const Tensor& z, int64_t k);

}  // namespace gradlab::rl::curiosity
