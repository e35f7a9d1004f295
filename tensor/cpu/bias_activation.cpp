// The CPU's fused bias and activation: z = x + bias, y = op(z) and, for silu,
// s = sigmoid(z), in one pass over the elements; and the backward, which for
// silu reads the kept sigmoid instead of computing an exp and a division
// again. Every value comes from the functors the separate add, op and op
// backward use (tensor/functors.h), so the bits are theirs; for f32 silu,
// sigmoid and the erf GELU through their AVX-512 forms (cpu/exp_avx512.h),
// which give the same bits.
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

// What a pass writes besides y: nothing (inference), z, or z and silu's sigmoid.
enum class Keep { nothing, z, z_and_sigmoid };

// Operands of one run: y, then z and s as kept, then x and bias.
template <class T, Keep kKeep>
struct Run {
  static constexpr bool kZ = kKeep != Keep::nothing, kS = kKeep == Keep::z_and_sigmoid;
  static constexpr int kX = 1 + int(kZ) + int(kS), kBias = kX + 1;

  // One element: y = f(z) for z = x + b (silu as z * s, s = sigmoid(z)).
  template <class F>
  static T element(F f, T x, T b, T& z, T& s) {
    z = fn::Add{}(x, b);
    if constexpr (kS) {
      s = fn::sigmoid(z);
      return z * s;
    } else {
      return f(z);
    }
  }

  // One block of runs (cpu/loop.h).
  template <class F>
  static void run(char* const* p, int64_t n, const int64_t* st, int64_t rows, const int64_t* rs, F f) {
    constexpr int64_t e = sizeof(T);
    bool outs = true;
    for (int k = 0; k < kX; ++k) outs = outs && st[k] == e;
    if (outs && st[kX] == e && st[kBias] == e) {  // a bias along the run (the usual [.., out] layout)
      for_each_row<kBias + 1>(p, rows, rs, [&](char* const* q) {
        const int64_t i = vector_run<true>(q, n, f);
        contiguous_run(
            q, i, n, [b = reinterpret_cast<const T*>(q[kBias])](int64_t i) { return b[i]; }, f);
      });
    } else if (outs && st[kX] == e && st[kBias] == 0) {  // one bias value for the whole run
      for_each_row<kBias + 1>(p, rows, rs, [&](char* const* q) {
        const int64_t i = vector_run<false>(q, n, f);
        contiguous_run(
            q, i, n, [bv = *reinterpret_cast<const T*>(q[kBias])](int64_t) { return bv; }, f);
      });
    } else {
      for_each_row<kBias + 1>(p, rows, rs, [&](char* const* q) {
        T zv, sv;
        for (int64_t i = 0; i < n; ++i) {
          *at<T>(q[0], i, st[0]) =
              element(f, *at<const T>(q[kX], i, st[kX]), *at<const T>(q[kBias], i, st[kBias]), zv, sv);
          if constexpr (kZ) *at<T>(q[1], i, st[1]) = zv;
          if constexpr (kS) *at<T>(q[2], i, st[2]) = sv;
        }
      });
    }
  }

  // Elements [0, n) of a run with every operand contiguous, 16 at a time, for
  // floats and an op with an AVX-512 form (cpu/exp_avx512.h: the same bits as
  // element()); the bias runs along the run or is one value. Returns where
  // contiguous_run takes over.
  template <bool kBiasRuns, class F>
  static int64_t vector_run(char* const* q, int64_t n, F) {
#if defined(GRADLAB_EXP_AVX512)
    if constexpr (std::is_same_v<T, float> && (kS || Avx512Form<F>::exists)) {
      float* y = reinterpret_cast<float*>(q[0]);
      float* z = kZ ? reinterpret_cast<float*>(q[1]) : nullptr;
      float* s = kS ? reinterpret_cast<float*>(q[2]) : nullptr;
      const float* x = reinterpret_cast<const float*>(q[kX]);
      const float* b = reinterpret_cast<const float*>(q[kBias]);
      int64_t i = 0;
      for (; i + 16 <= n; i += 16) {
        const __m512 zv =
            _mm512_add_ps(_mm512_loadu_ps(x + i), kBiasRuns ? _mm512_loadu_ps(b + i) : _mm512_set1_ps(*b));
        if constexpr (kS) {
          const __m512 sv = sigmoid16(zv);
          _mm512_storeu_ps(y + i, _mm512_mul_ps(zv, sv));
          _mm512_storeu_ps(s + i, sv);
        } else {
          _mm512_storeu_ps(y + i, Avx512Form<F>::apply(zv));
        }
        if constexpr (kZ) _mm512_storeu_ps(z + i, zv);
      }
      return i;
    }
#endif
    (void)q, (void)n;
    return 0;
  }

  // Elements [from, n) of a run with every operand contiguous; bias(i) is the
  // bias of element i.
  template <class Bias, class F>
  static void contiguous_run(char* const* q, int64_t from, int64_t n, Bias bias, F f) {
    // The outputs are fresh tensors: nothing overlaps, which lets the loop
    // vectorise without run-time overlap checks.
    T* __restrict y = reinterpret_cast<T*>(q[0]);
    T* __restrict z = kZ ? reinterpret_cast<T*>(q[1]) : nullptr;
    T* __restrict s = kS ? reinterpret_cast<T*>(q[2]) : nullptr;
    const T* __restrict x = reinterpret_cast<const T*>(q[kX]);
    T zv, sv;
    for (int64_t i = from; i < n; ++i) {
      y[i] = element(f, x[i], bias(i), zv, sv);
      if constexpr (kZ) z[i] = zv;
      if constexpr (kS) s[i] = sv;
    }
  }
};

template <class T, Keep kKeep, int N, class F>
void run_pass(const std::array<const Tensor*, N>& ops, int64_t grain, F f) {
  parallel_runs<N>(ops, grain, [&](char* const* p, int64_t n, const int64_t* st, int64_t rows, const int64_t* rs) {
    Run<T, kKeep>::run(p, n, st, rows, rs, f);
  });
}

}  // namespace

void bias_activation(UnaryOp op, UnaryParams params, const Tensor& x, const Tensor& bias, const Tensor& z,
                     const Tensor& y, const Tensor& s) {
  dispatch_float(x.dtype(), "bias_activation", [&](auto tag) {
    using T = decltype(tag);
    const bool defined = visit_unary<T>(op, params, [&](auto f, ElementCost cost) {
      const int64_t grain = map_grain(cost == ElementCost::transcendental);
      if (!z.defined()) {
        run_pass<T, Keep::nothing, 3>({&y, &x, &bias}, grain, f);
      } else if constexpr (std::is_same_v<decltype(f), fn::Silu>) {
        if (s.defined())
          run_pass<T, Keep::z_and_sigmoid, 5>({&y, &z, &s, &x, &bias}, grain, f);
        else
          run_pass<T, Keep::z, 4>({&y, &z, &x, &bias}, grain, f);
      } else {
        run_pass<T, Keep::z, 4>({&y, &z, &x, &bias}, grain, f);
      }
    });
    if (!defined) fail("bias_activation: {} is not defined for dtype {}", op_name(op), x.dtype());
  });
}

void bias_activation_backward(UnaryOp op, UnaryParams params, const Tensor& z, const Tensor& y, const Tensor& s,
                              const Tensor& dy, const Tensor& dz) {
  if (op != UnaryOp::silu) return unary_backward(op, params, z, y, dy, dz);
  dispatch_float(z.dtype(), "bias_activation backward", [&](auto tag) {
    using T = decltype(tag);
    parallel_runs<4>({&dz, &z, &s, &dy}, map_grain(false),
                     [&](char* const* p, int64_t n, const int64_t* st, int64_t rows, const int64_t* rs) {
                       constexpr int64_t e = sizeof(T);
                       if (st[0] == e && st[1] == e && st[2] == e && st[3] == e) {
                         for_each_row<4>(p, rows, rs, [&](char* const* q) {
                           T* out = reinterpret_cast<T*>(q[0]);
                           const T *zs = reinterpret_cast<const T*>(q[1]), *ss = reinterpret_cast<const T*>(q[2]),
                                   *ds = reinterpret_cast<const T*>(q[3]);
                           for (int64_t i = 0; i < n; ++i) out[i] = fn::silu_grad(zs[i], ss[i], ds[i]);
                         });
                       } else {
                         for_each_row<4>(p, rows, rs, [&](char* const* q) {
                           for (int64_t i = 0; i < n; ++i)
                             *at<T>(q[0], i, st[0]) =
                                 fn::silu_grad(*at<const T>(q[1], i, st[1]), *at<const T>(q[2], i, st[2]),
                                               *at<const T>(q[3], i, st[3]));
                         });
                       }
                     });
  });
}

}  // namespace gradlab::cpu
