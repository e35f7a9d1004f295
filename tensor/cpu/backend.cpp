// The CPU entry of the kernel list.
#include "tensor/cpu/kernels.h"

namespace gradlab::cpu {

const Backend kBackend = {
    .name = "cpu",
    .copy = copy,
    .fill = fill,
    .unary = unary,
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
    .cumsum = cumsum,
    .sort = sort,
    .topk = topk,
    .random = random,
};

}  // namespace gradlab::cpu
