// CUDA elementwise kernels: copy (with dtype conversion), fill, unary, its
// backward, binary, compare and where. One thread per element (grid-stride);
// the arithmetic is the functors of tensor/functors.h, shared with the CPU
// kernels, so each op has one definition. Operands of any strides go through
// the Indexer; when every operand is contiguous the kernel indexes directly.
// bf16 is a storage dtype: copy and fill convert to and from it with
// tensor/bf16.h's convert_element (through f32), the CPU's own conversion, and
// see it as gradlab::bf16 (its 16 stored bits, the bits of __nv_bfloat16); the
// other kernels refuse it through their dispatch, naming themselves.
#include "tensor/bf16.h"
#include "tensor/cuda/common.cuh"
#include "tensor/cuda/kernels.h"
#include "tensor/elementwise_visit.h"

namespace gradlab::cuda {

namespace {

// out[i] = f(in[i]) for operands described by L (out first).
template <class Out, class In, class F>
__global__ void map1(Indexer<2> L, int64_t n, Out* out, const In* in, F f) {
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  if (L.contiguous) {
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) out[i] = f(in[i]);
    return;
  }
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    int64_t o[2];
    L.offsets(i, o);
    out[o[0]] = f(in[o[1]]);
  }
}

// out[i] = f(a[i], b[i]).
template <class Out, class In, class F>
__global__ void map2(Indexer<3> L, int64_t n, Out* out, const In* a, const In* b, F f) {
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  if (L.contiguous) {
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) out[i] = f(a[i], b[i]);
    return;
  }
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    int64_t o[3];
    L.offsets(i, o);
    out[o[0]] = f(a[o[1]], b[o[2]]);
  }
}

// out[i] = f(a[i], b[i], c[i]).
template <class Out, class A, class B, class C, class F>
__global__ void map3(Indexer<4> L, int64_t n, Out* out, const A* a, const B* b, const C* c, F f) {
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  if (L.contiguous) {
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) out[i] = f(a[i], b[i], c[i]);
    return;
  }
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    int64_t o[4];
    L.offsets(i, o);
    out[o[0]] = f(a[o[1]], b[o[2]], c[o[3]]);
  }
}

template <class T>
__global__ void fill_kernel(Indexer<1> L, int64_t n, T* out, T v) {
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    if (L.contiguous) {
      out[i] = v;
    } else {
      int64_t o[1];
      L.offsets(i, o);
      out[o[0]] = v;
    }
  }
}

template <class Out, class In, class F>
void launch_map1(const Tensor& in, const Tensor& out, F f) {
  const int64_t n = out.numel();
  if (n == 0) return;
  const Indexer<2> L = make_indexer<2>({&out, &in});
  map1<<<blocks_for(n, kThreads), kThreads, 0, stream()>>>(L, n, ptr<Out>(out), ptr<const In>(in), f);
  GL_CUDA_LAUNCHED("map1");
}

template <class Out, class In, class F>
void launch_map2(const Tensor& a, const Tensor& b, const Tensor& out, F f) {
  const int64_t n = out.numel();
  if (n == 0) return;
  const Indexer<3> L = make_indexer<3>({&out, &a, &b});
  map2<<<blocks_for(n, kThreads), kThreads, 0, stream()>>>(L, n, ptr<Out>(out), ptr<const In>(a), ptr<const In>(b), f);
  GL_CUDA_LAUNCHED("map2");
}

template <class Out, class A, class B, class C, class F>
void launch_map3(const Tensor& a, const Tensor& b, const Tensor& c, const Tensor& out, F f) {
  const int64_t n = out.numel();
  if (n == 0) return;
  const Indexer<4> L = make_indexer<4>({&out, &a, &b, &c});
  map3<<<blocks_for(n, kThreads), kThreads, 0, stream()>>>(L, n, ptr<Out>(out), ptr<const A>(a), ptr<const B>(b),
                                                           ptr<const C>(c), f);
  GL_CUDA_LAUNCHED("map3");
}

// A copy's element conversion (tensor/bf16.h): b8 reads as 0/1 and writes
// x != 0; bf16 goes through f32 both ways (float_to_bf16 of the value as a copy
// to f32 makes it; bf16_to_float, then as a copy from f32); bf16 to bf16 moves
// the bits unchanged.
template <class To, class From>
struct Convert {
  __device__ To operator()(From v) const { return convert_element<To>(v); }
};

template <class T>
void launch_fill(const Tensor& dst, T v) {
  const int64_t n = dst.numel();
  const Indexer<1> L = make_indexer<1>({&dst});
  fill_kernel<<<blocks_for(n, kThreads), kThreads, 0, stream()>>>(L, n, ptr<T>(dst), v);
  GL_CUDA_LAUNCHED("fill");
}

template <class T>
struct Select {
  __device__ T operator()(bool c, T a, T b) const { return c ? a : b; }
};

}  // namespace

void copy(const Tensor& src, const Tensor& dst) {
  const int64_t n = dst.numel();
  if (n == 0) return;
  if (src.dtype() == dst.dtype() && src.is_contiguous() && dst.is_contiguous() && src.shape() == dst.shape()) {
    GL_CUDA_CHECK(cudaMemcpyAsync(dst.data_ptr(), src.data_ptr(), size_t(n) * src.itemsize(), cudaMemcpyDeviceToDevice,
                                  stream()));
    return;
  }
  dispatch_storage(dst.dtype(), "copy", [&](auto to_tag) {
    using To = decltype(to_tag);
    dispatch_storage(src.dtype(), "copy", [&](auto from_tag) {
      using From = decltype(from_tag);
      launch_map1<To, From>(src, dst, Convert<To, From>{});
    });
  });
}

// bf16 is filled with float_to_bf16 of the value rounded to f32.
void fill(const Tensor& dst, double value) {
  if (dst.numel() == 0) return;
  dispatch_storage(dst.dtype(), "fill", [&](auto tag) {
    using T = decltype(tag);
    launch_fill<T>(dst, convert_element<T>(value));
  });
}

void unary(UnaryOp op, UnaryParams params, const Tensor& x, const Tensor& out) {
  dispatch_numeric(x.dtype(), op_name(op), [&](auto tag) {
    using T = decltype(tag);
    const bool defined = visit_unary<T>(op, params, [&](auto f, ElementCost) { launch_map1<T, T>(x, out, f); });
    if (!defined) fail("{}: not defined for dtype {}", op_name(op), x.dtype());
  });
}

void unary_backward(UnaryOp op, UnaryParams params, const Tensor& x, const Tensor& y, const Tensor& dout,
                    const Tensor& dx) {
  dispatch_float(x.dtype(), op_name(op), [&](auto tag) {
    using T = decltype(tag);
    visit_unary_grad<T>(op, params, [&](auto f) { launch_map3<T, T, T, T>(x, y, dout, dx, f); });
  });
}

void binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) {
  dispatch_numeric(a.dtype(), op_name(op), [&](auto tag) {
    using T = decltype(tag);
    const bool defined = visit_binary<T>(op, [&](auto f, ElementCost) { launch_map2<T, T>(a, b, out, f); });
    if (!defined) fail("{}: not defined for dtype {}", op_name(op), a.dtype());
  });
}

void compare(CompareOp op, const Tensor& a, const Tensor& b, const Tensor& out) {
  dispatch_all(a.dtype(), op_name(op), [&](auto tag) {
    using T = decltype(tag);
    visit_compare(op, [&](auto f) { launch_map2<bool, T>(a, b, out, f); });
  });
}

void where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out) {
  dispatch_all(a.dtype(), "where", [&](auto tag) {
    using T = decltype(tag);
    launch_map3<T, bool, T, T>(cond, a, b, out, Select<T>{});
  });
}

}  // namespace gradlab::cuda
