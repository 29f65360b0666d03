#pragma once
// Training-time augmentation as batched tensor ops on the training device (`[augment]`).
// Runs on the uint8 batch before normalisation, so it moves a quarter of the bytes. The ops
// run in this order, each on an independent random subset of the batch:
//   hflip         per-image horizontal flip with probability p (torchvision
//                 RandomHorizontalFlip semantics)
//   crop_padding  zero-pad by P pixels, then crop a random S x S window per image
//                 (torchvision RandomCrop(S, padding=P)); offsets uniform in [0, 2P]
//   affine        with probability `affine`: rotation, translation, scale and x-shear about
//                 the image centre (torchvision RandomAffine(degrees=rotation,
//                 translate=(t, t), scale=(scale_min, scale_max), shear=shear)): angle
//                 uniform in [-rotation, rotation] degrees, shift per axis a whole number of
//                 pixels rounded from uniform [-t S, t S], scale uniform in [scale_min,
//                 scale_max], shear uniform in [-shear, shear] degrees; bilinear sampling,
//                 zero fill outside the image (affine_grid + grid_sample, align_corners=false)
//   jitter        with probability `jitter`: contrast factor uniform in [1 - c, 1 + c]
//                 blended around each image's mean (torchvision ColorJitter contrast), then
//                 an additive brightness shift uniform in [-b, b] x 255 grey levels
//                 (tf.image.random_brightness; torchvision's brightness is multiplicative)
//   erase         with probability `erase`: random erasing (Zhong et al., "Random Erasing
//                 Data Augmentation", AAAI 2020; torchvision RandomErasing): box area uniform
//                 in [erase_area_min, erase_area_max] x S^2, aspect ratio log-uniform in
//                 [0.3, 3.3], up to 10 tries for a box that fits (none fits: no erasing),
//                 filled with uniform random grey values in [0, 255] as in the paper
//                 (torchvision value="random" draws normal values after normalisation)
// Gaussian input noise (`noise_std`) runs after normalisation: see addInputNoise.
// Mixup and CutMix change the labels too, so they are not batch image ops and live elsewhere.
// Random draws come from LibTorch's global generator, which the trainer seeds per epoch; an op
// whose probability is 0 draws nothing, so it changes neither the images nor the stream.

#include <torch/types.h>

#include "framework/config/RunConfig.h"

namespace ferlab::train {

/// Whether `config` changes any image (false: augmentBatch is the identity). Ignores
/// `noise_std`, which augmentBatch does not apply (see addInputNoise).
bool augmentsAnything(const config::AugmentConfig& config);

/// images uint8 [B, 1, S, S] -> uint8 [B, 1, S, S], on the same device.
torch::Tensor augmentBatch(const torch::Tensor& images, const config::AugmentConfig& config);

/// Horizontal flip of the images where `mask` (bool [B]) is true.
torch::Tensor flipWhere(const torch::Tensor& images, const torch::Tensor& mask);

/// Crops an S x S window at per-image offsets (int64 [B] each, in [0, 2P]) out of the
/// images zero-padded by `padding` pixels.
torch::Tensor cropWithPadding(const torch::Tensor& images, int padding,
                              const torch::Tensor& offset_y, const torch::Tensor& offset_x);

/// Affine transform about the centre of the images where `mask` (bool [B]) is true; the
/// others come back bit-identical. Per-image parameters, float [B] each: `angle` in degrees
/// (positive = counter-clockwise as displayed, row 0 at the top), `shift_x` / `shift_y` in
/// pixels (positive = right / down), `scale` (> 0), `shear` in degrees along x. uint8
/// [B, 1, S, S] in and out; bilinear sampling with zero fill, rounded to the nearest grey
/// level. Zero angle, shift and shear with scale 1 is the identity.
torch::Tensor affineWhere(const torch::Tensor& images, const torch::Tensor& mask,
                          const torch::Tensor& angle, const torch::Tensor& shift_x,
                          const torch::Tensor& shift_y, const torch::Tensor& scale,
                          const torch::Tensor& shear);

/// Brightness / contrast jitter of the images where `mask` (bool [B]) is true:
/// (x - mean) * contrast + mean + shift, clamped to [0, 255] and rounded, with `mean` each
/// image's mean grey level. `shift` in grey levels and `contrast` (factor) are float [B].
torch::Tensor jitterWhere(const torch::Tensor& images, const torch::Tensor& mask,
                          const torch::Tensor& shift, const torch::Tensor& contrast);

/// Replaces, per image, the box of rows [top, top + height) and columns [left, left + width)
/// by the same pixels of `fill` (uint8 [B, 1, S, S]); int64 [B] each, height or width 0 =
/// nothing erased. Pixels outside the box are untouched.
torch::Tensor eraseBoxes(const torch::Tensor& images, const torch::Tensor& top,
                         const torch::Tensor& left, const torch::Tensor& height,
                         const torch::Tensor& width, const torch::Tensor& fill);

/// Adds zero-mean Gaussian noise of standard deviation `std` (in normalised units) to the
/// normalised float batch, as Keras GaussianNoise does in training; `std` <= 0 returns the
/// input. Any float shape in, the same shape and dtype out, on the same device.
torch::Tensor addInputNoise(const torch::Tensor& normalized, double std);

}  // namespace ferlab::train
