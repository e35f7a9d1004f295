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
    .linear = linear,
    .softmax = softmax,
    .gather = gather,
    .scatter_add = scatter_add,
    .index_select = index_select,
    .index_add = index_add,
    .cumsum = cumsum,
    .sort = sort,
    .topk = topk,
    // -- fused layers (layer_norm, attention, dropout): entries below --
    .layer_norm = layer_norm,
    .layer_norm_backward = layer_norm_backward,
    .attention = attention,
    .attention_backward = attention_backward,
    .dropout = dropout,

    // -- optimisers (adam): entries below --
    .adam_step = adam_step,

    // -- fused losses (cross_entropy): entries below --
    .cross_entropy = cross_entropy,
    .cross_entropy_backward = cross_entropy_backward,

    .random = random,
};

}  // namespace gradlab::cpu
