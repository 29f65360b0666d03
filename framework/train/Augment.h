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
// Mixup and CutMix mix whole batches and change the loss too: see mixBatch and
// trainingBatch, which runs the full training input pipeline in the trainer's order.
// Random draws come from LibTorch's global generator, which the trainer seeds per epoch; an op
// whose probability is 0 draws nothing, so it changes neither the images nor the stream.
// Test-time views (ten-crop) are at the end of this header.

#include <cstdint>
#include <utility>
#include <vector>

#include <torch/types.h>

#include "framework/config/RunConfig.h"
#include "framework/train/DeviceDataset.h"

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

// --- Batch mixing -------------------------------------------------------------------------
// Mixup (Zhang et al., "mixup: Beyond Empirical Risk Minimization", ICLR 2018) and CutMix
// (Yun et al., "CutMix: Regularization Strategy to Train Strong Classifiers with Localizable
// Features", ICCV 2019), as in the papers' reference code: the batch is mixed with a
// permuted copy of itself, one weight per batch, and the loss becomes
// lambda * loss(y) + (1 - lambda) * loss(y[permutation]) (trainingLoss in Trainer.h).

enum class MixKind { None, Mixup, CutMix };

/// A box of rows [top, top + height) and columns [left, left + width), in pixels.
struct CutBox {
  std::int64_t top = 0, left = 0, height = 0, width = 0;
};

/// How a batch was mixed. kind None: permutation undefined, lambda 1.
struct BatchMix {
  MixKind kind = MixKind::None;
  torch::Tensor permutation;  ///< int64 [B] on the batch's device: partner of each image
  double lambda = 1.0;        ///< weight of each image's own label, in [0, 1]
  CutBox box;                 ///< CutMix only: the pasted box (same for the whole batch)
  bool mixed() const { return kind != MixKind::None; }
};

/// One draw from Beta(alpha, alpha) as G1 / (G1 + G2) with G1, G2 ~ Gamma(alpha, 1)
/// (torch::_standard_gamma) from LibTorch's global CPU generator: deterministic under
/// torch::manual_seed whatever the training device. alpha > 0.
double sampleBeta(double alpha);

/// Mixup of a float batch [B, ...]: lambda * x + (1 - lambda) * x[permutation], with
/// permutation int64 [B]. Same shape and dtype out.
torch::Tensor mixupImages(const torch::Tensor& inputs, const torch::Tensor& permutation,
                          double lambda);

/// CutMix's box for an image of height x width pixels (the reference code's rand_bbox):
/// sides floor(H sqrt(1 - lambda)) and floor(W sqrt(1 - lambda)), centred on (centre_y,
/// centre_x) (each half side rounded down), clipped to the image.
CutBox cutmixBox(std::int64_t height, std::int64_t width, double lambda, std::int64_t centre_y,
                 std::int64_t centre_x);

/// The fraction of the image outside `box`: the weight of the image's own label after
/// clipping, 1 - box area / (height x width).
double keptAreaFraction(const CutBox& box, std::int64_t height, std::int64_t width);

/// Pastes the box of the permuted batch into each image: inputs [B, C, H, W] (any dtype),
/// permutation int64 [B]. Pixels outside the box are untouched.
torch::Tensor pasteBox(const torch::Tensor& inputs, const torch::Tensor& permutation,
                       const CutBox& box);

/// Per batch (inputs float [B, C, H, W], normalised): with probability `mixup` mixup with
/// lambda ~ Beta(mixup_alpha, mixup_alpha); else with probability `cutmix` CutMix with lambda
/// ~ Beta(cutmix_alpha, cutmix_alpha), the box centre uniform over the pixels and lambda then
/// recomputed from the clipped box; else nothing. Both probabilities 0: draws nothing.
/// Returns the mixed batch; `mix` receives how it was mixed.
torch::Tensor mixBatch(const torch::Tensor& inputs, const config::AugmentConfig& config,
                       BatchMix& mix);

/// One training batch as the model sees it.
struct TrainingBatch {
  torch::Tensor inputs;  ///< float32 [B, 1, S, S], normalised, augmented, mixed, noised
  torch::Tensor labels;  ///< int64 [B], each image's own label (before mixing)
  BatchMix mix;
};

/// The whole training input pipeline for the samples `sample_indices` (int64 [B] on the
/// device), in the trainer's order: augmentBatch on uint8, normalisation, mixBatch,
/// addInputNoise (noise last, like a Keras GaussianNoise input layer). Used by the Trainer
/// and by `ferlab augment-preview`, so the preview shows exactly what training sees.
TrainingBatch trainingBatch(const DeviceDataset& data, const torch::Tensor& sample_indices,
                            const config::AugmentConfig& config);

// --- Test-time views ----------------------------------------------------------------------

/// Top-left corners (row, column) of the five crops of side `crop` in a `side` x `side`
/// image, in the order top-left, top-right, bottom-left, bottom-right, centre; the centre
/// crop starts at round((side - crop) / 2) as in torchvision FiveCrop.
std::vector<std::pair<std::int64_t, std::int64_t>> fiveCropCorners(std::int64_t side,
                                                                   std::int64_t crop);

/// Ten-crop test-time augmentation (Krizhevsky et al. 2012; torchvision TenCrop): the five
/// crops of `crop_size` pixels (fiveCropCorners) of float inputs [B, C, S, S], each resized
/// back to S x S (bilinear, align_corners=false; no resize when crop_size = S), each followed
/// by its horizontal mirror: 10 tensors float [B, C, S, S]. crop_size in [1, S].
std::vector<torch::Tensor> tenCropViews(const torch::Tensor& inputs, int crop_size);

}  // namespace ferlab::train
