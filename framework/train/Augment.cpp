#include "framework/train/Augment.h"

#include <algorithm>
#include <cmath>

#include <torch/nn/functional.h>
#include <torch/types.h>

namespace ferlab::train {
namespace {

constexpr double kDegree = 3.14159265358979323846 / 180.0;
constexpr double kEraseRatioMin = 0.3;  // Zhong et al. 2020 and torchvision RandomErasing
constexpr double kEraseRatioMax = 3.3;
constexpr int kEraseTries = 10;  // torchvision RandomErasing

/// Uniform float [shape] in [low, high) on the images' device.
torch::Tensor uniform(torch::IntArrayRef shape, double low, double high,
                      const torch::TensorOptions& options) {
  return torch::rand(shape, options.dtype(torch::kFloat32)) * (high - low) + low;
}

torch::Tensor selected(std::int64_t batch, double probability,
                       const torch::TensorOptions& options) {
  return torch::rand({batch}, options.dtype(torch::kFloat32)) < probability;
}

torch::Tensor toGrey(const torch::Tensor& values) {
  return values.round().clamp(0, 255).to(torch::kUInt8);
}

bool affineChangesImages(const config::AugmentConfig& config) {
  return config.affine > 0.0 &&
         (config.rotation > 0.0 || config.translate > 0.0 || config.scale_min != 1.0 ||
          config.scale_max != 1.0 || config.shear > 0.0);
}

bool jitterChangesImages(const config::AugmentConfig& config) {
  return config.jitter > 0.0 && (config.brightness > 0.0 || config.contrast > 0.0);
}

torch::Tensor randomAffine(const torch::Tensor& images, const config::AugmentConfig& config) {
  const auto batch = images.size(0);
  const auto options = images.options();
  const auto mask = selected(batch, config.affine, options);
  const auto angle = uniform({batch}, -config.rotation, config.rotation, options);
  const double max_shift = config.translate * static_cast<double>(images.size(3));
  const auto shift_x = uniform({batch}, -max_shift, max_shift, options).round();
  const auto shift_y = uniform({batch}, -max_shift, max_shift, options).round();
  const auto scale = uniform({batch}, config.scale_min, config.scale_max, options);
  const auto shear = uniform({batch}, -config.shear, config.shear, options);
  return affineWhere(images, mask, angle, shift_x, shift_y, scale, shear);
}

torch::Tensor randomJitter(const torch::Tensor& images, const config::AugmentConfig& config) {
  const auto batch = images.size(0);
  const auto options = images.options();
  const auto mask = selected(batch, config.jitter, options);
  const auto shift =
      uniform({batch}, -255.0 * config.brightness, 255.0 * config.brightness, options);
  const auto contrast = uniform({batch}, 1.0 - config.contrast, 1.0 + config.contrast, options);
  return jitterWhere(images, mask, shift, contrast);
}

torch::Tensor randomErase(const torch::Tensor& images, const config::AugmentConfig& config) {
  const auto batch = images.size(0), side = images.size(3);
  const auto options = images.options();
  const auto mask = selected(batch, config.erase, options);
  // kEraseTries candidate boxes per image; the first that fits wins (torchvision's loop).
  const double area = static_cast<double>(side * side);
  const auto target = uniform({batch, kEraseTries}, config.erase_area_min * area,
                              config.erase_area_max * area, options);
  const auto ratio =
      uniform({batch, kEraseTries}, std::log(kEraseRatioMin), std::log(kEraseRatioMax), options)
          .exp();
  const auto heights = (target * ratio).sqrt().round().to(torch::kInt64);
  const auto widths = (target / ratio).sqrt().round().to(torch::kInt64);
  const auto fits = (heights < side) & (widths < side) & (heights > 0) & (widths > 0);
  const auto first = fits.to(torch::kInt32).argmax(1, /*keepdim=*/true);
  const auto erase = mask & fits.any(1);
  const auto zero = torch::zeros({batch}, options.dtype(torch::kInt64));
  const auto height = torch::where(erase, heights.gather(1, first).squeeze(1), zero);
  const auto width = torch::where(erase, widths.gather(1, first).squeeze(1), zero);
  // Top-left corner uniform over the positions where the box fits.
  const auto top = (torch::rand({batch}, options.dtype(torch::kFloat32)) *
                    (side - height + 1).to(torch::kFloat32))
                       .floor()
                       .to(torch::kInt64)
                       .clamp_max(side - height);
  const auto left = (torch::rand({batch}, options.dtype(torch::kFloat32)) *
                     (side - width + 1).to(torch::kFloat32))
                        .floor()
                        .to(torch::kInt64)
                        .clamp_max(side - width);
  const auto fill =
      torch::randint(256, images.sizes(), options.dtype(torch::kInt64)).to(torch::kUInt8);
  return eraseBoxes(images, top, left, height, width, fill);
}

}  // namespace

bool augmentsAnything(const config::AugmentConfig& config) {
  return config.hflip > 0.0 || config.crop_padding > 0 || affineChangesImages(config) ||
         jitterChangesImages(config) || config.erase > 0.0;
}

torch::Tensor flipWhere(const torch::Tensor& images, const torch::Tensor& mask) {
  const auto per_image = mask.view({-1, 1, 1, 1});
  return torch::where(per_image, images.flip({3}), images);
}

torch::Tensor cropWithPadding(const torch::Tensor& images, int padding,
                              const torch::Tensor& offset_y, const torch::Tensor& offset_x) {
  const auto batch = images.size(0), side = images.size(3);
  const auto padded_side = side + 2 * padding;
  const auto padded = torch::constant_pad_nd(images, {padding, padding, padding, padding}, 0);
  // One gather over the flattened padded image: index = (oy + r) * padded_side + (ox + c).
  const auto steps = torch::arange(side, images.options().dtype(torch::kInt64));
  const auto rows = (offset_y.view({-1, 1}) + steps.view({1, -1})).view({batch, side, 1});
  const auto cols = (offset_x.view({-1, 1}) + steps.view({1, -1})).view({batch, 1, side});
  const auto flat_index = (rows * padded_side + cols).view({batch, side * side});
  return padded.view({batch, padded_side * padded_side})
      .gather(1, flat_index)
      .view({batch, 1, side, side});
}

torch::Tensor affineWhere(const torch::Tensor& images, const torch::Tensor& mask,
                          const torch::Tensor& angle, const torch::Tensor& shift_x,
                          const torch::Tensor& shift_y, const torch::Tensor& scale,
                          const torch::Tensor& shear) {
  namespace F = torch::nn::functional;
  const auto batch = images.size(0), side = images.size(3);
  const auto as_float = [&](const torch::Tensor& t) {
    return t.to(images.device(), torch::kFloat32).view({batch});
  };
  // Forward map about the centre, y pointing down: A = scale * R(angle) * Shear(shear), with
  // R = [[cos, sin], [-sin, cos]] (counter-clockwise on screen) and Shear = [[1, tan], [0, 1]].
  // affine_grid wants the inverse (output -> input) in normalised coordinates, where a square
  // image keeps A unchanged and a shift of d pixels is 2 d / S:
  //   A^-1 = Shear^-1 R^-1 / scale = [[cos - tan sin, -sin - tan cos], [sin, cos]] / scale.
  const auto radians = as_float(angle) * kDegree;
  const auto cos = radians.cos(), sin = radians.sin();
  const auto tan = (as_float(shear) * kDegree).tan();
  const auto inverse_scale = as_float(scale).reciprocal();
  const auto m00 = (cos - tan * sin) * inverse_scale;
  const auto m01 = (-sin - tan * cos) * inverse_scale;
  const auto m10 = sin * inverse_scale;
  const auto m11 = cos * inverse_scale;
  const auto tx = as_float(shift_x) * (2.0 / static_cast<double>(side));
  const auto ty = as_float(shift_y) * (2.0 / static_cast<double>(side));
  const auto b0 = -(m00 * tx + m01 * ty);
  const auto b1 = -(m10 * tx + m11 * ty);
  const auto theta = torch::stack({m00, m01, b0, m10, m11, b1}, 1).view({batch, 2, 3});
  const auto grid = F::affine_grid(theta, images.sizes(), /*align_corners=*/false);
  const auto sampled = F::grid_sample(images.to(torch::kFloat32), grid,
                                      F::GridSampleFuncOptions()
                                          .mode(torch::kBilinear)
                                          .padding_mode(torch::kZeros)
                                          .align_corners(false));
  return torch::where(mask.view({-1, 1, 1, 1}), toGrey(sampled), images);
}

torch::Tensor jitterWhere(const torch::Tensor& images, const torch::Tensor& mask,
                          const torch::Tensor& shift, const torch::Tensor& contrast) {
  const auto values = images.to(torch::kFloat32);
  const auto mean = values.mean({1, 2, 3}, /*keepdim=*/true);
  const auto factor = contrast.to(values.options()).view({-1, 1, 1, 1});
  const auto offset = shift.to(values.options()).view({-1, 1, 1, 1});
  const auto jittered = (values - mean) * factor + mean + offset;
  return torch::where(mask.view({-1, 1, 1, 1}), toGrey(jittered), images);
}

torch::Tensor eraseBoxes(const torch::Tensor& images, const torch::Tensor& top,
                         const torch::Tensor& left, const torch::Tensor& height,
                         const torch::Tensor& width, const torch::Tensor& fill) {
  const auto side = images.size(3);
  const auto steps = torch::arange(side, images.options().dtype(torch::kInt64));
  const auto column = [](const torch::Tensor& t) { return t.view({-1, 1}); };
  const auto rows = (steps.view({1, -1}) >= column(top)) &
                    (steps.view({1, -1}) < column(top) + column(height));  // [B, S]
  const auto cols =
      (steps.view({1, -1}) >= column(left)) & (steps.view({1, -1}) < column(left) + column(width));
  const auto box = (rows.unsqueeze(2) & cols.unsqueeze(1)).unsqueeze(1);  // [B, 1, S, S]
  return torch::where(box, fill, images);
}

torch::Tensor addInputNoise(const torch::Tensor& normalized, double std) {
  if (std <= 0.0) return normalized;
  return normalized + torch::randn_like(normalized) * std;
}

double sampleBeta(double alpha) {
  const auto gammas = torch::_standard_gamma(
      torch::full({2}, alpha, torch::TensorOptions().dtype(torch::kFloat64)));
  const double first = gammas[0].item<double>(), second = gammas[1].item<double>();
  // Both draws underflow to 0 only for tiny alpha; the limit of Beta(a, a) as a -> 0 puts
  // half its mass at each end, and either end is a valid weight.
  return first + second > 0.0 ? first / (first + second) : 1.0;
}

torch::Tensor mixupImages(const torch::Tensor& inputs, const torch::Tensor& permutation,
                          double lambda) {
  return inputs * lambda + inputs.index_select(0, permutation) * (1.0 - lambda);
}

CutBox cutmixBox(std::int64_t height, std::int64_t width, double lambda, std::int64_t centre_y,
                 std::int64_t centre_x) {
  const double cut_ratio = std::sqrt(std::max(0.0, 1.0 - lambda));
  const auto cut_h = static_cast<std::int64_t>(static_cast<double>(height) * cut_ratio);
  const auto cut_w = static_cast<std::int64_t>(static_cast<double>(width) * cut_ratio);
  const auto clip = [](std::int64_t v, std::int64_t high) {
    return std::clamp<std::int64_t>(v, 0, high);
  };
  const auto top = clip(centre_y - cut_h / 2, height), bottom = clip(centre_y + cut_h / 2, height);
  const auto left = clip(centre_x - cut_w / 2, width), right = clip(centre_x + cut_w / 2, width);
  return {top, left, bottom - top, right - left};
}

double keptAreaFraction(const CutBox& box, std::int64_t height, std::int64_t width) {
  return 1.0 - static_cast<double>(box.height * box.width) / static_cast<double>(height * width);
}

torch::Tensor pasteBox(const torch::Tensor& inputs, const torch::Tensor& permutation,
                       const CutBox& box) {
  auto result = inputs.clone();
  if (box.height == 0 || box.width == 0) return result;
  const auto window = [&](const torch::Tensor& t) {
    return t.slice(2, box.top, box.top + box.height).slice(3, box.left, box.left + box.width);
  };
  window(result).copy_(window(inputs.index_select(0, permutation)));
  return result;
}

torch::Tensor mixBatch(const torch::Tensor& inputs, const config::AugmentConfig& config,
                       BatchMix& mix) {
  mix = BatchMix{};
  if (config.mixup <= 0.0 && config.cutmix <= 0.0) return inputs;
  // Scalar draws on the CPU generator: no device synchronisation, the same stream on any
  // device.
  const double choice = torch::rand({1}, torch::kFloat64).item<double>();
  if (choice >= config.mixup + config.cutmix) return inputs;
  const bool use_mixup = choice < config.mixup;
  const double lambda = sampleBeta(use_mixup ? config.mixup_alpha : config.cutmix_alpha);
  const auto batch = inputs.size(0), height = inputs.size(2), width = inputs.size(3);
  std::int64_t centre_y = 0, centre_x = 0;
  if (!use_mixup) {
    centre_y = torch::randint(height, {1}, torch::kInt64).item<std::int64_t>();
    centre_x = torch::randint(width, {1}, torch::kInt64).item<std::int64_t>();
  }
  mix.permutation = torch::randperm(batch, torch::kInt64).to(inputs.device());
  if (use_mixup) {
    mix.kind = MixKind::Mixup;
    mix.lambda = lambda;
    return mixupImages(inputs, mix.permutation, lambda);
  }
  mix.kind = MixKind::CutMix;
  mix.box = cutmixBox(height, width, lambda, centre_y, centre_x);
  mix.lambda = keptAreaFraction(mix.box, height, width);
  return pasteBox(inputs, mix.permutation, mix.box);
}

TrainingBatch trainingBatch(const DeviceDataset& data, const torch::Tensor& sample_indices,
                            const config::AugmentConfig& config) {
  TrainingBatch batch;
  auto images = data.images(sample_indices);
  if (augmentsAnything(config)) images = augmentBatch(images, config);
  batch.inputs = mixBatch(data.normalize(images), config, batch.mix);
  if (config.noise_std > 0) batch.inputs = addInputNoise(batch.inputs, config.noise_std);
  batch.labels = data.labels(sample_indices);
  return batch;
}

std::vector<std::pair<std::int64_t, std::int64_t>> fiveCropCorners(std::int64_t side,
                                                                   std::int64_t crop) {
  const auto far = side - crop;
  const auto centre = static_cast<std::int64_t>(std::lround(static_cast<double>(far) / 2.0));
  return {{0, 0}, {0, far}, {far, 0}, {far, far}, {centre, centre}};
}

std::vector<torch::Tensor> tenCropViews(const torch::Tensor& inputs, int crop_size) {
  namespace F = torch::nn::functional;
  const auto side = inputs.size(3);
  std::vector<torch::Tensor> views;
  for (const auto& [top, left] : fiveCropCorners(side, crop_size)) {
    auto view = inputs.slice(2, top, top + crop_size).slice(3, left, left + crop_size);
    if (crop_size != side) {
      view = F::interpolate(view, F::InterpolateFuncOptions()
                                      .size(std::vector<std::int64_t>{side, side})
                                      .mode(torch::kBilinear)
                                      .align_corners(false));
    }
    views.push_back(view);
    views.push_back(view.flip({3}));
  }
  return views;
}

torch::Tensor augmentBatch(const torch::Tensor& images, const config::AugmentConfig& config) {
  auto result = images;
  const auto batch = images.size(0);
  const auto on_device = images.options();
  if (config.hflip > 0.0) {
    const auto mask = torch::rand({batch}, on_device.dtype(torch::kFloat32)) < config.hflip;
    result = flipWhere(result, mask);
  }
  if (config.crop_padding > 0) {
    const auto span = 2 * config.crop_padding + 1;
    const auto offset_y = torch::randint(span, {batch}, on_device.dtype(torch::kInt64));
    const auto offset_x = torch::randint(span, {batch}, on_device.dtype(torch::kInt64));
    result = cropWithPadding(result, config.crop_padding, offset_y, offset_x);
  }
  if (affineChangesImages(config)) result = randomAffine(result, config);
  if (jitterChangesImages(config)) result = randomJitter(result, config);
  if (config.erase > 0.0) result = randomErase(result, config);
  return result;
}

}  // namespace ferlab::train
