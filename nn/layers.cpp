// Embedding, LayerNorm, Dropout and MLP.
#include "nn/layers.h"

namespace gradlab::nn {

Embedding::Embedding(int64_t num, int64_t dim, Generator& gen, double std, DType dtype) {
  GL_CHECK(num > 0 && dim > 0, "Embedding: sizes must be positive, got {} x {}", num, dim);
  weight = register_parameter("weight", normal({num, dim}, 0.0, std, gen, dtype));
}

LayerNorm::LayerNorm(int64_t dim, double eps, DType dtype) : eps_(eps) {
  GL_CHECK(dim > 0, "LayerNorm: dim must be positive, got {}", dim);
  weight = register_parameter("weight", ones({dim}, dtype));
  bias = register_parameter("bias", zeros({dim}, dtype));
}

Dropout::Dropout(double p, uint64_t seed) : p_(p), gen_(seed) {
  GL_CHECK(p >= 0 && p < 1, "Dropout: p must be in [0, 1), got {}", p);
}

Var Dropout::forward(const Var& x) const { return dropout(x, p_, gen_, training()); }

Var activate(const Var& x, Activation a) {
  switch (a) {
    case Activation::none: return x;
    case Activation::relu: return relu(x);
    case Activation::tanh: return tanh(x);
    case Activation::gelu: return gelu(x);
    case Activation::silu: return silu(x);
    case Activation::sigmoid: return sigmoid(x);
  }
  return x;
}

Var add_bias_activate(const Var& x, const Var& bias, Activation a) {
  switch (a) {
    case Activation::none: return x + bias;
    case Activation::relu: return bias_activation(x, bias, UnaryOp::relu);
    case Activation::tanh: return bias_activation(x, bias, UnaryOp::tanh);
    case Activation::gelu: return bias_activation(x, bias, UnaryOp::gelu_erf);
    case Activation::silu: return bias_activation(x, bias, UnaryOp::silu);
    case Activation::sigmoid: return bias_activation(x, bias, UnaryOp::sigmoid);
  }
  return x + bias;
}

Activation activation_from_name(const std::string& name) {
  if (name == "none") return Activation::none;
  if (name == "relu") return Activation::relu;
  if (name == "tanh") return Activation::tanh;
  if (name == "gelu") return Activation::gelu;
  if (name == "silu") return Activation::silu;
  if (name == "sigmoid") return Activation::sigmoid;
  fail("activation: unknown name '{}' (none, relu, tanh, gelu, silu, sigmoid)", name);
}

MLP::MLP(const std::vector<int64_t>& sizes, Generator& gen, MLPOptions options) : options_(options) {
  GL_CHECK(sizes.size() >= 2, "MLP: needs at least {{in, out}} sizes, got {}", sizes.size());
  const bool orth = options.init == "orthogonal";
  GL_CHECK(orth || options.init == "default" || options.init == "xavier" || options.init == "kaiming",
           "MLP: unknown init '{}' (default, orthogonal, xavier, kaiming)", options.init);
  auto list = register_module("layers", std::make_shared<ModuleList>());
  for (size_t i = 0; i + 1 < sizes.size(); ++i) {
    auto layer =
        std::make_shared<Linear>(sizes[i], sizes[i + 1], gen, LinearOptions{.bias = true, .dtype = options.dtype});
    const bool last = i + 2 == sizes.size();
    const Shape wshape{sizes[i + 1], sizes[i]};
    Tensor w;
    if (orth) w = orthogonal(wshape, gen, last ? options.output_gain : options.gain, options.dtype);
    if (options.init == "xavier") w = xavier_uniform(wshape, gen, 1.0, options.dtype);
    if (options.init == "kaiming") w = kaiming_uniform(wshape, gen, options.gain, options.dtype);
    if (w.defined()) {
      NoGradGuard guard;
      Tensor wv = layer->weight.value(), bv = layer->bias.value();
      wv.copy_(w);
      bv.fill_(0.0);
    }
    layers_.push_back(list->push_back(layer));
  }
}

Var MLP::forward(const Var& x) const {
  Var h = x;
  for (size_t i = 0; i < layers_.size(); ++i)
    h = activate(layers_[i]->forward(h), i + 1 == layers_.size() ? options_.output : options_.activation);
  return h;
}

}  // namespace gradlab::nn
