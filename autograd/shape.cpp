// Differentiable views and joins. A view's backward puts the output gradient
// back where the view took its elements from: the inverse permutation, a
// reshape, zeros around a slice, a sum over expanded axes.
#include "autograd/gradcheck.h"
#include "autograd/ops.h"

namespace gradlab {

GL_OP(kReshape, "reshape");
GL_OP(kPermute, "permute");
GL_OP(kSlice, "slice");
GL_OP(kSelect, "select");
GL_OP(kExpand, "expand");
GL_OP(kContiguous, "contiguous");
GL_OP(kConcat, "concat");
GL_OP(kStack, "stack");

Var reshape(const Var& x, const Shape& shape) {
  return record(kReshape, x.value().reshape(shape), {x}, {},
                [](const GradContext& g) -> std::vector<Tensor> { return {g.dout.reshape(g.shapes[0])}; });
}
Var flatten(const Var& x, int64_t start_axis, int64_t end_axis) {
  return reshape(x, x.value().flatten(start_axis, end_axis).shape());
}
Var squeeze(const Var& x, int64_t axis) { return reshape(x, x.value().squeeze(axis).shape()); }
Var unsqueeze(const Var& x, int64_t axis) { return reshape(x, x.value().unsqueeze(axis).shape()); }

Var permute(const Var& x, const Shape& axes) {
  const Tensor y = x.value().permute(axes);
  Shape inverse;
  inverse.resize(axes.size());
  for (int i = 0; i < axes.size(); ++i) inverse[wrap_axis(axes[i], axes.size(), "permute")] = i;
  return record(kPermute, y, {x}, {},
                [inverse](const GradContext& g) -> std::vector<Tensor> { return {g.dout.permute(inverse)}; });
}
Var transpose(const Var& x, int64_t a, int64_t b) {
  Shape axes;
  for (int i = 0; i < x.dim(); ++i) axes.push_back(i);
  std::swap(axes[wrap_axis(a, x.dim(), "transpose")], axes[wrap_axis(b, x.dim(), "transpose")]);
  return permute(x, axes);
}

Var slice(const Var& x, int64_t axis, int64_t start, int64_t end, int64_t step) {
  return record(kSlice, x.value().slice(axis, start, end, step), {x}, {},
                [axis, start, end, step](const GradContext& g) -> std::vector<Tensor> {
                  Tensor dx = zeros(g.shapes[0], g.dout.dtype(), g.dout.device());
                  dx.slice(axis, start, end, step).copy_(g.dout);
                  return {dx};
                });
}
Var narrow(const Var& x, int64_t axis, int64_t start, int64_t length) {
  x.value().narrow(axis, start, length);  // the strict bounds check
  return slice(x, axis, start, start + length);
}

Var select(const Var& x, int64_t axis, int64_t index) {
  return record(kSelect, x.value().select(axis, index), {x}, {},
                [axis, index](const GradContext& g) -> std::vector<Tensor> {
                  Tensor dx = zeros(g.shapes[0], g.dout.dtype(), g.dout.device());
                  dx.select(axis, index).copy_(g.dout);
                  return {dx};
                });
}

Var expand(const Var& x, const Shape& shape) {
  return record(kExpand, x.value().expand(shape), {x}, {},
                [](const GradContext& g) -> std::vector<Tensor> { return {sum_to(g.dout, g.shapes[0])}; });
}

Var contiguous(const Var& x) {
  if (x.value().is_contiguous()) return x;
  return record(kContiguous, x.value().contiguous(), {x}, {},
                [](const GradContext& g) -> std::vector<Tensor> { return {g.dout}; });
}

Var concat(const std::vector<Var>& xs, int64_t axis) {
  std::vector<Tensor> values;
  for (const Var& v : xs) {
    GL_CHECK(v.defined(), "concat: a Var is undefined");
    values.push_back(v.value());
  }
  const Tensor y = concat(values, axis);
  const int a = wrap_axis(axis, y.dim(), "concat");
  return record(kConcat, y, xs, {}, [a](const GradContext& g) -> std::vector<Tensor> {
    std::vector<int64_t> sizes;
    for (const Shape& s : g.shapes) sizes.push_back(s[a]);
    return split(g.dout, sizes, a);
  });
}

Var stack(const std::vector<Var>& xs, int64_t axis) {
  std::vector<Tensor> values;
  for (const Var& v : xs) {
    GL_CHECK(v.defined(), "stack: a Var is undefined");
    values.push_back(v.value());
  }
  const Tensor y = stack(values, axis);
  const int a = wrap_axis(axis, y.dim(), "stack");
  return record(kStack, y, xs, {}, [a](const GradContext& g) -> std::vector<Tensor> {
    std::vector<Tensor> grads;
    for (size_t i = 0; i < g.shapes.size(); ++i) grads.push_back(g.dout.select(a, int64_t(i)));
    return grads;
  });
}

std::vector<Var> split(const Var& x, const std::vector<int64_t>& sizes, int64_t axis) {
  std::vector<Var> parts;
  int64_t at = 0;
  split(x.value(), sizes, axis);  // checks the sizes
  for (int64_t s : sizes) {
    parts.push_back(slice(x, axis, at, at + s));
    at += s;
  }
  return parts;
}
std::vector<Var> split(const Var& x, int64_t size, int64_t axis) {
  std::vector<int64_t> sizes;
  for (const Tensor& t : split(x.value(), size, axis)) sizes.push_back(t.size(axis));
  return split(x, sizes, axis);
}

GL_GRADCHECK(kReshape, "", {{{2, 3, 4}}}, [](const Vars& x) { return reshape(x[0], {4, -1}); });
GL_GRADCHECK(kReshape, "squeeze unsqueeze flatten", {{{2, 1, 3}}},
             [](const Vars& x) { return flatten(unsqueeze(squeeze(x[0], 1), 0)); });
GL_GRADCHECK(kPermute, "", {{{2, 3, 4}}}, [](const Vars& x) { return permute(x[0], {2, 0, 1}); });
GL_GRADCHECK(kPermute, "transpose", {{{2, 3, 4}}}, [](const Vars& x) { return transpose(x[0], 0, 2) * 2.0; });
GL_GRADCHECK(kSlice, "step 2", {{{3, 7}}}, [](const Vars& x) { return slice(x[0], 1, 1, 6, 2); });
GL_GRADCHECK(kSlice, "narrow and split", {{{6, 3}}}, [](const Vars& x) {
  const std::vector<Var> parts = split(x[0], std::vector<int64_t>{2, 4}, 0);
  return narrow(parts[1], 0, 1, 2) * parts[0];
});
GL_GRADCHECK(kSelect, "", {{{3, 4, 2}}}, [](const Vars& x) { return select(x[0], 1, -1); });
GL_GRADCHECK(kExpand, "", {{{3, 1}}}, [](const Vars& x) { return expand(x[0], {2, 3, 4}); });
GL_GRADCHECK(kContiguous, "of a transpose", {{{3, 4}}},
             [](const Vars& x) { return contiguous(transpose(x[0], 0, 1)); });
GL_GRADCHECK(kConcat, "axis 1", {{{2, 3}}, {{2, 1}}, {{2, 2}}}, [](const Vars& x) { return concat(x, 1); });
GL_GRADCHECK(kStack, "axis 1", {{{2, 3}}, {{2, 3}}}, [](const Vars& x) { return stack(x, 1); });

}  // namespace gradlab
