// The CPU's fused bias and activation: z = x + bias, y = op(z) and, for silu,
// s = sigmoid(z), in one pass over the elements; and the backward, which for
// silu reads the kept sigmoid instead of computing an exp and a division
// again. Every value comes from the functors the separate add, op and op
// backward use (tensor/functors.h), so the bits are theirs.
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

  template <class F>
  static void run(char* const* p, int64_t n, const int64_t* st, F f) {
    constexpr int64_t e = sizeof(T);
    // The outputs are fresh tensors: nothing overlaps, which lets the
    // contiguous loops vectorise without run-time overlap checks.
    T* __restrict y = reinterpret_cast<T*>(p[0]);
    T* __restrict z = kZ ? reinterpret_cast<T*>(p[1]) : nullptr;
    T* __restrict s = kS ? reinterpret_cast<T*>(p[2]) : nullptr;
    const T* __restrict x = reinterpret_cast<const T*>(p[kX]);
    const T* __restrict b = reinterpret_cast<const T*>(p[kBias]);
    bool outs = true;
    for (int k = 0; k < kX; ++k) outs = outs && st[k] == e;
    T zv, sv;
    if (outs && st[kX] == e && st[kBias] == e) {  // a bias along the run (the usual [.., out] layout)
      for (int64_t i = 0; i < n; ++i) {
        y[i] = element(f, x[i], b[i], zv, sv);
        if constexpr (kZ) z[i] = zv;
        if constexpr (kS) s[i] = sv;
      }
    } else if (outs && st[kX] == e && st[kBias] == 0) {  // one bias value for the whole run
      const T bv = b[0];
      for (int64_t i = 0; i < n; ++i) {
        y[i] = element(f, x[i], bv, zv, sv);
        if constexpr (kZ) z[i] = zv;
        if constexpr (kS) s[i] = sv;
      }
    } else {
      for (int64_t i = 0; i < n; ++i) {
        *at<T>(p[0], i, st[0]) =
            element(f, *at<const T>(p[kX], i, st[kX]), *at<const T>(p[kBias], i, st[kBias]), zv, sv);
        if constexpr (kZ) *at<T>(p[1], i, st[1]) = zv;
        if constexpr (kS) *at<T>(p[2], i, st[2]) = sv;
      }
    }
  }
};

template <class T, Keep kKeep, int N, class F>
void run_pass(const std::array<const Tensor*, N>& ops, int64_t grain, F f) {
  parallel_runs<N>(ops, grain, [&](char* const* p, int64_t n, const int64_t* st) { Run<T, kKeep>::run(p, n, st, f); });
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
    parallel_runs<4>({&dz, &z, &s, &dy}, map_grain(false), [&](char* const* p, int64_t n, const int64_t* st) {
      constexpr int64_t e = sizeof(T);
      if (st[0] == e && st[1] == e && st[2] == e && st[3] == e) {
        T* out = reinterpret_cast<T*>(p[0]);
        const T *zs = reinterpret_cast<const T*>(p[1]), *ss = reinterpret_cast<const T*>(p[2]),
                *ds = reinterpret_cast<const T*>(p[3]);
        for (int64_t i = 0; i < n; ++i) out[i] = fn::silu_grad(zs[i], ss[i], ds[i]);
      } else {
        for (int64_t i = 0; i < n; ++i)
          *at<T>(p[0], i, st[0]) =
              fn::silu_grad(*at<const T>(p[1], i, st[1]), *at<const T>(p[2], i, st[2]), *at<const T>(p[3], i, st[3]));
      }
    });
  });
}

}  // namespace gradlab::cpu
