#include "framework/train/Balance.h"

#include <algorithm>
#include <vector>

#include <fmt/format.h>

#include "framework/core/Errors.h"

namespace ferlab::train {
namespace {

torch::Tensor shuffled(const torch::Tensor& indices) {
  const auto order = torch::randperm(indices.size(0), torch::TensorOptions().dtype(torch::kInt64));
  return indices.index_select(0, order.to(indices.device()));
}

// Each class's positions within the training split (int64 tensors on the labels' device).
std::vector<torch::Tensor> positionsByClass(const torch::Tensor& labels, int num_classes) {
  std::vector<torch::Tensor> positions;
  for (int c = 0; c < num_classes; ++c) positions.push_back(torch::nonzero(labels == c).view({-1}));
  return positions;
}

torch::Tensor resampledToEqualClasses(const torch::Tensor& indices, const torch::Tensor& labels,
                                      int num_classes, bool over) {
  const auto by_class = positionsByClass(labels, num_classes);
  std::int64_t target = over ? 0 : indices.size(0);
  for (const auto& positions : by_class) {
    if (positions.size(0) == 0) continue;  // a class absent from training stays absent
    target = over ? std::max(target, positions.size(0)) : std::min(target, positions.size(0));
  }
  std::vector<torch::Tensor> parts;
  for (const auto& positions : by_class) {
    const auto n = positions.size(0);
    if (n == 0) continue;
    if (over) {
      parts.push_back(positions);
      const auto extra = torch::randint(n, {target - n}, positions.options());
      parts.push_back(positions.index_select(0, extra));
    } else {
      const auto keep =
          torch::randperm(n, torch::TensorOptions().dtype(torch::kInt64)).slice(0, 0, target);
      parts.push_back(positions.index_select(0, keep.to(positions.device())));
    }
  }
  return shuffled(indices.index_select(0, torch::cat(parts)));
}

torch::Tensor classUniformDraws(const torch::Tensor& indices, const torch::Tensor& labels,
                                int num_classes) {
  const auto counts = torch::bincount(labels, {}, num_classes).to(torch::kFloat64);
  const auto per_sample = (1.0 / counts.clamp_min(1.0)).index_select(0, labels);
  const auto draws = torch::multinomial(per_sample, indices.size(0), /*replacement=*/true);
  return indices.index_select(0, draws);
}

}  // namespace

torch::Tensor balancedEpochOrder(const torch::Tensor& train_indices,
                                 const torch::Tensor& train_labels, int num_classes,
                                 config::BalanceMethod method) {
  using config::BalanceMethod;
  switch (method) {
    case BalanceMethod::Oversample:
    case BalanceMethod::Undersample:
      return resampledToEqualClasses(train_indices, train_labels, num_classes,
                                     method == BalanceMethod::Oversample);
    case BalanceMethod::WeightedSampler:
      return classUniformDraws(train_indices, train_labels, num_classes);
    case BalanceMethod::None:
    case BalanceMethod::ClassWeights:
    case BalanceMethod::Focal:
      return shuffled(train_indices);
  }
  throw std::logic_error("balancedEpochOrder: unhandled balance.method");
}

torch::Tensor focalLoss(const torch::Tensor& logits, const torch::Tensor& labels, double gamma) {
  const auto log_pt = torch::log_softmax(logits, 1).gather(1, labels.view({-1, 1})).view({-1});
  const auto modulating = (1.0 - log_pt.exp()).clamp_min(0.0).pow(gamma);
  return -(modulating * log_pt).mean();
}

}  // namespace ferlab::train
