// The CPU entry of the kernel list.
#include "tensor/cpu/kernels.h"

namespace gradlab::cpu {

const Backend kBackend = {
    .name = "cpu",
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
    .softmax = softmax,
    .gather = gather,
    .scatter_add = scatter_add,
    .index_select = index_select,
    .index_add = index_add,
    .cumsum = cumsum,
    .sort = sort,
    .topk = topk,
    // -- fused layers (layer_norm, attention, dropout): entries below --

    // -- fused losses (cross_entropy): entries below --

    .random = random,
};

}  // namespace gradlab::cpu
