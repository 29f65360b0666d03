#include "framework/config/Choices.h"

#include <iterator>

namespace ferlab::config {
namespace {

// Each table lists every enumerator once, in declaration order: checked at compile time, so
// an enumerator added without its spelling does not build.
template <typename E, std::size_t N>
constexpr bool inDeclarationOrder(const Choice<E> (&table)[N], E last) {
  if (N != static_cast<std::size_t>(last) + 1) return false;
  for (std::size_t i = 0; i < N; ++i) {
    if (static_cast<std::size_t>(table[i].value) != i) return false;
  }
  return true;
}

constexpr Choice<DataFormat> kDataFormats[] = {
    {DataFormat::Auto, "auto", "a folder is the image-folder layout, a file is the CSV"},
    {DataFormat::Folder, "folder", "train/ and test/ folders of one folder per class"},
    {DataFormat::Csv, "csv", "the challenge CSV (emotion, pixels, Usage)"},
};
constexpr Choice<Align> kAligns[] = {
    {Align::None, "none", ""},
    {Align::Eyes, "eyes",
     "OpenCV Haar cascades for the face and both eyes; rotate so the eyes are level, crop "
     "the face box"},
};
constexpr Choice<ModelName> kModels[] = {
    {ModelName::SimpleCnn, "simple_cnn", "the seeds' Keras FER CNN (from scratch)"},
    {ModelName::VggNet, "vggnet", "Khaireddin & Chen 2021, VGGNet for FER2013 (from scratch)"},
    {ModelName::EluCnn, "elu_cnn", "ELU + BatchNorm CNN (from scratch)"},
    {ModelName::FastCnn, "fast_cnn",
     "VGG-style BatchNorm CNN with global average pooling, sized for CPU training (from scratch)"},
    {ModelName::Vgg16, "vgg16", "torchvision vgg16"},
    {ModelName::Vgg16Bn, "vgg16_bn", "torchvision vgg16_bn"},
    {ModelName::Vgg19, "vgg19", "torchvision vgg19"},
    {ModelName::Vgg19Bn, "vgg19_bn", "torchvision vgg19_bn"},
    {ModelName::ResNet18, "resnet18", "torchvision resnet18"},
    {ModelName::ResNet50, "resnet50", "torchvision resnet50"},
    {ModelName::MobileNetV2, "mobilenet_v2", "torchvision mobilenet_v2"},
    {ModelName::Xception, "xception", "timm legacy_xception"},
};
constexpr Choice<InputChannels> kInputChannels[] = {
    {InputChannels::Replicate, "replicate", "the grey channel copied to R, G and B"},
    {InputChannels::SumConv1, "sum_conv1",
     "a 1-channel first convolution holding the sum of the RGB filters"},
};
constexpr Choice<Activation> kActivations[] = {
    {Activation::Relu, "relu", ""},
    {Activation::Elu, "elu", ""},
    {Activation::Gelu, "gelu", ""},
    {Activation::None, "none", ""},
};
constexpr Choice<BalanceMethod> kBalanceMethods[] = {
    {BalanceMethod::None, "none", ""},
    {BalanceMethod::Oversample, "oversample",
     "random oversampling with replacement to the largest class (imbalanced-learn "
     "RandomOverSampler)"},
    {BalanceMethod::Undersample, "undersample", "random undersampling to the smallest class"},
    {BalanceMethod::ClassWeights, "class_weights",
     "inverse-frequency loss weights n / (k n_c) (scikit-learn \"balanced\")"},
    {BalanceMethod::WeightedSampler, "weighted_sampler", "each draw picks a class uniformly"},
    {BalanceMethod::Focal, "focal", "focal loss (Lin et al. 2017)"},
};
constexpr Choice<Optimizer> kOptimizers[] = {
    {Optimizer::Sgd, "sgd", "torch.optim.SGD"},
    {Optimizer::Adam, "adam", "torch.optim.Adam (Kingma & Ba 2015)"},
    {Optimizer::AdamW, "adamw", "torch.optim.AdamW (Loshchilov & Hutter 2019)"},
};
constexpr Choice<Schedule> kSchedules[] = {
    {Schedule::None, "none", ""},
    {Schedule::Step, "step", "x gamma every step_size epochs (torch StepLR)"},
    {Schedule::Cosine, "cosine", "cosine annealing to min_lr (torch CosineAnnealingLR)"},
    {Schedule::Plateau, "plateau", "x gamma after plateau_patience epochs (ReduceLROnPlateau)"},
    {Schedule::OneCycle, "onecycle",
     "per step: warm up from lr/25 to lr over the first 30% of the steps, cosine down to "
     "lr/250000 (torch OneCycleLR defaults, without momentum cycling; Smith & Topin 2019)"},
};
constexpr Choice<Monitor> kMonitors[] = {
    {Monitor::ValAccuracy, "val_accuracy", ""},
    {Monitor::ValMacroF1, "val_macro_f1", ""},
    {Monitor::ValLoss, "val_loss", ""},
};
constexpr Choice<Tta> kTtas[] = {
    {Tta::None, "none", ""},
    {Tta::Hflip, "hflip", "mean of the image and its mirror"},
    {Tta::TenCrop, "ten_crop", "4 corner + centre crops and their mirrors"},
};
constexpr Choice<Precision> kPrecisions[] = {
    {Precision::Fp32, "fp32", ""},
    {Precision::Bf16, "bf16", ""},
    {Precision::Fp16, "fp16", "CUDA only, with loss scaling"},
};

static_assert(inDeclarationOrder(kDataFormats, DataFormat::Csv));
static_assert(inDeclarationOrder(kAligns, Align::Eyes));
static_assert(inDeclarationOrder(kModels, ModelName::Xception));
static_assert(inDeclarationOrder(kInputChannels, InputChannels::SumConv1));
static_assert(inDeclarationOrder(kActivations, Activation::None));
static_assert(inDeclarationOrder(kBalanceMethods, BalanceMethod::Focal));
static_assert(inDeclarationOrder(kOptimizers, Optimizer::AdamW));
static_assert(inDeclarationOrder(kSchedules, Schedule::OneCycle));
static_assert(inDeclarationOrder(kMonitors, Monitor::ValLoss));
static_assert(inDeclarationOrder(kTtas, Tta::TenCrop));
static_assert(inDeclarationOrder(kPrecisions, Precision::Fp16));

}  // namespace

#define FERLAB_DEFINE_CHOICES(E, table)                                              \
  template <>                                                                        \
  const std::vector<Choice<E>>& ChoiceTable<E>::entries() {                          \
    static const std::vector<Choice<E>> entries(std::begin(table), std::end(table)); \
    return entries;                                                                  \
  }
FERLAB_DEFINE_CHOICES(DataFormat, kDataFormats)
FERLAB_DEFINE_CHOICES(Align, kAligns)
FERLAB_DEFINE_CHOICES(ModelName, kModels)
FERLAB_DEFINE_CHOICES(InputChannels, kInputChannels)
FERLAB_DEFINE_CHOICES(Activation, kActivations)
FERLAB_DEFINE_CHOICES(BalanceMethod, kBalanceMethods)
FERLAB_DEFINE_CHOICES(Optimizer, kOptimizers)
FERLAB_DEFINE_CHOICES(Schedule, kSchedules)
FERLAB_DEFINE_CHOICES(Monitor, kMonitors)
FERLAB_DEFINE_CHOICES(Tta, kTtas)
FERLAB_DEFINE_CHOICES(Precision, kPrecisions)
#undef FERLAB_DEFINE_CHOICES

bool isImageNetBackbone(ModelName model) {
  switch (model) {
    case ModelName::SimpleCnn:
    case ModelName::VggNet:
    case ModelName::EluCnn:
    case ModelName::FastCnn:
      return false;
    case ModelName::Vgg16:
    case ModelName::Vgg16Bn:
    case ModelName::Vgg19:
    case ModelName::Vgg19Bn:
    case ModelName::ResNet18:
    case ModelName::ResNet50:
    case ModelName::MobileNetV2:
    case ModelName::Xception:
      return true;
  }
  return false;
}

}  // namespace ferlab::config
