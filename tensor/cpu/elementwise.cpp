// CPU elementwise kernels: copy (with dtype conversion), fill, unary, binary,
// compare and where. Each runs through the strided loop engine (cpu/loop.h);
// the inner loops have fast paths for contiguous and scalar (stride-0)
// operands, which the compiler vectorises (exp, sigmoid, silu, the erf GELU
// and silu's derivative through their AVX-512 forms, cpu/exp_avx512.h), and a
// general strided path.
#include <cstring>

#include "tensor/bf16.h"
#include "tensor/cpu/exp_avx512.h"
#include "tensor/cpu/kernels.h"
#include "tensor/cpu/loop.h"
#include "tensor/elementwise_visit.h"

namespace gradlab::cpu {

namespace {

template <class T>
T* at(char* p, int64_t i, int64_t stride) {
  return reinterpret_cast<T*>(p + i * stride);
}

// out[i] = f(x[i]) over a block of runs (cpu/loop.h).
template <class Out, class In, class F>
void unary_run(char* const* p, int64_t n, const int64_t* s, int64_t rows, const int64_t* rs, F f) {
  if (s[0] == sizeof(Out) && s[1] == sizeof(In)) {
    for_each_row<2>(p, rows, rs, [&](char* const* q) {
      Out* out = reinterpret_cast<Out*>(q[0]);
      const In* x = reinterpret_cast<const In*>(q[1]);
      int64_t i = 0;
      if constexpr (kMapsAvx512<F, Out, In>) i = map_avx512<F>(x, out, n);  // exp, sigmoid, silu, gelu
      for (; i < n; ++i) out[i] = f(x[i]);
    });
  } else if (s[0] == sizeof(Out) && s[1] == 0) {
    for_each_row<2>(p, rows, rs, [&](char* const* q) {
      Out* out = reinterpret_cast<Out*>(q[0]);
      const Out v = f(*reinterpret_cast<const In*>(q[1]));
      for (int64_t i = 0; i < n; ++i) out[i] = v;
    });
  } else {
    for_each_row<2>(p, rows, rs, [&](char* const* q) {
      for (int64_t i = 0; i < n; ++i) *at<Out>(q[0], i, s[0]) = f(*at<const In>(q[1], i, s[1]));
    });
  }
}

// out[i] = f(a[i], b[i]) over a block of runs.
template <class Out, class In, class F>
void binary_run(char* const* p, int64_t n, const int64_t* s, int64_t rows, const int64_t* rs, F f) {
  constexpr int64_t so = sizeof(Out), si = sizeof(In);
  auto out_at = [](char* const* q) { return reinterpret_cast<Out*>(q[0]); };
  auto in_at = [](char* const* q, int k) { return reinterpret_cast<const In*>(q[k]); };
  if (s[0] == so && s[1] == si && s[2] == si) {
    for_each_row<3>(p, rows, rs, [&](char* const* q) {
      Out* out = out_at(q);
      const In *a = in_at(q, 1), *b = in_at(q, 2);
      for (int64_t i = 0; i < n; ++i) out[i] = f(a[i], b[i]);
    });
  } else if (s[0] == so && s[1] == si && s[2] == 0) {
    for_each_row<3>(p, rows, rs, [&](char* const* q) {
      Out* out = out_at(q);
      const In* a = in_at(q, 1);
      const In bv = *in_at(q, 2);
      for (int64_t i = 0; i < n; ++i) out[i] = f(a[i], bv);
    });
  } else if (s[0] == so && s[1] == 0 && s[2] == si) {
    for_each_row<3>(p, rows, rs, [&](char* const* q) {
      Out* out = out_at(q);
      const In av = *in_at(q, 1);
      const In* b = in_at(q, 2);
      for (int64_t i = 0; i < n; ++i) out[i] = f(av, b[i]);
    });
  } else {
    for_each_row<3>(p, rows, rs, [&](char* const* q) {
      for (int64_t i = 0; i < n; ++i)
        *at<Out>(q[0], i, s[0]) = f(*at<const In>(q[1], i, s[1]), *at<const In>(q[2], i, s[2]));
    });
  }
}

template <class Out, class In, class F>
void run_unary(const Tensor& x, const Tensor& out, int64_t grain, F f) {
  parallel_runs<2>({&out, &x}, grain,
                   [&](char* const* p, int64_t n, const int64_t* s, int64_t rows, const int64_t* rs) {
                     unary_run<Out, In>(p, n, s, rows, rs, f);
                   });
}

template <class Out, class In, class F>
void run_binary(const Tensor& a, const Tensor& b, const Tensor& out, int64_t grain, F f) {
  parallel_runs<3>({&out, &a, &b}, grain,
                   [&](char* const* p, int64_t n, const int64_t* s, int64_t rows, const int64_t* rs) {
                     binary_run<Out, In>(p, n, s, rows, rs, f);
                   });
}

// Copy where the destination runs along loop axis 0 but the source runs along
// another axis k (a transpose): walking either one alone misses the cache on
// every element of the other, so copy in square tiles of both. Returns false
// when the layout is not like that.
template <class To, class From>
bool copy_transposed(const Tensor& src, const Tensor& dst) {
  const StridedLoop<2> L = make_loop<2>({&dst, &src});
  if (L.ndim < 2 || L.stride[0][0] != int64_t(sizeof(To)) || L.stride[1][0] == int64_t(sizeof(From))) return false;
  int k = -1;
  for (int d = 1; d < L.ndim && k < 0; ++d)
    if (L.stride[1][d] == int64_t(sizeof(From))) k = d;
  if (k < 0) return false;
  constexpr int64_t kTile = 16;  // 16 x 16 tiles: best measured on 4096-strided (cache-aliasing) transposes
  const int64_t n0 = L.size[0], nk = L.size[k];
  const int64_t t0 = (n0 + kTile - 1) / kTile, tk = (nk + kTile - 1) / kTile;
  const int64_t rest = L.numel / (n0 * nk);  // all other axes
  parallel_for(rest * t0 * tk, std::max<int64_t>(1, kGrainElementwise / (kTile * kTile)), [&](int64_t b, int64_t e) {
    for (int64_t job = b; job < e; ++job) {
      int64_t r = job / (t0 * tk);
      const int64_t i0 = (job % t0) * kTile, j0 = (job / t0 % tk) * kTile;
      char* pd = L.base[0];
      const char* ps = L.base[1];
      for (int d = 1; d < L.ndim; ++d) {  // unravel the other axes
        if (d == k) continue;
        const int64_t c = r % L.size[d];
        r /= L.size[d];
        pd += c * L.stride[0][d];
        ps += c * L.stride[1][d];
      }
      const int64_t i1 = std::min(n0, i0 + kTile), j1 = std::min(nk, j0 + kTile);
      for (int64_t j = j0; j < j1; ++j) {
        To* d = reinterpret_cast<To*>(pd + j * L.stride[0][k]);  // contiguous along i
        const char* sj = ps + j * L.stride[1][k];
        for (int64_t i = i0; i < i1; ++i)
          d[i] = convert_element<To>(*reinterpret_cast<const From*>(sj + i * L.stride[1][0]));
      }
    }
  });
  return true;
}

// dst[i] = convert(src[i]) over contiguous tensors of one shape, as plain
// element types (bf16 as its uint16_t bits).
template <class To, class From, class F>
void convert_contiguous(const Tensor& src, const Tensor& dst, F convert) {
  const From* s = static_cast<const From*>(src.data_ptr());
  To* d = static_cast<To*>(dst.data_ptr());
  parallel_for(src.numel(), kGrainElementwise, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) d[i] = convert(s[i]);
  });
}

}  // namespace

void copy(const Tensor& src, const Tensor& dst) {
  if (dst.numel() == 0) return;  // nothing to copy (and no tile count to divide by)
  if (src.dtype() == dst.dtype() && src.is_contiguous() && dst.is_contiguous() && src.shape() == dst.shape()) {
    const int64_t bytes = src.numel() * int64_t(src.itemsize());
    char* d = static_cast<char*>(dst.data_ptr());
    const char* s = static_cast<const char*>(src.data_ptr());
    parallel_for(bytes, kGrainElementwise * 8, [&](int64_t b, int64_t e) { std::memcpy(d + b, s + b, size_t(e - b)); });
    return;
  }
  // f32 <-> bf16 between contiguous tensors (mixed precision's conversions of
  // weights, activations and gradients): loops over plain bits, which the
  // compiler vectorises; the same functions as the general path below.
  if (src.is_contiguous() && dst.is_contiguous() && src.shape() == dst.shape()) {
    if (src.dtype() == DType::f32 && dst.dtype() == DType::bf16)
      return convert_contiguous<uint16_t, float>(src, dst, [](float v) { return float_to_bf16(v); });
    if (src.dtype() == DType::bf16 && dst.dtype() == DType::f32)
      return convert_contiguous<float, uint16_t>(src, dst, [](uint16_t v) { return bf16_to_float(v); });
  }
  dispatch_storage(dst.dtype(), "copy", [&](auto to_tag) {
    using To = decltype(to_tag);
    dispatch_storage(src.dtype(), "copy", [&](auto from_tag) {
      using From = decltype(from_tag);
      if (copy_transposed<To, From>(src, dst)) return;
      run_unary<To, From>(src, dst, kGrainElementwise, [](From v) { return convert_element<To>(v); });
    });
  });
}

void fill(const Tensor& dst, double value) {
  dispatch_storage(dst.dtype(), "fill", [&](auto tag) {
    using T = decltype(tag);
    const T v = convert_element<T>(value);
    parallel_runs<1>({&dst}, kGrainElementwise,
                     [&](char* const* p, int64_t n, const int64_t* s, int64_t rows, const int64_t* rs) {
                       for_each_row<1>(p, rows, rs, [&](char* const* q) {
                         if (s[0] == sizeof(T)) {
                           T* out = reinterpret_cast<T*>(q[0]);
                           for (int64_t i = 0; i < n; ++i) out[i] = v;
                         } else {
                           for (int64_t i = 0; i < n; ++i) *at<T>(q[0], i, s[0]) = v;
                         }
                       });
                     });
  });
}

void unary(UnaryOp op, UnaryParams params, const Tensor& x, const Tensor& out) {
  dispatch_numeric(x.dtype(), op_name(op), [&](auto tag) {
    using T = decltype(tag);
    const bool defined = visit_unary<T>(op, params, [&](auto f, ElementCost cost) {
      run_unary<T, T>(x, out, map_grain(cost == ElementCost::transcendental), f);
    });
    if (!defined) fail("{}: not defined for dtype {}", op_name(op), x.dtype());
  });
}

void unary_backward(UnaryOp op, UnaryParams params, const Tensor& x, const Tensor& y, const Tensor& dout,
                    const Tensor& dx) {
  dispatch_float(x.dtype(), op_name(op), [&](auto tag) {
    using T = decltype(tag);
    auto go = [&](auto f) {
      parallel_runs<4>({&dx, &x, &y, &dout}, map_grain(true),
                       [&](char* const* p, int64_t n, const int64_t* s, int64_t rows, const int64_t* rs) {
                         constexpr int64_t e = sizeof(T);
                         if (s[0] == e && s[1] == e && s[2] == e && s[3] == e) {
                           for_each_row<4>(p, rows, rs, [&](char* const* q) {
                             T* out = reinterpret_cast<T*>(q[0]);
                             const T *xs = reinterpret_cast<const T*>(q[1]), *ys = reinterpret_cast<const T*>(q[2]),
                                     *ds = reinterpret_cast<const T*>(q[3]);
                             int64_t i = 0;
                             if constexpr (kGradMapsAvx512<decltype(f), T>)  // silu
                               i = grad_map_avx512<decltype(f)>(xs, ys, ds, out, n);
                             for (; i < n; ++i) out[i] = f(xs[i], ys[i], ds[i]);
                           });
                         } else {
                           for_each_row<4>(p, rows, rs, [&](char* const* q) {
                             for (int64_t i = 0; i < n; ++i)
                               *at<T>(q[0], i, s[0]) = f(*at<const T>(q[1], i, s[1]), *at<const T>(q[2], i, s[2]),
                                                         *at<const T>(q[3], i, s[3]));
                           });
                         }
                       });
    };
    visit_unary_grad<T>(op, params, go);
  });
}

void binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) {
  dispatch_numeric(a.dtype(), op_name(op), [&](auto tag) {
    using T = decltype(tag);
    const bool defined = visit_binary<T>(op, [&](auto f, ElementCost cost) {
      run_binary<T, T>(a, b, out, map_grain(cost == ElementCost::transcendental), f);
    });
    if (!defined) fail("{}: not defined for dtype {}", op_name(op), a.dtype());
  });
}

void compare(CompareOp op, const Tensor& a, const Tensor& b, const Tensor& out) {
  dispatch_all(a.dtype(), op_name(op), [&](auto tag) {
    using T = decltype(tag);
    visit_compare(op, [&](auto f) { run_binary<bool, T>(a, b, out, map_grain(false), f); });
  });
}

void where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out) {
  dispatch_all(a.dtype(), "where", [&](auto tag) {
    using T = decltype(tag);
    parallel_runs<4>({&out, &cond, &a, &b}, map_grain(false),
                     [&](char* const* p, int64_t n, const int64_t* s, int64_t rows, const int64_t* rs) {
                       for_each_row<4>(p, rows, rs, [&](char* const* q) {
                         for (int64_t i = 0; i < n; ++i)
                           *at<T>(q[0], i, s[0]) = *at<const bool>(q[1], i, s[1]) ? *at<const T>(q[2], i, s[2])
                                                                                  : *at<const T>(q[3], i, s[3]);
                       });
                     });
  });
}

}  // namespace gradlab::cpu
