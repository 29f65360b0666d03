#pragma once
// Building blocks shared by the from-scratch CNNs. Internal to models/.

#include <torch/nn/modules/container/sequential.h>

namespace ferlab::models {

enum class Activation { Relu, Elu };

/// Appends conv(kernel, padding) [-> BatchNorm2d] -> activation to `layers`.
void appendConvBlock(torch::nn::Sequential& layers, int in_channels, int out_channels, int kernel,
                     int padding, bool batch_norm, Activation activation);

/// Appends Dropout(p) when p > 0.
void appendDropout(torch::nn::Sequential& layers, double p);

/// Number of features `layers` produce for one [1, channels, size, size] input (a dry run
/// without gradients). Throws ConfigError when the input is too small for the network.
std::int64_t flattenedSize(torch::nn::Sequential& layers, int channels, int size,
                           const char* model_name);

}  // namespace ferlab::models
