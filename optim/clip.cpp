// Gradient clipping by total norm and by value (see optim/clip.h). The
// gradients are written in place through their tensors.
#include "optim/clip.h"

#include <cmath>
#include <vector>

#include "tensor/ops.h"
#include "tensor/optim_kernels.h"

namespace gradlab::optim {

double clip_grad_norm(const std::vector<Var>& params, double max_norm) {
  GL_CHECK(std::isfinite(max_norm) && max_norm > 0, "clip_grad_norm: max_norm must be finite and > 0, got {}",
           max_norm);
  // The squares are summed in f64 on the gradients' device, every gradient in
  // one sum_squares call (on the CPU one pass over each f32 gradient, no f64
  // copy), and read back once: one host synchronisation a step, not one a
  // parameter. CPU gradients first, then those on a device.
  std::vector<Tensor> on_cpu, on_device;
  for (const Var& p : params) {
    GL_CHECK(p.defined(), "clip_grad_norm: got an undefined Var");
    const Tensor& g = p.grad();
    if (!g.defined() || g.numel() == 0) continue;
    (g.device() == Device::cpu ? on_cpu : on_device).push_back(g);
  }
  double sum_sq = on_cpu.empty() ? 0.0 : sum_squares(on_cpu).item();
  if (!on_device.empty()) sum_sq += sum_squares(on_device).item();
  const double norm = std::sqrt(sum_sq);
  if (std::isfinite(norm) && norm > max_norm) {
    const double scale = max_norm / (norm + 1e-6);
    NoGradGuard no_grad;
    for (const Var& p : params) {
      Tensor g = p.grad();
      if (g.defined()) g.mul_(scale);
    }
  }
  return norm;
}

Tensor clip_grad_norm_on_device(const std::vector<Var>& params, double max_norm) {
  GL_CHECK(std::isfinite(max_norm) && max_norm > 0, "clip_grad_norm_on_device: max_norm must be finite and > 0, got {}",
           max_norm);
  GL_CHECK(!params.empty() && params.front().defined(), "clip_grad_norm_on_device: no parameters");
  NoGradGuard no_grad;
  const Device device = params.front().device();
  std::vector<Tensor> grads;
  for (const Var& p : params) {
    GL_CHECK(p.defined(), "clip_grad_norm_on_device: got an undefined Var");
    GL_CHECK(p.device() == device, "clip_grad_norm_on_device: parameters on {} and {}", device_name(device),
             device_name(p.device()));
    const Tensor& g = p.grad();
    if (g.defined() && g.numel() > 0) grads.push_back(g);
  }
  const Tensor norm = sqrt(grads.empty() ? zeros({}, DType::f64, device) : sum_squares(grads));
  // Clip only a finite norm above max_norm (NaN and inf compare false with lt).
  const Tensor clip = mul(gt(norm, max_norm).to(DType::f64), lt(norm, HUGE_VAL).to(DType::f64));
  const Tensor scale = where(ne(clip, 0.0), max_norm / add(norm, 1e-6), ones({}, DType::f64, device));
  for (const Var& p : params) {
    Tensor g = p.grad();
    if (g.defined()) g.copy_(mul(g, scale.to(g.dtype())));
  }
  return norm;
}

void clip_grad_norm_async(const std::vector<Var>& params, double max_norm) {
  const bool on_cpu = params.empty() || !params.front().defined() || params.front().device() == Device::cpu;
  if (on_cpu)
    clip_grad_norm(params, max_norm);
  else
    clip_grad_norm_on_device(params, max_norm);
}

void clip_grad_value(const std::vector<Var>& params, double clip_value) {
  GL_CHECK(std::isfinite(clip_value) && clip_value > 0, "clip_grad_value: clip_value must be finite and > 0, got {}",
           clip_value);
  NoGradGuard no_grad;
  for (const Var& p : params) {
    GL_CHECK(p.defined(), "clip_grad_value: got an undefined Var");
    Tensor g = p.grad();
    if (g.defined()) g.copy_(clamp(g, -clip_value, clip_value));
  }
}

}  // namespace gradlab::optim
