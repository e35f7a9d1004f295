// The reference backend's attention kernels: the teaching loops of
// attention.h (the T x T scores and probabilities held whole, in double)
// called on contiguous copies of q, k, v and dout, which the kernel contract
// lets have any strides. key_mask arrives contiguous [B, T] b8 or undefined.
#include "tensor/ref/attention.h"
#include "tensor/ref/kernels.h"

namespace gradlab::ref {

namespace {
AttentionShape shape_of(const Tensor& q) { return {q.size(0), q.size(1), q.size(2), q.size(3)}; }
const bool* mask_or_null(const Tensor& key_mask) { return key_mask.defined() ? key_mask.host_data<bool>() : nullptr; }
}  // namespace

// out [B, H, T, D] and lse [B, H, T] from q, k, v [B, H, T, D].
void attention(const Tensor& q, const Tensor& k, const Tensor& v, bool causal, const Tensor& key_mask,
               const Tensor& out, const Tensor& lse) {
  dispatch_float(q.dtype(), "attention", [&](auto tag) {
    using T = decltype(tag);
    const Tensor qc = q.contiguous(), kc = k.contiguous(), vc = v.contiguous();
    attention_forward<T>(qc.host_data<T>(), kc.host_data<T>(), vc.host_data<T>(), shape_of(q), causal,
                         mask_or_null(key_mask), out.host_data<T>(), lse.host_data<T>());
  });
}

// dq, dk, dv [B, H, T, D] from dout. The forward's out and lse go unread: the
// reference recomputes the probabilities from q and k alone, so a wrong saved
// forward cannot hide a wrong backward.
void attention_backward(const Tensor& dout, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& /*out*/,
                        const Tensor& /*lse*/, bool causal, const Tensor& key_mask, const Tensor& dq, const Tensor& dk,
                        const Tensor& dv) {
  dispatch_float(q.dtype(), "attention_backward", [&](auto tag) {
    using T = decltype(tag);
    const Tensor dc = dout.contiguous(), qc = q.contiguous(), kc = k.contiguous(), vc = v.contiguous();
    attention_backward<T>(dc.host_data<T>(), qc.host_data<T>(), kc.host_data<T>(), vc.host_data<T>(), shape_of(q),
                          causal, mask_or_null(key_mask), dq.host_data<T>(), dk.host_data<T>(), dv.host_data<T>());
  });
}

}  // namespace gradlab::ref
