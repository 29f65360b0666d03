#pragma once
// Class balancing for FER2013's imbalance (disgust 436 training images, happy 7,215), applied
// to the training split only (`[balance]`). Sampling methods decide which training samples an
// epoch visits; loss methods are in Trainer::lossFor.

#include <string>

#include <torch/types.h>

#include "framework/config/Choices.h"

namespace ferlab::train {

/// The training samples of one epoch, shuffled, as int64 [m] dataset indices on the labels'
/// device. `train_indices` int64 [n] and `train_labels` int64 [n] (in [0, num_classes)).
///   none, class_weights, focal  every sample once (m = n)
///   oversample        every sample once plus random duplicates (with replacement) until each
///                     class has as many as the largest (imbalanced-learn RandomOverSampler)
///   undersample       a random subset of each class as large as the smallest present class
///   weighted_sampler  n draws with replacement, each picking a class uniformly
///                     (PyTorch WeightedRandomSampler with weights 1 / n_c)
/// Draws come from LibTorch's global generator.
torch::Tensor balancedEpochOrder(const torch::Tensor& train_indices,
                                 const torch::Tensor& train_labels, int num_classes,
                                 config::BalanceMethod method);

/// Focal loss (Lin et al. 2017, "Focal Loss for Dense Object Detection"): the mean over the
/// batch of -(1 - p_t)^gamma log p_t. logits float32 [B, k], labels int64 [B] -> scalar.
/// gamma = 0 is cross-entropy.
torch::Tensor focalLoss(const torch::Tensor& logits, const torch::Tensor& labels, double gamma);

}  // namespace ferlab::train
