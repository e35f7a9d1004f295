// The probabilistic dynamics ensemble of MOPO/ORPO: standardisation of the
// inputs (s, a) and targets [s' - s, r], the bootstrap, the training loop
// (ORPO.2) with holdout early stopping and per-member best snapshots, elite
// selection, predictions in the original units, and the sampled model step
// with the uncertainty u(s, a) of (ORPO.3) or (ORPO.4), all on the ensemble's
// device. The CPU runs exactly the float operations it ran before devices
// existed (its results are recorded in bench/results).
// Equations: docs/papers/orpo.md "Dynamics ensemble" and "Uncertainty and the
// two MDPs"; docs/papers/rl-baselines.md "MOPO, MOReL, COMBO" (MOPO.1).
#include "algorithms/rl/offline/dynamics_ensemble.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>

#include "algorithms/rl/rl_utils.h"
#include "autograd/ops.h"
#include "optim/adam.h"
#include "optim/finite.h"
#include "tensor/error.h"

namespace gradlab::rl {

namespace {

// A standard deviation below this marks a constant column: it is centred and
// left unscaled (divided by 1), so that it cannot blow up unseen inputs.
constexpr double kMinStd = 1e-6;
// Rows per forward pass when predicting many states: keeps the [K, rows, 200]
// activations in cache-sized pieces and the peak memory bounded.
constexpr int64_t kPredictChunk = 8192;

std::vector<double> to_doubles(const Tensor& t) { return t.to(DType::f64).contiguous().to_vector<double>(); }

Tensor as_f32(const Tensor& t) { return t.dtype() == DType::f32 ? t.contiguous() : t.to(DType::f32).contiguous(); }

// A host vector as an f32 tensor on `device` (one crossing off the CPU).
Tensor f32_on(const std::vector<double>& v, Device device) { return from_vector(v).to(DType::f32).to(device); }

// u(s, a) from a prediction in the original units (means, log_var [K, N, obs + 1]).
Tensor uncertainty_of(const Tensor& means, const Tensor& log_var, int64_t obs_dim, Uncertainty mode) {
  if (mode == Uncertainty::aleatoric) {
    // (ORPO.3) = (MOPO.1): u = max_k ||sigma_k(s, a)||_2, the L2 norm over every
    // output dim (next state and reward, as MOPO's code takes the norm of the
    // whole predicted std), the max over all K members (MOPO's code maxes over
    // the whole ensemble, not just the elites).
    const Tensor std_dev = exp(log_var * 0.5);
    return max(norm(std_dev, 2.0, {2}), {0});
  }
  // (ORPO.4): u = sqrt(mean_j Var_k[mu_{k,j}]) over the next-state dims j and
  // all K members; Var is the population variance (divides by K, as numpy's var).
  const Tensor next_state_means = means.narrow(2, 0, obs_dim);
  return sqrt(mean(var(next_state_means, {0}, false, 0), {1}));
}

}  // namespace

Uncertainty parse_uncertainty(const std::string& name) {
  if (name == "aleatoric") return Uncertainty::aleatoric;
  if (name == "ensemble_std") return Uncertainty::ensemble_std;
  GL_CHECK(false, "unknown uncertainty '{}': expected 'aleatoric' or 'ensemble_std'", name);
  return Uncertainty::aleatoric;
}

std::string uncertainty_name(Uncertainty u) { return u == Uncertainty::aleatoric ? "aleatoric" : "ensemble_std"; }

Var ensemble_gaussian_loss(const nn::GaussianPrediction& prediction, const Var& target) {
  GL_CHECK(prediction.mean.defined() && prediction.mean.dim() == 3,
           "ensemble_gaussian_loss: the mean must be [K, N, out], got shape {}",
           prediction.mean.defined() ? prediction.mean.shape() : Shape{});
  const int64_t K = prediction.mean.size(0);
  // GaussianMLP::nll (mean reduction) is 0.5 mean(lv + (mu - y)^2 e^{-lv}) over
  // all K N out elements; the per-member means summed over K members with
  // equal N are K times the overall mean, so (ORPO.2) = 2 K nll.
  return (2.0 * double(K)) * nn::GaussianMLP::nll(prediction.mean, prediction.log_var, target);
}

Tensor member_row_indices(int64_t members, int64_t rows, bool bootstrap, Generator& gen, Device device) {
  GL_CHECK(members >= 1 && rows >= 1, "member_row_indices: needs members >= 1 and rows >= 1, got {} and {}", members,
           rows);
  // with replacement, member by member
  if (bootstrap) return randint(0, rows, {members, rows}, gen, DType::i64, device);
  return argsort(rand({members, rows}, gen, DType::f32, device), -1);  // a permutation per member
}

// ---------------------------------------------------------------- DynamicsEnsemble

DynamicsEnsemble::DynamicsEnsemble(int64_t obs_dim, int64_t act_dim, const DynamicsEnsembleOptions& options,
                                   uint64_t seed)
    : obs_dim_(obs_dim), act_dim_(act_dim), options_(options), gen_(Generator(seed).fork(1)) {
  const auto& o = options_;
  GL_CHECK(obs_dim >= 1 && act_dim >= 1, "DynamicsEnsemble: obs_dim and act_dim must be positive, got {} and {}",
           obs_dim, act_dim);
  GL_CHECK(o.members >= 1, "DynamicsEnsemble: members must be positive, got {}", o.members);
  GL_CHECK(o.elites >= 1 && o.elites <= o.members, "DynamicsEnsemble: elites must be in [1, members = {}], got {}",
           o.members, o.elites);
  for (const int64_t h : o.hidden) GL_CHECK(h >= 1, "DynamicsEnsemble: hidden sizes must be positive, got {}", h);
  GL_CHECK(o.weight_decay.size() == o.hidden.size() + 1,
           "DynamicsEnsemble: weight_decay needs one value per layer, hidden.size() + 1 = {}, got {}",
           o.hidden.size() + 1, o.weight_decay.size());
  for (const double wd : o.weight_decay)
    GL_CHECK(std::isfinite(wd) && wd >= 0, "DynamicsEnsemble: weight decays must be finite and >= 0, got {}", wd);
  GL_CHECK(std::isfinite(o.lr) && o.lr > 0, "DynamicsEnsemble: lr must be positive, got {}", o.lr);
  GL_CHECK(o.batch_size >= 1, "DynamicsEnsemble: batch_size must be positive, got {}", o.batch_size);
  GL_CHECK(o.holdout_fraction >= 0 && o.holdout_fraction < 1,
           "DynamicsEnsemble: holdout_fraction must be in [0, 1), got {}", o.holdout_fraction);
  GL_CHECK(o.max_holdout >= 0, "DynamicsEnsemble: max_holdout must be >= 0, got {}", o.max_holdout);
  GL_CHECK(o.patience >= 1, "DynamicsEnsemble: patience must be >= 1, got {}", o.patience);
  GL_CHECK(std::isfinite(o.improvement) && o.improvement >= 0, "DynamicsEnsemble: improvement must be >= 0, got {}",
           o.improvement);
  GL_CHECK(o.max_epochs >= 0, "DynamicsEnsemble: max_epochs must be >= 0 (0: until early stopping), got {}",
           o.max_epochs);
  GL_CHECK(std::isfinite(o.bound_penalty) && o.bound_penalty >= 0,
           "DynamicsEnsemble: bound_penalty must be >= 0, got {}", o.bound_penalty);
  GL_CHECK(std::isfinite(o.progress_seconds), "DynamicsEnsemble: progress_seconds must be finite, got {}",
           o.progress_seconds);

  Generator init_gen = Generator(seed).fork(0);
  std::vector<int64_t> sizes{obs_dim + act_dim};
  sizes.insert(sizes.end(), o.hidden.begin(), o.hidden.end());
  sizes.push_back(obs_dim + 1);
  // Swish between layers; made on the CPU (the same weights on every device), then moved
  model_ = std::make_shared<nn::GaussianMLP>(o.members, sizes, init_gen);
  model_->to(o.device);

  // Before train(): the identity standardisation and the first `elites` members.
  set_standardisation(Tensor(), Tensor());
  std::vector<int64_t> first(size_t(o.elites));
  std::iota(first.begin(), first.end(), int64_t{0});
  set_elites(first);
}

void DynamicsEnsemble::set_standardisation(const Tensor& inputs, const Tensor& targets) {
  const int64_t in = obs_dim_ + act_dim_, out = obs_dim_ + 1;
  // Fitted on the device; the statistics are read back (train() does it once) for the
  // accessors and the constant-column rule.
  auto fit = [](const Tensor& x, int64_t width, std::vector<double>& mu, std::vector<double>& sd) {
    if (!x.defined()) {
      mu.assign(size_t(width), 0.0);
      sd.assign(size_t(width), 1.0);
      return;
    }
    const Tensor x64 = x.to(DType::f64);
    mu = to_doubles(mean(x64, {0}));
    sd = to_doubles(sqrt(var(x64, {0}, false, 0)));
    for (double& s : sd)
      if (!(s >= kMinStd)) s = 1.0;  // a constant column: centred only
  };
  fit(inputs, in, input_mean_, input_std_);
  fit(targets, out, target_mean_, target_std_);
  const Device device = options_.device;
  input_mean_t_ = f32_on(input_mean_, device);
  input_std_t_ = f32_on(input_std_, device);
  target_mean_t_ = f32_on(target_mean_, device);
  target_std_t_ = f32_on(target_std_, device);
  // Var[sd z + mu] = sd^2 Var[z]: the log-variance gains 2 log sd.
  std::vector<double> shift;
  for (const double s : target_std_) shift.push_back(2.0 * std::log(s));
  target_log_var_shift_ = f32_on(shift, device);
}

void DynamicsEnsemble::set_elites(std::vector<int64_t> elites) {
  elites_ = std::move(elites);
  elites_t_ = from_vector(elites_, {}, options_.device);
}

Tensor DynamicsEnsemble::standardise_inputs(const Tensor& obs, const Tensor& actions, const char* where) const {
  GL_CHECK(obs.defined() && actions.defined(), "DynamicsEnsemble::{}: obs or actions is undefined", where);
  GL_CHECK(obs.dim() == 2 && obs.size(1) == obs_dim_, "DynamicsEnsemble::{}: obs of shape {} should be [N, {}]", where,
           obs.shape(), obs_dim_);
  GL_CHECK(actions.dim() == 2 && actions.size(1) == act_dim_ && actions.size(0) == obs.size(0),
           "DynamicsEnsemble::{}: actions of shape {} should be [{}, {}] (obs {})", where, actions.shape(), obs.size(0),
           act_dim_, obs.shape());
  GL_CHECK(obs.size(0) >= 1, "DynamicsEnsemble::{}: no rows (obs of shape {})", where, obs.shape());
  // No hidden copy: inputs on another device are the caller's mistake, named here.
  GL_CHECK(obs.device() == options_.device && actions.device() == options_.device,
           "DynamicsEnsemble::{}: obs on {} and actions on {}, the ensemble on {}: move them there", where,
           device_name(obs.device()), device_name(actions.device()), device_name(options_.device));
  return (concat({as_f32(obs), as_f32(actions)}, 1) - input_mean_t_) / input_std_t_;
}

Var DynamicsEnsemble::loss(const Var& inputs, const Var& targets) const {
  Var total = ensemble_gaussian_loss(model_->forward(inputs), targets);
  // Per-layer weight decay sum_l wd_l |W_l|^2 / 2 over every member's weights
  // (not the biases), as in MOPO's and ORPO's ensembles.
  const auto& layers = model_->net->layers();
  for (size_t l = 0; l < layers.size(); ++l)
    if (options_.weight_decay[l] > 0) total = total + (0.5 * options_.weight_decay[l]) * sum(square(layers[l]->weight));
  // Keeps the learnable log-variance bounds (ORPO.1) from drifting apart.
  if (options_.bound_penalty > 0) total = total + options_.bound_penalty * model_->bound_penalty();
  return total;
}

Tensor DynamicsEnsemble::member_mse(const Tensor& inputs, const Tensor& targets) const {
  NoGradGuard no_grad;
  const int64_t rows = inputs.size(0);
  Tensor squared_error_sum = zeros({model_->members()}, DType::f64, inputs.device());
  for (int64_t start = 0; start < rows; start += kPredictChunk) {
    const int64_t len = std::min(kPredictChunk, rows - start);
    const Tensor mu = model_->forward(Var(inputs.narrow(0, start, len))).mean.value();  // [K, len, out]
    squared_error_sum = squared_error_sum + sum(square(mu - targets.narrow(0, start, len)), {1, 2}).to(DType::f64);
  }
  return squared_error_sum / double(rows * targets.size(1));
}

DynamicsTrainReport DynamicsEnsemble::train(const envs::Dataset& data) {
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  const auto& o = options_;
  const int64_t N = data.size();
  GL_CHECK(N >= 1, "DynamicsEnsemble::train: the dataset is empty");
  GL_CHECK(data.observations.defined() && data.actions.defined() && data.next_observations.defined(),
           "DynamicsEnsemble::train: the dataset lacks observations, actions or next_observations");
  GL_CHECK(data.rewards.shape() == Shape{N}, "DynamicsEnsemble::train: rewards of shape {} should be [{}]",
           data.rewards.shape(), N);
  GL_CHECK(data.observations.shape() == (Shape{N, obs_dim_}) && data.next_observations.shape() == (Shape{N, obs_dim_}),
           "DynamicsEnsemble::train: observations {} and next_observations {} should both be [{}, {}] (obs_dim {})",
           data.observations.shape(), data.next_observations.shape(), N, obs_dim_, obs_dim_);
  GL_CHECK(data.actions.shape() == (Shape{N, act_dim_}),
           "DynamicsEnsemble::train: actions of shape {} should be [{}, {}] (act_dim {})", data.actions.shape(), N,
           act_dim_, act_dim_);

  // Once per train(), on a device: the dataset crosses there (a tensor each),
  // two sums are read back for the finite check, and set_standardisation
  // reads the four statistics back and sends their f32 copies.
  const Device device = o.device;
  const bool on_cpu = device == Device::cpu;
  const Tensor obs = as_f32(data.observations.to(device));
  const Tensor inputs = concat({obs, as_f32(data.actions.to(device))}, 1);  // [N, in]
  const Tensor targets = concat(
      {as_f32(data.next_observations.to(device)) - obs, as_f32(data.rewards.to(device)).unsqueeze(1)}, 1);  // [N, out]
  GL_CHECK(std::isfinite(sum(inputs.to(DType::f64)).item<double>()) &&
               std::isfinite(sum(targets.to(DType::f64)).item<double>()),
           "DynamicsEnsemble::train: the dataset holds NaN or infinite values");

  // Holdout: min(holdout_fraction N, max_holdout) rows of a random split.
  const int64_t holdout = std::min<int64_t>(int64_t(std::floor(o.holdout_fraction * double(N))), o.max_holdout);
  const int64_t train_rows = N - holdout;  // >= 1 since holdout_fraction < 1
  const Tensor order = argsort(rand({N}, gen_, DType::f32, device), -1);
  const Tensor train_index = order.narrow(0, holdout, train_rows).contiguous();
  const Tensor train_x = index_select(inputs, 0, train_index), train_y = index_select(targets, 0, train_index);
  set_standardisation(train_x, train_y);
  auto standardise_targets = [&](const Tensor& y) { return (y - target_mean_t_) / target_std_t_; };
  const Tensor x = (train_x - input_mean_t_) / input_std_t_, y = standardise_targets(train_y);
  Tensor eval_x = x, eval_y = y;  // no holdout: the training rows are evaluated instead
  if (holdout > 0) {
    const Tensor holdout_index = order.narrow(0, 0, holdout).contiguous();
    eval_x = (index_select(inputs, 0, holdout_index) - input_mean_t_) / input_std_t_;
    eval_y = standardise_targets(index_select(targets, 0, holdout_index));
  }

  const int64_t K = o.members, in = x.size(1), out = y.size(1);
  const Tensor member_rows = member_row_indices(K, train_rows, o.bootstrap, gen_, device);  // [K, train_rows]
  optim::Adam adam(model_->parameters(), {.lr = o.lr});

  // The best weights of each member so far (the network's; the log-variance
  // bounds are shared by the members and keep their last values).
  std::vector<Var> net_params = model_->net->parameters();
  std::vector<Tensor> best_params;
  for (const Var& p : net_params) best_params.push_back(p.value().clone());
  std::vector<double> best(size_t(K), std::numeric_limits<double>::infinity());

  DynamicsTrainReport report;
  report.train_rows = train_rows;
  report.holdout_rows = holdout;
  int64_t epochs_without_improvement = 0, step = 0;
  auto last_progress = t0;
  for (int64_t epoch = 1;; ++epoch) {
    // Each member visits its own rows in a fresh order: a [K, train_rows]
    // permutation of its row list, drawn and applied on the device.
    const Tensor epoch_rows = gather(member_rows, 1, argsort(rand({K, train_rows}, gen_, DType::f32, device), -1));
    // The finite-loss check: on the CPU each step's loss is read (it costs
    // nothing there); on a device the epoch's summed loss is read with the
    // holdout MSEs, once per epoch.
    Tensor epoch_loss = on_cpu ? Tensor() : zeros({1}, DType::f64, device);
    for (int64_t start = 0; start < train_rows; start += o.batch_size) {
      const int64_t len = std::min(o.batch_size, train_rows - start);
      const Tensor batch_rows = epoch_rows.narrow(1, start, len).contiguous().view({K * len});
      // [K, B, in]: member k's own rows, all members in one batched forward
      const Tensor xb = index_select(x, 0, batch_rows).view({K, len, in});
      const Tensor yb = index_select(y, 0, batch_rows).view({K, len, out});
      adam.zero_grad();
      const Var total = loss(Var(xb), Var(yb));
      if (on_cpu)
        optim::check_finite_loss(total, "DynamicsEnsemble", step);
      else
        epoch_loss = epoch_loss + total.value().to(DType::f64);
      total.backward();
      adam.step();
      ++step;
    }

    // The one host read of an epoch: each member's holdout MSE, which early
    // stopping and the best snapshots (host control flow) decide on.
    std::vector<double> mse;
    if (on_cpu) {
      mse = to_doubles(member_mse(eval_x, eval_y));
    } else {
      mse = to_doubles(concat({member_mse(eval_x, eval_y), epoch_loss}, 0));
      const double loss_sum = mse.back();
      mse.pop_back();
      GL_CHECK(std::isfinite(loss_sum),
               "DynamicsEnsemble: the loss summed over epoch {} is {}; lower the learning rate or check the inputs",
               epoch, loss_sum);
    }
    bool improved = false;
    for (int64_t k = 0; k < K; ++k) {
      const double previous = best[size_t(k)];
      if (std::isinf(previous) ? !std::isnan(mse[size_t(k)]) : (previous - mse[size_t(k)]) / previous > o.improvement) {
        best[size_t(k)] = mse[size_t(k)];
        for (size_t p = 0; p < net_params.size(); ++p)
          best_params[p].select(0, k).copy_(net_params[p].value().select(0, k));
        improved = true;
      }
    }
    epochs_without_improvement = improved ? 0 : epochs_without_improvement + 1;
    report.epochs = epoch;

    const double seconds = std::chrono::duration<double>(clock::now() - t0).count();
    const bool done = epochs_without_improvement >= o.patience || (o.max_epochs > 0 && epoch >= o.max_epochs);
    if (o.progress_seconds > 0 &&
        (done || std::chrono::duration<double>(clock::now() - last_progress).count() >= o.progress_seconds)) {
      last_progress = clock::now();
      const double mean_mse = std::accumulate(mse.begin(), mse.end(), 0.0) / double(K);
      std::fprintf(stderr,
                   "DynamicsEnsemble epoch %lld: holdout mse %.5g (member mean, standardised units), best %.5g, "
                   "%lld epochs without improvement, %.1fs\n",
                   (long long)epoch, mean_mse, *std::min_element(best.begin(), best.end()),
                   (long long)epochs_without_improvement, seconds);
    }
    if (done) break;
  }

  // Every member gets back its best weights; its holdout MSE is re-measured on them.
  {
    NoGradGuard no_grad;
    for (size_t p = 0; p < net_params.size(); ++p) {
      Tensor value = net_params[p].value();
      value.copy_(best_params[p]);
    }
  }
  report.holdout_mse = to_doubles(member_mse(eval_x, eval_y));  // one read
  std::vector<int64_t> ranking(static_cast<size_t>(K));
  std::iota(ranking.begin(), ranking.end(), int64_t{0});
  std::stable_sort(ranking.begin(), ranking.end(), [&](int64_t a, int64_t b) {
    const double ma = report.holdout_mse[size_t(a)], mb = report.holdout_mse[size_t(b)];
    return std::isnan(mb) ? !std::isnan(ma) : ma < mb;  // NaN last
  });
  ranking.resize(size_t(o.elites));
  set_elites(ranking);
  report.elites = elites_;
  for (const int64_t e : elites_) report.elite_holdout_mse += report.holdout_mse[size_t(e)] / double(o.elites);
  report.seconds = std::chrono::duration<double>(clock::now() - t0).count();
  return report;
}

nn::GaussianPrediction DynamicsEnsemble::predict(const Tensor& obs, const Tensor& actions) const {
  return predict_standardised(standardise_inputs(obs, actions, "predict"));
}

nn::GaussianPrediction DynamicsEnsemble::predict_standardised(const Tensor& x) const {
  NoGradGuard no_grad;
  const int64_t rows = x.size(0);
  std::vector<Tensor> means, log_vars;
  for (int64_t start = 0; start < rows; start += kPredictChunk) {
    const int64_t len = std::min(kPredictChunk, rows - start);
    const nn::GaussianPrediction p = model_->forward(Var(x.narrow(0, start, len)));
    // back to the original target units: mu = sd mu_std + mean, lv = lv_std + 2 log sd
    means.push_back(p.mean.value() * target_std_t_ + target_mean_t_);
    log_vars.push_back(p.log_var.value() + target_log_var_shift_);
  }
  if (means.size() == 1) return {Var(means[0]), Var(log_vars[0])};
  return {Var(concat(means, 1)), Var(concat(log_vars, 1))};
}

Tensor DynamicsEnsemble::uncertainty(const Tensor& obs, const Tensor& actions) const {
  return uncertainty(obs, actions, options_.uncertainty);
}

Tensor DynamicsEnsemble::uncertainty(const Tensor& obs, const Tensor& actions, Uncertainty mode) const {
  const nn::GaussianPrediction p = predict_standardised(standardise_inputs(obs, actions, "uncertainty"));
  return uncertainty_of(p.mean.value(), p.log_var.value(), obs_dim_, mode);
}

ModelStep DynamicsEnsemble::step(const Tensor& obs, const Tensor& actions, Generator& gen) const {
  const nn::GaussianPrediction p = predict_standardised(standardise_inputs(obs, actions, "step"));
  const Tensor& means = p.mean.value();       // [K, N, out]
  const Tensor& log_var = p.log_var.value();  // [K, N, out]
  const int64_t N = means.size(1), out = means.size(2);
  // One uniformly random elite per row; only its Gaussian is sampled (the
  // other members' samples would be thrown away): [s' - s, r] ~ N(mu, sigma^2).
  // Both draws are made on the device: the same numbers as the CPU's, nothing crosses.
  const Device device = options_.device;
  const Tensor member =
      index_select(elites_t_, 0, randint(0, int64_t(elites_.size()), {N}, gen, DType::i64, device));  // [N]
  const Tensor pick = member.view({1, N, 1}).expand({1, N, out}).contiguous();
  const Tensor mu = gather(means, 0, pick).squeeze(0);               // [N, out]
  const Tensor sd = exp(gather(log_var, 0, pick).squeeze(0) * 0.5);  // [N, out]
  const Tensor sample = mu + sd * randn({N, out}, gen, DType::f32, device);
  ModelStep result;
  result.next_obs = as_f32(obs) + sample.narrow(1, 0, obs_dim_);
  result.rewards = sample.select(1, obs_dim_).contiguous();
  result.uncertainty = uncertainty_of(means, log_var, obs_dim_, options_.uncertainty);
  return result;
}

}  // namespace gradlab::rl
