#pragma once
// The models module's public API: a classifier from `[model]`. The individual networks
// (SimpleCnn.h, VggNet.h, EluCnn.h, FastCnn.h, backbones/) and their building blocks (Layers.h,
// Backbone.h) are public for tests and for anyone composing their own model; makeModel is the
// entry point.

#include "framework/models/Classifier.h"     // the interface every model implements
#include "framework/models/ModelRegistry.h"  // makeModel, parameterCount
#include "framework/models/TransferModel.h"  // ImageNet backbone + head
#include "framework/models/WeightFile.h"     // torchvision / timm .pth and .safetensors
