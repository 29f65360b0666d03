#pragma once
// Training-time augmentation as batched tensor ops on the training device (`[augment]`).
// Runs on the uint8 batch before normalisation, so it moves a quarter of the bytes.
//   hflip         per-image horizontal flip with probability p (torchvision
//                 RandomHorizontalFlip semantics)
//   crop_padding  zero-pad by P pixels, then crop a random S x S window per image
//                 (torchvision RandomCrop(S, padding=P)); offsets uniform in [0, 2P]
// Random draws come from LibTorch's global generator, which the trainer seeds per epoch.

#include <torch/types.h>

#include "framework/config/RunConfig.h"

namespace ferlab::train {

/// Whether `config` changes any image (false: augmentBatch is the identity).
bool augmentsAnything(const config::AugmentConfig& config);

/// images uint8 [B, 1, S, S] -> uint8 [B, 1, S, S], on the same device.
torch::Tensor augmentBatch(const torch::Tensor& images, const config::AugmentConfig& config);

/// Horizontal flip of the images where `mask` (bool [B]) is true.
torch::Tensor flipWhere(const torch::Tensor& images, const torch::Tensor& mask);

/// Crops an S x S window at per-image offsets (int64 [B] each, in [0, 2P]) out of the
/// images zero-padded by `padding` pixels.
torch::Tensor cropWithPadding(const torch::Tensor& images, int padding,
                              const torch::Tensor& offset_y, const torch::Tensor& offset_x);

}  // namespace ferlab::train
