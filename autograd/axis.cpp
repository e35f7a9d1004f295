// Differentiable ops along one axis: softmax, log_softmax, cumsum, gather,
// scatter_add, index_select, and the values of sort and topk (whose gradient
// goes back to where each value came from).
#include "autograd/gradcheck.h"
#include "autograd/ops.h"

namespace gradlab {

GL_OP(kSoftmax, "softmax");
GL_OP(kLogSoftmax, "log_softmax");
GL_OP(kCumsum, "cumsum");
GL_OP(kGather, "gather");
GL_OP(kScatterAdd, "scatter_add");
GL_OP(kIndexSelect, "index_select");
GL_OP(kSort, "sort");
GL_OP(kTopk, "topk");

Var softmax(const Var& x, int64_t axis) {
  Tensor y = softmax(x.value(), axis);
  // dx = y (dy - sum(dy y))
  return record(kSoftmax, y, {x}, {y}, [axis](const GradContext& g) -> std::vector<Tensor> {
    const Tensor& yv = g.saved[0];
    return {mul(yv, sub(g.dout, sum(mul(g.dout, yv), {axis}, true)))};
  });
}

Var log_softmax(const Var& x, int64_t axis) {
  Tensor y = log_softmax(x.value(), axis);
  // dx = dy - softmax(x) sum(dy)
  return record(kLogSoftmax, y, {x}, {y}, [axis](const GradContext& g) -> std::vector<Tensor> {
    return {sub(g.dout, mul(exp(g.saved[0]), sum(g.dout, {axis}, true)))};
  });
}

Var cumsum(const Var& x, int64_t axis) {
  // dx_i = sum_{j >= i} dy_j = total - cumsum(dy)_i + dy_i
  return record(kCumsum, cumsum(x.value(), axis), {x}, {}, [axis](const GradContext& g) -> std::vector<Tensor> {
    return {add(sub(sum(g.dout, {axis}, true), cumsum(g.dout, axis)), g.dout)};
  });
}

Var gather(const Var& x, int64_t axis, const Tensor& index) {
  return record(kGather, gather(x.value(), axis, index), {x}, {index},
                [axis](const GradContext& g) -> std::vector<Tensor> {
                  return {scatter_add(zeros(g.shapes[0], g.dout.dtype(), g.dout.device()), axis, g.saved[0], g.dout)};
                });
}

Var scatter_add(const Var& x, int64_t axis, const Tensor& index, const Var& src) {
  return record(kScatterAdd, scatter_add(x.value(), axis, index, src.value()), {x, src}, {index},
                [axis](const GradContext& g) -> std::vector<Tensor> {
                  return {g.need(0) ? g.dout : Tensor(), g.need(1) ? gather(g.dout, axis, g.saved[0]) : Tensor()};
                });
}

Var index_select(const Var& x, int64_t axis, const Tensor& index) {
  return record(kIndexSelect, index_select(x.value(), axis, index), {x}, {index},
                [axis](const GradContext& g) -> std::vector<Tensor> {
                  Tensor dx = zeros(g.shapes[0], g.dout.dtype(), g.dout.device());
                  index_add_(dx, axis, g.saved[0], g.dout.contiguous());
                  return {dx};
                });
}

// sort and topk: the values are a gather of x at the indices, so they reuse
// gather's backward.
VarIndices sort(const Var& x, int64_t axis, bool descending) {
  const ValuesIndices r = sort(x.value(), axis, descending);
  if (x.dim() == 0) return {x, r.indices};
  return {gather(x, axis, r.indices), r.indices};
}
VarIndices topk(const Var& x, int64_t k, int64_t axis, bool largest) {
  const ValuesIndices r = topk(x.value(), k, axis, largest);
  return {gather(x, axis, r.indices), r.indices};
}

namespace {
Tensor index_tensor(std::vector<int64_t> v, const Shape& shape) { return from_vector(v, shape); }
}  // namespace

GL_GRADCHECK(kSoftmax, "axis 1", {{{3, 5}, -2, 2}}, [](const Vars& x) { return softmax(x[0], 1); });
GL_GRADCHECK(kSoftmax, "axis 0", {{{3, 4, 2}, -2, 2}}, [](const Vars& x) { return softmax(x[0], 0); });
GL_GRADCHECK(kLogSoftmax, "axis -1", {{{3, 5}, -2, 2}}, [](const Vars& x) { return log_softmax(x[0]); });
GL_GRADCHECK(kLogSoftmax, "axis 1", {{{2, 4, 3}, -2, 2}}, [](const Vars& x) { return log_softmax(x[0], 1); });
GL_GRADCHECK(kCumsum, "axis 1", {{{3, 5}}}, [](const Vars& x) { return cumsum(x[0], 1); });
GL_GRADCHECK(kGather, "repeated indices", {{{2, 4}}}, [](const Vars& x) {
  return gather(x[0], 1, index_tensor({3, 3, 0, 1, 1, 2}, {2, 3}));
});
GL_GRADCHECK(kScatterAdd, "", {{{2, 4}}, {{2, 3}}}, [](const Vars& x) {
  return scatter_add(x[0], 1, index_tensor({3, 3, 0, 1, 1, 2}, {2, 3}), x[1]);
});
GL_GRADCHECK(kIndexSelect, "axis 0 with repeats", {{{4, 3}}}, [](const Vars& x) {
  return index_select(x[0], 0, index_tensor({2, 0, 2}, {3}));
});
GL_GRADCHECK(kIndexSelect, "axis 1", {{{2, 4, 3}}}, [](const Vars& x) {
  return index_select(x[0], 1, index_tensor({3, 1}, {2}));
});
GL_GRADCHECK(kSort, "descending", {{{3, 5}}}, [](const Vars& x) { return sort(x[0], 1, true).values; });
GL_GRADCHECK(kTopk, "k 2", {{{3, 5}}}, [](const Vars& x) { return topk(x[0], 2, -1).values; });

}  // namespace gradlab
