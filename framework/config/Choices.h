#pragma once
// Every config key whose value is one of a fixed set of words is an enum, parsed once at the
// config boundary (ConfigSchema.cpp). Below config/ code switches on the enum, so a misspelt
// or forgotten branch is a compile error (-Werror=switch), never a silent fall-through.
//
// Each enum has one table, ChoiceTable<E>::entries, holding its TOML spelling and a doc line
// (used for --print-defaults and README's config reference). The tables list the
// enumerators in declaration order, which a static_assert in Choices.cpp checks by size.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <fmt/format.h>

namespace ferlab::config {

/// `data.format`: how data.path is read.
enum class DataFormat { Auto, Folder, Csv };

/// `data.align`: face alignment before training (data/FaceAligner.h).
enum class Align { None, Eyes };

/// `model.name`: the network. The first four train from scratch; the rest are ImageNet
/// backbones with a new head (models/TransferModel.h).
enum class ModelName {
  SimpleCnn,
  VggNet,
  EluCnn,
  FastCnn,
  Vgg16,
  Vgg16Bn,
  Vgg19,
  Vgg19Bn,
  ResNet18,
  ResNet50,
  MobileNetV2,
  Xception,
};

/// `model.input_channels`: how a grey image feeds a backbone built for RGB.
enum class InputChannels { Replicate, SumConv1 };

/// `model.head[].activation`.
enum class Activation { Relu, Elu, Gelu, None };

/// `balance.method`: handling of FER2013's class imbalance (training split only).
enum class BalanceMethod { None, Oversample, Undersample, ClassWeights, WeightedSampler, Focal };

/// `train.optimizer` and `train.phases[].optimizer`.
enum class Optimizer { Sgd, Adam, AdamW };

/// `train.schedule`: the learning-rate schedule over epochs (OneCycle: over steps).
enum class Schedule { None, Step, Cosine, Plateau, OneCycle };

/// `train.monitor`: the validation (PublicTest) metric that selects the best epoch and drives
/// early stopping and plateau reductions.
enum class Monitor { ValAccuracy, ValMacroF1, ValLoss };

/// `eval.tta`: test-time augmentation at evaluation.
enum class Tta { None, Hflip, TenCrop };

/// `train.precision`: the dtype the forward pass runs in under autocast. Parameters, gradients
/// and optimiser state stay float32 in every mode (mixed precision, Micikevicius et al.,
/// "Mixed Precision Training", ICLR 2018).
enum class Precision {
  Fp32,  ///< no autocast
  Bf16,  ///< autocast to bfloat16 (CUDA; CPUs with AVX512-BF16 or AMX-BF16)
  Fp16,  ///< autocast to float16, with dynamic loss scaling (train/GradScaler.h)
};

/// One allowed word of a choice key.
template <typename E>
struct Choice {
  E value;
  const char* name;  ///< as written in TOML
  const char* doc;   ///< one line for the config reference; "" when the name says it all
};

/// ChoiceTable<E>::entries(): every enumerator of E, in declaration order (Choices.cpp).
template <typename E>
struct ChoiceTable {
  static const std::vector<Choice<E>>& entries();
};

// Defined in Choices.cpp.
template <>
const std::vector<Choice<DataFormat>>& ChoiceTable<DataFormat>::entries();
template <>
const std::vector<Choice<Align>>& ChoiceTable<Align>::entries();
template <>
const std::vector<Choice<ModelName>>& ChoiceTable<ModelName>::entries();
template <>
const std::vector<Choice<InputChannels>>& ChoiceTable<InputChannels>::entries();
template <>
const std::vector<Choice<Activation>>& ChoiceTable<Activation>::entries();
template <>
const std::vector<Choice<BalanceMethod>>& ChoiceTable<BalanceMethod>::entries();
template <>
const std::vector<Choice<Optimizer>>& ChoiceTable<Optimizer>::entries();
template <>
const std::vector<Choice<Schedule>>& ChoiceTable<Schedule>::entries();
template <>
const std::vector<Choice<Monitor>>& ChoiceTable<Monitor>::entries();
template <>
const std::vector<Choice<Tta>>& ChoiceTable<Tta>::entries();
template <>
const std::vector<Choice<Precision>>& ChoiceTable<Precision>::entries();

/// The TOML spelling of `value` ("adamw").
template <typename E>
const char* choiceName(E value) {
  for (const auto& choice : ChoiceTable<E>::entries()) {
    if (choice.value == value) return choice.name;
  }
  return "?";  // unreachable: every enumerator is in its table (static_assert in Choices.cpp)
}

/// The enumerator spelt `text`, or nullopt. Case-sensitive, like every TOML key and value.
template <typename E>
std::optional<E> parseChoice(std::string_view text) {
  for (const auto& choice : ChoiceTable<E>::entries()) {
    if (text == choice.name) return choice.value;
  }
  return std::nullopt;
}

/// Every spelling, in declaration order.
template <typename E>
std::vector<std::string> choiceNames() {
  std::vector<std::string> names;
  for (const auto& choice : ChoiceTable<E>::entries()) names.emplace_back(choice.name);
  return names;
}

/// Whether E is one of the choice enums above (for the fmt formatter below).
template <typename E>
struct IsChoice : std::false_type {};
template <>
struct IsChoice<DataFormat> : std::true_type {};
template <>
struct IsChoice<Align> : std::true_type {};
template <>
struct IsChoice<ModelName> : std::true_type {};
template <>
struct IsChoice<InputChannels> : std::true_type {};
template <>
struct IsChoice<Activation> : std::true_type {};
template <>
struct IsChoice<BalanceMethod> : std::true_type {};
template <>
struct IsChoice<Optimizer> : std::true_type {};
template <>
struct IsChoice<Schedule> : std::true_type {};
template <>
struct IsChoice<Monitor> : std::true_type {};
template <>
struct IsChoice<Tta> : std::true_type {};
template <>
struct IsChoice<Precision> : std::true_type {};

/// "fp32" | "bf16" | "fp16" (kept for the callers that predate the generic form).
inline const char* precisionName(Precision precision) {
  return choiceName(precision);
}

/// Whether `model` is an ImageNet backbone (a transfer model) rather than a from-scratch CNN.
bool isImageNetBackbone(ModelName model);

}  // namespace ferlab::config

/// Choices format as their TOML spelling: fmt::format("{}", ModelName::VggNet) == "vggnet".
template <typename E>
struct fmt::formatter<E, char, std::enable_if_t<ferlab::config::IsChoice<E>::value>>
    : fmt::formatter<std::string_view> {
  template <typename FormatContext>
  auto format(E value, FormatContext& context) const {
    return fmt::formatter<std::string_view>::format(ferlab::config::choiceName(value), context);
  }
};
