// The CUDA kernels, one function per entry of the Backend table (tensor/backend.h,
// which states each kernel's contract), with the signatures of their CPU twins in
// tensor/cpu/kernels.h. tensor/cuda/backend.cpp puts them in the table and
// registers it. Every kernel runs on the one stream (check.h).
#pragma once

#include <span>

#include "tensor/backend.h"

namespace gradlab::cuda {

// The CUDA table (tensor/cuda/backend.cpp).
extern const Backend kBackend;

void copy(const Tensor& src, const Tensor& dst);
void fill(const Tensor& dst, double value);
void unary(UnaryOp op, UnaryParams params, const Tensor& x, const Tensor& out);
void unary_backward(UnaryOp op, UnaryParams params, const Tensor& x, const Tensor& y, const Tensor& dout,
                    const Tensor& dx);
void binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out);
void compare(CompareOp op, const Tensor& a, const Tensor& b, const Tensor& out);
void where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out);
void reduce(ReduceOp op, const Tensor& x, std::span<const int> axes, const Tensor& out);
void arg_reduce(ArgReduceOp op, const Tensor& x, int axis, const Tensor& out);
void matmul(const Tensor& a, const Tensor& b, const Tensor& out);
void linear(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& out);
void softmax(const Tensor& x, int axis, bool log, const Tensor& out);
void gather(const Tensor& x, int axis, const Tensor& index, const Tensor& out);
void scatter_add(const Tensor& out, int axis, const Tensor& index, const Tensor& src);
void index_select(const Tensor& x, int axis, const Tensor& index, const Tensor& out);
void index_add(const Tensor& out, int axis, const Tensor& index, const Tensor& src);
void cumsum(const Tensor& x, int axis, const Tensor& out);
void sort(const Tensor& x, int axis, bool descending, const Tensor& values, const Tensor& indices);
void topk(const Tensor& x, int64_t k, int axis, bool largest, const Tensor& values, const Tensor& indices);
// -- fused layers (layer_norm, attention, dropout): kernels below --
void layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, const Tensor& y,
                const Tensor& mean, const Tensor& rstd);
void layer_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight, const Tensor& mean,
                         const Tensor& rstd, const Tensor& dx, const Tensor& dweight, const Tensor& dbias);
void attention(const Tensor& q, const Tensor& k, const Tensor& v, bool causal, const Tensor& key_mask,
               const Tensor& out, const Tensor& lse);
void attention_backward(const Tensor& dout, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                        const Tensor& lse, bool causal, const Tensor& key_mask, const Tensor& dq, const Tensor& dk,
                        const Tensor& dv);
void dropout(const Tensor& x, double p, uint64_t seed, uint64_t offset, const Tensor& out);

// -- optimisers (adam): kernels below --
void adam_step(std::span<const Tensor> params, std::span<const Tensor> grads, std::span<const Tensor> m,
               std::span<const Tensor> v, const Backend::AdamHyperparams& h);

// -- fused losses (cross_entropy): kernels below --
void cross_entropy(const Tensor& logits, const Tensor& target, const Tensor& loss, const Tensor& lse);
void cross_entropy_backward(const Tensor& logits, const Tensor& target, const Tensor& lse, const Tensor& dloss,
                            const Tensor& dlogits);

void random(RandomKind kind, uint64_t seed, uint64_t offset, double a, double b, const Tensor& out);

}  // namespace gradlab::cuda
