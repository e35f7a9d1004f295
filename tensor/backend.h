// Backends: one table per device of its memory functions and its kernels. Each
// public op in tensor/ops.h checks its arguments, allocates its result, and then
// dispatches once, at its entry, through backend(device). Each backend lives in
// a folder of its own (tensor/cpu/, tensor/ref/, tensor/cuda/) and registers its
// table at start-up with one line, GL_REGISTER_BACKEND(Device::..., table); the
// allocator and Tensor::to reach device memory only through the table. A
// missing backend or kernel is a clear error naming the op and the device.
#pragma once

#include <span>
#include <string_view>
#include <vector>

#include "tensor/adam_math.h"
#include "tensor/tensor.h"
#include "tensor/unary_ops.h"

namespace gradlab {

enum class BinaryOp { add, sub, mul, div, pow, maximum, minimum };
enum class CompareOp { eq, ne, lt, le, gt, ge };
enum class ReduceOp { sum, max, min };
enum class ArgReduceOp { argmax, argmin };
enum class RandomKind { uniform, normal, randint };

std::string_view op_name(UnaryOp op);
std::string_view op_name(BinaryOp op);
std::string_view op_name(CompareOp op);

// Every kernel's signature, written once as a function type; its contract is
// the comment above it. Every kernel writes into `out`, which the op's entry has
// allocated with the right shape and dtype; inputs have already been broadcast
// (expanded) to the shapes the kernel states. Tensors are handles: `const
// Tensor& out` is written through.
namespace kernel_sig {
// dst = src elementwise with dtype conversion; equal shapes, any strides.
using copy = void(const Tensor& src, const Tensor& dst);
using fill = void(const Tensor& dst, double value);
// out = op(x); equal shapes; x and out share a dtype.
using unary = void(UnaryOp op, UnaryParams params, const Tensor& x, const Tensor& out);
// dx = dout * op'(x), from the op's input x and output y (all of one shape).
using unary_backward = void(UnaryOp op, UnaryParams params, const Tensor& x, const Tensor& y, const Tensor& dout,
                            const Tensor& dx);
// In one pass: z = x + bias, y = op(z) and, for silu, s = sigmoid(z) (s is
// undefined for every other op; z and s are both undefined when nothing is
// kept for a backward, and only y is written); x and bias expanded to y's
// shape; z, y and s contiguous. The bits of binary(add) then unary(op) (and
// unary(sigmoid)).
using bias_activation = void(UnaryOp op, UnaryParams params, const Tensor& x, const Tensor& bias, const Tensor& z,
                             const Tensor& y, const Tensor& s);
// dz = dy * op'(z) from what bias_activation wrote (s undefined but for silu):
// the bits of unary_backward(op, z, y, dy), which a backend may call instead.
using bias_activation_backward = void(UnaryOp op, UnaryParams params, const Tensor& z, const Tensor& y,
                                      const Tensor& s, const Tensor& dy, const Tensor& dz);
// out = op(a, b); a, b expanded to out's shape.
using binary = void(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out);
// out (b8) = op(a, b); a, b expanded to out's shape.
using compare = void(CompareOp op, const Tensor& a, const Tensor& b, const Tensor& out);
// out = cond ? a : b; all expanded to out's shape; cond is b8.
using where = void(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out);
// out[kept] = op over `axes` of x; out has x's shape with size 1 on the axes.
using reduce = void(ReduceOp op, const Tensor& x, std::span<const int> axes, const Tensor& out);
// out (i64) = index of the max/min along axis; out has size 1 on that axis.
using arg_reduce = void(ArgReduceOp op, const Tensor& x, int axis, const Tensor& out);
// out [B.., M, N] = a [B.., M, K] @ b [B.., K, N]; batch axes already expanded; any strides.
using matmul = void(const Tensor& a, const Tensor& b, const Tensor& out);
// out [N, out] = x [N, in] weight^T (+ bias [out], contiguous, when defined); any strides for x and weight.
using linear = void(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& out);
// softmax (or log_softmax) of x along axis.
using softmax = void(const Tensor& x, int axis, bool log, const Tensor& out);
// out[.., i, ..] = x[.., index[.., i, ..], ..] along axis; index has out's shape.
using gather = void(const Tensor& x, int axis, const Tensor& index, const Tensor& out);
// out[.., index[.., i, ..], ..] += src[.., i, ..] along axis, in place.
using scatter_add = void(const Tensor& out, int axis, const Tensor& index, const Tensor& src);
// out = x with axis restricted to the entries of the 1-D index.
using index_select = void(const Tensor& x, int axis, const Tensor& index, const Tensor& out);
// out[.., index[j], ..] += src[.., j, ..] along axis, in place; out contiguous.
using index_add = void(const Tensor& out, int axis, const Tensor& index, const Tensor& src);
using cumsum = void(const Tensor& x, int axis, const Tensor& out);
// Stable sort along axis; indices are i64.
using sort = void(const Tensor& x, int axis, bool descending, const Tensor& values, const Tensor& indices);
// The k largest (or smallest) along axis, in order.
using topk = void(const Tensor& x, int64_t k, int axis, bool largest, const Tensor& values, const Tensor& indices);

// -- fused layers (layer_norm, add_layer_norm, attention, dropout) --
// Over the last axis of x [rows, C] (contiguous): y = (x - mean) rstd w + b,
// mean and rstd [rows]; weight and bias [C] contiguous or undefined.
using layer_norm = void(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, const Tensor& y,
                        const Tensor& mean, const Tensor& rstd);
// dx [rows, C], dweight and dbias [C] from dy and x [rows, C] (contiguous).
using layer_norm_backward = void(const Tensor& dy, const Tensor& x, const Tensor& weight, const Tensor& mean,
                                 const Tensor& rstd, const Tensor& dx, const Tensor& dweight, const Tensor& dbias);
// A residual add and the norm after it: sum = x + r, then layer_norm of sum
// into y, mean and rstd, as the binary add and layer_norm kernels compute
// them (a backend may do both in one pass). x, r and sum [rows, C] contiguous.
using add_layer_norm = void(const Tensor& x, const Tensor& r, const Tensor& weight, const Tensor& bias, double eps,
                            const Tensor& sum, const Tensor& y, const Tensor& mean, const Tensor& rstd);
// out [B, H, T, D] and lse [B, H, T] (contiguous) from q, k, v [B, H, T, D]
// (any strides); key_mask [B, T] b8 contiguous or undefined.
using attention = void(const Tensor& q, const Tensor& k, const Tensor& v, bool causal, const Tensor& key_mask,
                       const Tensor& out, const Tensor& lse);
// dq, dk, dv [B, H, T, D] (contiguous) from dout and out [B, H, T, D] (any
// strides) and lse [B, H, T] (contiguous), recomputing the probabilities.
using attention_backward = void(const Tensor& dout, const Tensor& q, const Tensor& k, const Tensor& v,
                                const Tensor& out, const Tensor& lse, bool causal, const Tensor& key_mask,
                                const Tensor& dq, const Tensor& dk, const Tensor& dv);
// out = x * (u >= p) / (1 - p), u from Philox (seed, offset); x and out contiguous.
using dropout = void(const Tensor& x, double p, uint64_t seed, uint64_t offset, const Tensor& out);

// -- optimisers (adam) --
// One Adam(W) step over a whole parameter list in one pass: params[i], m[i],
// v[i] updated in place from grads[i]; all four of one shape and dtype (f32
// or f64), contiguous; the lists of equal length.
using adam_step = void(std::span<const Tensor> params, std::span<const Tensor> grads, std::span<const Tensor> m,
                       std::span<const Tensor> v, const AdamHyperparams& h);
// The squared L2 norm of a list (gradient clipping): out, an f64 0-d tensor,
// = 0 + s_0 + s_1 + ... in list order, where s_i = sum(square(xs[i].to(f64)))
// as the backend's own reduce kernel sums it. xs contiguous, floating, on one
// device; a backend may fuse the passes but must keep those bits.
using sum_squares = void(std::span<const Tensor> xs, const Tensor& out);

// -- fused losses (cross_entropy) --
// Rows of logits [N, C] against target [N] (i64, < C; negative = ignored):
// lse [N] = log sum exp of each row, loss [N] = lse - logits[target] (0 if ignored).
using cross_entropy = void(const Tensor& logits, const Tensor& target, const Tensor& loss, const Tensor& lse);
// dlogits [N, C] = (exp(logits - lse) - onehot(target)) * dloss [N]; zero rows if ignored.
using cross_entropy_backward = void(const Tensor& logits, const Tensor& target, const Tensor& lse,
                                    const Tensor& dloss, const Tensor& dlogits);

// Fills out from Philox4x32-10 with key `seed`, counters from `offset`; (a, b)
// are (low, high) for uniform and randint, (mean, std) for normal.
using random = void(RandomKind kind, uint64_t seed, uint64_t offset, double a, double b, const Tensor& out);
}  // namespace kernel_sig

// The kernel list: every name above, once. A backend declares its kernels with
// GL_DECLARE_KERNELS() and fills its table with GL_KERNEL_TABLE(), so adding a
// kernel is one signature above and one name here; a backend that lacks it
// fails to link, naming the kernel.
#define GL_KERNEL_LIST(X)                                                                                            \
  X(copy) X(fill) X(unary) X(unary_backward) X(bias_activation) X(bias_activation_backward) X(binary) X(compare)   \
  X(where) X(reduce) X(arg_reduce) X(matmul) X(linear) X(softmax) X(gather) X(scatter_add) X(index_select)          \
  X(index_add) X(cumsum) X(sort) X(topk)                                                                            \
  X(layer_norm) X(layer_norm_backward) X(add_layer_norm) X(attention) X(attention_backward) X(dropout)              \
  X(adam_step) X(sum_squares) X(cross_entropy) X(cross_entropy_backward) X(random)

// A backend: its memory (what the caching allocator of tensor/allocator.h and
// Tensor::to build on) and its kernels, looked up by device.
struct Backend {
  using AdamHyperparams = gradlab::AdamHyperparams;

  std::string_view name;
  // -- memory --
  bool host_memory = false;                      // the CPU reads and writes its data directly
  void* (*raw_alloc)(size_t nbytes) = nullptr;   // a 64-byte aligned block, or null when out of memory
  void (*raw_free)(void* ptr) = nullptr;
  int64_t cache_limit = 0;                       // bytes its caching allocator may keep for reuse
  // Byte copies between this device's memory and the host's (plain memcpy for host memory).
  void (*copy_to_host)(void* host_dst, const void* src, size_t nbytes) = nullptr;
  void (*copy_from_host)(void* dst, const void* host_src, size_t nbytes) = nullptr;
  void (*synchronize)() = nullptr;               // waits for every queued kernel
  bool (*available)() = nullptr;                 // whether the hardware is present (null: always)
  // Raises the first bad index or target its kernels recorded since the last
  // call (see check_pending_errors); null for a backend whose kernels raise at once.
  void (*check_errors)() = nullptr;

  // -- kernels, one pointer per entry of the list --
#define GL_KERNEL_MEMBER(k) kernel_sig::k* k = nullptr;
  GL_KERNEL_LIST(GL_KERNEL_MEMBER)
#undef GL_KERNEL_MEMBER
};

// In a backend's kernels.h, inside its namespace: one declaration a kernel.
#define GL_KERNEL_DECLARATION(k) ::gradlab::kernel_sig::k k;
#define GL_DECLARE_KERNELS() GL_KERNEL_LIST(GL_KERNEL_DECLARATION)
// In a backend's table, after its memory entries: `.copy = copy, ...` for every kernel.
#define GL_KERNEL_ENTRY(k) .k = k,
#define GL_KERNEL_TABLE() GL_KERNEL_LIST(GL_KERNEL_ENTRY)

// The table for a device. Throws when the device is unavailable (a build
// without CUDA, or no GPU present).
const Backend& backend(Device device);
// Whether backend(device) would succeed: built, registered and its hardware present.
bool backend_available(Device device);
// The devices whose backends are available, cpu first.
std::vector<Device> available_devices();

// Parses a device named on a command line ("cpu", "cuda" or "ref") and checks
// that it is usable here: an unknown name, a build without CUDA or a machine
// without a GPU is a clear error naming the flag.
Device device_from_flag(std::string_view name, std::string_view flag = "--device");

// Crossings between the CPU and another device made by Tensor::to (item(),
// to_vector() and every explicit .to(Device::cpu) go through it). A training
// step's host synchronisations are counted with it; the ref backend counts
// like a GPU, so the count is tested without one.
struct TransferCounts {
  uint64_t to_host = 0;    // device -> CPU: each one waits for the device's queue
  uint64_t from_host = 0;  // CPU -> device
};
TransferCounts transfer_counts();
void count_crossing(Device from, Device to);

// Deferred errors. The cpu and ref kernels check indices and targets before
// they start and raise at once. A device that runs asynchronously (cuda) does
// not wait for its kernels: a kernel that meets a bad index or target skips it
// and records it on the device, and the host raises the same error (op, value,
// position, bound) later: at the next copy from that device to the host
// (item(), to_vector(), .to(Device::cpu)), at check_pending_errors(), or right
// after the launch when GRADLAB_CUDA_SYNC=1 is set (debug mode). A training
// loop that reads its loss each step so sees a bad batch within that step.
// check_pending_errors() reads every device's record if a checked kernel ran
// since the last read (one synchronising copy, counted by transfer_counts()).
void check_pending_errors();

// A label for the checks made while it lives (innermost wins), added to a
// deferred error's message so that it names the caller ("GPT: token ids").
class ErrorLabel {
 public:
  explicit ErrorLabel(std::string_view label);
  ~ErrorLabel();
  ErrorLabel(const ErrorLabel&) = delete;
  ErrorLabel& operator=(const ErrorLabel&) = delete;

 private:
  std::string_view previous_;
};
// The label in force on this thread (empty when none).
std::string_view error_label();

// A check of values on their device without reading them back: raises
// "{what} ({count} found)" unless `count`, an integer scalar (the number of bad
// entries, counted on the device), is 0. On the cpu at once. On another device
// the count is handed to the device's own index check, as an index into an
// axis of one entry: on ref it raises at once, on cuda at the next check
// (above), labelled with `what`.
void check_none_bad(const Tensor& count, std::string_view what);

// Registers the table of a device (each backend does it once, at start-up,
// through GL_REGISTER_BACKEND); a second table for one device is an error.
bool register_backend(Device device, const Backend* table);
#define GL_REGISTER_BACKEND(device, table) \
  [[maybe_unused]] static const bool gl_backend_registered_ = ::gradlab::register_backend(device, &(table))

// backend(device).*kernel, or a clear error naming op and device when missing.
template <class Kernel>
Kernel kernel(Kernel Backend::*member, Device device, std::string_view op) {
  const Backend& be = backend(device);
  Kernel k = be.*member;
  GL_CHECK(k != nullptr, "{}: no {} kernel yet", op, be.name);
  return k;
}

}  // namespace gradlab
