#pragma once
// A learnable synthetic problem shared by the trainer tests: class c images are bright in
// horizontal band c (24 x 24 pixels, 3 classes, `per_class` images of each class per split).

#include <cstdint>
#include <random>
#include <string>

#include "framework/data/Dataset.h"

namespace ferlab::train {

inline data::Dataset bandDataset(int per_class) {
  data::Dataset dataset;
  dataset.image_size = 24;
  dataset.class_names = {"top", "middle", "bottom"};
  std::mt19937 generator(11);
  std::uniform_int_distribution<int> noise(0, 60);
  int index = 0;
  for (int split = 0; split < 3; ++split) {
    for (int i = 0; i < per_class * 3; ++i, ++index) {
      const int label = i % 3;
      for (int y = 0; y < 24; ++y) {
        for (int x = 0; x < 24; ++x) {
          const bool bright = y / 8 == label;
          dataset.pixels.push_back(
              static_cast<std::uint8_t>((bright ? 180 : 20) + noise(generator)));
        }
      }
      dataset.labels.push_back(label);
      dataset.splits.push_back(static_cast<data::Split>(split));
      dataset.sample_ids.push_back("synthetic_" + std::to_string(index));
    }
  }
  return dataset;
}

}  // namespace ferlab::train
