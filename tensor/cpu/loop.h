// Strided iteration over N operands of one shape: the engine under every
// elementwise kernel. make_loop turns the operands' shape and strides into the
// fewest possible dimensions (size-1 axes dropped, axes merged wherever every
// operand is contiguous across them), innermost first, in bytes. for_each_run
// then visits a linear range of elements as blocks of runs along the innermost
// axis, so the kernel's inner loop is a plain 1-D loop the compiler vectorises.
#pragma once

#include <array>
#include <cstdint>

#include "tensor/parallel.h"
#include "tensor/tensor.h"

namespace gradlab::cpu {

template <int N>
struct StridedLoop {
  int ndim = 0;                      // at least 1 after make_loop
  int64_t size[kMaxDims] = {};       // size[0] is the innermost axis
  int64_t stride[N][kMaxDims] = {};  // bytes, per operand, innermost first
  char* base[N] = {};
  int64_t numel = 0;
};

// All operands must have the same shape (inputs already expanded).
template <int N>
StridedLoop<N> make_loop(const std::array<const Tensor*, N>& ops) {
  StridedLoop<N> L;
  const Shape& shape = ops[0]->shape();
  L.numel = shape.numel();
  for (int k = 0; k < N; ++k) L.base[k] = static_cast<char*>(ops[k]->data_ptr());
  for (int axis = shape.size() - 1; axis >= 0; --axis) {  // innermost first
    if (shape[axis] == 1) continue;
    int d = L.ndim;
    bool merge = d > 0;
    for (int k = 0; k < N && merge; ++k)
      merge = ops[k]->strides()[axis] * int64_t(ops[k]->itemsize()) == L.stride[k][d - 1] * L.size[d - 1];
    if (merge) {
      L.size[d - 1] *= shape[axis];
      continue;
    }
    L.size[d] = shape[axis];
    for (int k = 0; k < N; ++k) L.stride[k][d] = ops[k]->strides()[axis] * int64_t(ops[k]->itemsize());
    ++L.ndim;
  }
  if (L.ndim == 0) {  // a single element
    L.ndim = 1;
    L.size[0] = 1;
  }
  return L;
}

// Calls run(ptrs, n, inner_strides, rows, row_strides) for the elements
// [begin, end) in C order. Each call covers `rows` stretches of n elements
// along the innermost axis; stretch r starts at ptrs[k] + r * row_strides[k]
// (the loop's axis 1). Whole rows come as one block, so that a kernel checks
// its strides once per block and short rows (a bias broadcast over the rows
// of [rows, 8]) do not pay a call and a carry each; a partial row at either
// end of the range comes alone (rows = 1).
template <int N, class Run>
void for_each_run(const StridedLoop<N>& L, int64_t begin, int64_t end, Run&& run) {
  int64_t idx[kMaxDims] = {};
  char* ptr[N];
  for (int k = 0; k < N; ++k) ptr[k] = L.base[k];
  int64_t rem = begin;
  for (int d = 0; d < L.ndim; ++d) {
    idx[d] = rem % L.size[d];
    rem /= L.size[d];
    for (int k = 0; k < N; ++k) ptr[k] += idx[d] * L.stride[k][d];
  }
  int64_t inner_stride[N], row_stride[N];
  for (int k = 0; k < N; ++k) {
    inner_stride[k] = L.stride[k][0];
    row_stride[k] = L.ndim > 1 ? L.stride[k][1] : 0;
  }
  const int64_t n0 = L.size[0];
  for (int64_t pos = begin; pos < end;) {
    const int64_t n = std::min(n0 - idx[0], end - pos);
    const int64_t rows = idx[0] == 0 && L.ndim > 1 ? std::min(L.size[1] - idx[1], (end - pos) / n0) : 0;
    int first_carry = 0;  // the axis whose index just moved
    if (rows > 1) {       // whole rows: n == n0
      run(ptr, n0, inner_stride, rows, row_stride);
      pos += rows * n0;
      idx[1] += rows;
      for (int k = 0; k < N; ++k) ptr[k] += rows * row_stride[k];
      first_carry = 1;
    } else {
      run(ptr, n, inner_stride, int64_t(1), row_stride);
      pos += n;
      idx[0] += n;
      for (int k = 0; k < N; ++k) ptr[k] += n * inner_stride[k];
    }
    for (int d = first_carry; d + 1 < L.ndim && idx[d] == L.size[d]; ++d) {  // carry
      idx[d] = 0;
      ++idx[d + 1];
      for (int k = 0; k < N; ++k) ptr[k] += L.stride[k][d + 1] - L.size[d] * L.stride[k][d];
    }
  }
}

// Calls body(ptrs) for each row of a block: ptrs[k] + r * row_stride[k], r < rows.
template <int N, class Body>
inline void for_each_row(char* const* p, int64_t rows, const int64_t* row_stride, Body&& body) {
  char* q[N];
  for (int k = 0; k < N; ++k) q[k] = p[k];
  for (int64_t r = 0; r < rows; ++r) {
    body(static_cast<char* const*>(q));
    for (int k = 0; k < N; ++k) q[k] += row_stride[k];
  }
}

// Runs `run` over every element, in parallel when numel exceeds grain.
template <int N, class Run>
void parallel_runs(const std::array<const Tensor*, N>& ops, int64_t grain, Run&& run) {
  const StridedLoop<N> L = make_loop<N>(ops);
  if (L.numel == 0) return;
  parallel_for(L.numel, grain, [&](int64_t begin, int64_t end) { for_each_run(L, begin, end, run); });
}

}  // namespace gradlab::cpu
