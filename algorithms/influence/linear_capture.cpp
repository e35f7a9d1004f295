// LinearCapture: a forward hook per Linear records its input a; at each
// forward it registers a backward hook on the output s that records
// D = dL/ds. Tokens: [B, ..., f] -> [B, T, f], optionally with a 1 appended.
#include "algorithms/influence/linear_capture.h"

#include "autograd/ops.h"

namespace gradlab::influence {

LinearCapture::LinearCapture(std::vector<std::shared_ptr<nn::Linear>> layers)
    : layers_(std::move(layers)), store_(std::make_shared<Store>()) {
  store_->calls.resize(layers_.size());
  try {
    for (size_t l = 0; l < layers_.size(); ++l) {
      GL_CHECK(layers_[l] != nullptr, "LinearCapture: layer {} is null", l);
      // The hooks hold the store, not this object: a graph that outlives the
      // capture can still run its backward hooks safely.
      std::shared_ptr<Store> store = store_;
      hook_ids_.push_back(
          layers_[l]->register_forward_hook([store, l](const nn::Module&, const Var& input, const Var& output) {
            GL_CHECK(input.dim() >= 2,
                     "LinearCapture: layer {} got an input of shape {}; K-FAC needs [B, in] or [B, T, in] (an example "
                     "axis first)",
                     l, input.shape());
            auto& calls = store->calls[l];
            const size_t index = calls.size();
            calls.push_back({input.value(), Tensor()});
            if (!output.requires_grad()) return;
            const uint64_t generation = store->generation;
            output.register_hook([store, l, index, generation](const Tensor& grad) {
              if (store->generation == generation) store->calls[l][index].grad_output = grad;
              return Tensor();
            });
          }));
    }
  } catch (...) {
    for (size_t l = 0; l < hook_ids_.size(); ++l) layers_[l]->remove_forward_hook(hook_ids_[l]);
    throw;
  }
}

LinearCapture::~LinearCapture() {
  for (size_t l = 0; l < hook_ids_.size(); ++l) layers_[l]->remove_forward_hook(hook_ids_[l]);
}

const std::vector<LinearCapture::Call>& LinearCapture::calls(size_t layer) const {
  GL_CHECK(layer < store_->calls.size(), "LinearCapture::calls: layer {} out of range for {} layers", layer,
           store_->calls.size());
  return store_->calls[layer];
}

void LinearCapture::clear() {
  for (auto& calls : store_->calls) calls.clear();
  ++store_->generation;
}

Tensor as_tokens(const Tensor& t, bool append_one, const char* op) {
  GL_CHECK(t.defined() && t.dim() >= 2, "{}: expected a captured tensor [B, features] or [B, T, features], got {}", op,
           t.defined() ? t.shape() : Shape{});
  const int64_t B = t.size(0), F = t.size(-1);
  Tensor tokens = t.reshape({B, -1, F});
  if (append_one) tokens = concat({tokens, ones({B, tokens.size(1), 1}, t.dtype(), t.device())}, 2);
  return tokens;
}

}  // namespace gradlab::influence
