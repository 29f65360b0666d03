#include "framework/train/Augment.h"

#include <torch/types.h>

namespace ferlab::train {

bool augmentsAnything(const config::AugmentConfig& config) {
  return config.hflip > 0.0 || config.crop_padding > 0;
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
  return result;
}

}  // namespace ferlab::train
