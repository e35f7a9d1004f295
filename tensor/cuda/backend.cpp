// The CUDA entry of the kernel list, registered with the backend registry when
// the program starts (the library is linked whole, so this initialiser runs).
// Every entry of the CPU table has a CUDA kernel here.
#include "tensor/cuda/kernels.h"

namespace gradlab::cuda {

const Backend kBackend = {
    .name = "cuda",
    .copy = copy,
    .fill = fill,
    .unary = unary,
    .unary_backward = unary_backward,
    .binary = binary,
    .compare = compare,
    .where = where,
    .reduce = reduce,
    .arg_reduce = arg_reduce,
    .matmul = matmul,
    .linear = linear,
    .softmax = softmax,
    .gather = gather,
    .scatter_add = scatter_add,
    .index_select = index_select,
    .index_add = index_add,
    .cumsum = cumsum,
    .sort = sort,
    .topk = topk,
    .layer_norm = layer_norm,
    .layer_norm_backward = layer_norm_backward,
    .attention = attention,
    .attention_backward = attention_backward,
    .dropout = dropout,
    .adam_step = adam_step,
    .cross_entropy = cross_entropy,
    .cross_entropy_backward = cross_entropy_backward,
    .random = random,
};

namespace {
const bool registered = [] {
  register_backend(Device::cuda, &kBackend);
  return true;
}();
}  // namespace

}  // namespace gradlab::cuda
