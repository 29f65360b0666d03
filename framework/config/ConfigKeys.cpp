// Every config key, declared once: its TOML name, the RunConfig field it sets (whose type and
// default initializer in RunConfig.h are the key's type and default), its range or choices,
// one doc line, the source of the method, and whether it belongs to the run's identity.
// Adding a key means adding its field, one line here, and the code that uses it.

#include <cmath>
#include <cstdint>
#include <map>

#include "framework/config/ConfigSchema.h"

namespace ferlab::config {
namespace {

constexpr KeyRole kExecution = KeyRole::Execution;
constexpr KeyRole kAnnotation = KeyRole::Annotation;

/// data.subset: an integer count of training images, or a fraction. The integer 1 means
/// "everything", like 1.0 (ConfigValues.cpp resolves both to 1.0 so they hash the same).
Key subsetKey() {
  Key spec;
  spec.key = "data.subset";
  spec.type = ValueType::Subset;
  spec.rule = {{}, "(0, 1] or an integer count >= 1"};
  spec.doc =
      "stratified, seeded part of the training split: a fraction, or an integer number of "
      "images; PublicTest and PrivateTest stay whole";
  spec.read = [](const RunConfig& config) {
    return config.data.subset_is_count ? json(static_cast<std::int64_t>(config.data.subset))
                                       : json(config.data.subset);
  };
  spec.write = [](RunConfig& config, const json& value) {
    config.data.subset = value.get<double>();
    config.data.subset_is_count = value.is_number_integer();
  };
  return spec;
}

/// Phase names default to "phase<N>" (from 1) and must differ; lr and lr_mult exclude each
/// other, since lr_mult only scales train.lr when lr is 0.
void finishPhases(json& phases, const EntryFail& fail) {
  std::map<std::string, std::size_t> names;
  for (std::size_t i = 0; i < phases.size(); ++i) {
    json& phase = phases[i];
    if (phase["name"].get<std::string>().empty()) phase["name"] = "phase" + std::to_string(i + 1);
    const auto name = phase["name"].get<std::string>();
    if (const auto [it, added] = names.emplace(name, i); !added) {
      fail(i, "name",
           "duplicate phase name '" + name + "' (also train.phases[" + std::to_string(it->second) +
               "])");
    }
    if (phase["lr"].get<double>() > 0 && phase["lr_mult"].get<double>() != 1.0) {
      fail(i, "lr_mult",
           "lr_mult scales train.lr and applies only when lr = 0; set lr or lr_mult, not both");
    }
  }
}

}  // namespace

ModelDefaults modelDefaults(ModelName model) {
  switch (model) {
    case ModelName::SimpleCnn:
      return {false, 0.25, 0.5};
    case ModelName::VggNet:
      return {true, 0.0, 0.2};
    case ModelName::EluCnn:
      return {true, 0.4, 0.5};
    case ModelName::FastCnn:
      return {true, 0.0, 0.2};
    // ImageNet backbones: the from-scratch options do not apply; the head has its own.
    case ModelName::Vgg16:
    case ModelName::Vgg16Bn:
    case ModelName::Vgg19:
    case ModelName::Vgg19Bn:
    case ModelName::ResNet18:
    case ModelName::ResNet50:
    case ModelName::MobileNetV2:
    case ModelName::Xception:
      return {false, 0.0, 0.0};
  }
  return {};
}

std::vector<Key> declareKeys() {
  using R = RunConfig;
  using D = DataConfig;
  using M = ModelConfig;
  using A = AugmentConfig;
  using B = BalanceConfig;
  using T = TrainConfig;
  using E = EvalConfig;
  using F = ReferenceConfig;
  using K = TrackingConfig;
  return {
      topKey("name", &R::experiment,
             {experimentName(), "experiment name; default: the experiment file's stem"}),
      topKey("description", &R::description, {anyValue(), "free text", "", kAnnotation}),

      key("data.path", &R::data, &D::path,
          {nonEmpty(), "image folder or .csv file, relative to the working directory"}),
      key("data.format", &R::data, &D::format, {{}, "how data.path is read"}),
      key("data.cache_dir", &R::data, &D::cache_dir,
          {nonEmpty(), "decoded-dataset cache folder", "", kExecution}),
      key("data.image_size", &R::data, &D::image_size,
          {intRange(8), "pixels per side; images of another size are an error"}),
      subsetKey(),
      key("data.eval_subset", &R::data, &D::eval_subset,
          {floatRange(0, true, 1, false),
           "stratified, seeded fraction of PublicTest and PrivateTest, for smoke tests only; "
           "below 1 the run's numbers are marked as not comparable with published ones"}),
      key("data.val_fraction", &R::data, &D::val_fraction,
          {rate(),
           "validation fraction carved from training, only where the layout has no "
           "official split"}),
      key("data.test_fraction", &R::data, &D::test_fraction,
          {rate(), "test fraction carved likewise; val_fraction + test_fraction < 1"}),
      key("data.split_seed", &R::data, &D::split_seed,
          {intRange(0, INT64_MAX), "seed of the carved splits and of the subsets"}),
      key("data.align", &R::data, &D::align,
          {{},
           "face alignment before training, cached with the dataset",
           "OpenCV Haar cascades (Viola & Jones 2001)"}),
      key("data.align_margin", &R::data, &D::align_margin,
          {probability(), "margin around the detected face box, fraction of its side"}),
      key("data.align_upsample", &R::data, &D::align_upsample,
          {intRange(1), "small images are upsampled by this factor before detection"}),
      key("data.cascade_dir", &R::data, &D::cascade_dir,
          {anyValue(), "folder of the OpenCV cascade XML files; \"\" = the packaged ones"}),

      key("model.name", &R::model, &M::name, {{}, "the network"}),
      key("model.num_classes", &R::model, &M::num_classes, {intRange(2), "number of classes"}),
      key("model.batch_norm", &R::model, &M::batch_norm,
          {anyValue(), "batch-norm after each convolution (from-scratch CNNs); default per model",
           "Ioffe & Szegedy 2015"}),
      key("model.conv_dropout", &R::model, &M::conv_dropout,
          {rate(), "dropout after each conv block (from-scratch CNNs); default per model"}),
      key("model.fc_dropout", &R::model, &M::fc_dropout,
          {rate(), "dropout between dense layers (from-scratch CNNs); default per model"}),
      key("model.weights", &R::model, &M::weights,
          {anyValue(),
           "ImageNet backbones: .pth / .safetensors weight file, relative to the "
           "working directory; \"\" = random initialisation (logged, recorded as "
           "pretrained = false)",
           "torchvision / timm state dicts"}),
      key("model.strict_weights", &R::model, &M::strict_weights,
          {anyValue(),
           "ImageNet backbones: true = every backbone tensor must be in the file; "
           "false still needs 90% of them"}),
      key("model.input_size", &R::model, &M::input_size,
          {inputSize(),
           "ImageNet backbones: resize on the device to this many pixels; "
           "0 = data.image_size"}),
      key("model.input_channels", &R::model, &M::input_channels,
          {{}, "ImageNet backbones: grey image to the 3-channel first convolution"}),

      key("augment.hflip", &R::augment, &A::hflip,
          {probability(), "probability of a horizontal flip per image",
           "torchvision RandomHorizontalFlip"}),
      key("augment.crop_padding", &R::augment, &A::crop_padding,
          {intRange(0), "pixels of zero padding before a random crop; 0 = off",
           "torchvision RandomCrop(padding)"}),
      key("augment.affine", &R::augment, &A::affine,
          {probability(), "probability of a random affine transform per image",
           "torchvision RandomAffine"}),
      key("augment.rotation", &R::augment, &A::rotation,
          {floatRange(0, false, 180, false), "max rotation in degrees, uniform in [-r, r]"}),
      key("augment.translate", &R::augment, &A::translate,
          {rate(), "max shift as a fraction of the image size per axis"}),
      key("augment.scale_min", &R::augment, &A::scale_min,
          {positive(), "affine scale drawn from [scale_min, scale_max]"}),
      key("augment.scale_max", &R::augment, &A::scale_max, {positive(), ">= scale_min"}),
      key("augment.shear", &R::augment, &A::shear,
          {floatRange(0, false, 180, false), "max x-shear in degrees"}),
      key("augment.jitter", &R::augment, &A::jitter,
          {probability(), "probability of brightness/contrast jitter per image",
           "torchvision ColorJitter"}),
      key("augment.brightness", &R::augment, &A::brightness,
          {probability(), "max additive shift as a fraction of 255"}),
      key("augment.contrast", &R::augment, &A::contrast,
          {probability(), "max multiplicative deviation around the image mean"}),
      key("augment.erase", &R::augment, &A::erase,
          {probability(), "probability of random erasing per image",
           "Zhong et al. 2020; torchvision RandomErasing"}),
      key("augment.erase_area_min", &R::augment, &A::erase_area_min,
          {floatRange(0, true, 1, true), "min erased area, fraction of the image"}),
      key("augment.erase_area_max", &R::augment, &A::erase_area_max,
          {floatRange(0, true, 1, true), "max erased area, >= erase_area_min"}),
      key("augment.noise_std", &R::augment, &A::noise_std,
          {nonNegative(), "std of Gaussian noise on the normalised input in training; 0 = off",
           "Keras GaussianNoise"}),
      key("augment.mixup", &R::augment, &A::mixup,
          {probability(), "probability that a batch is mixed with mixup", "Zhang et al. 2018"}),
      key("augment.mixup_alpha", &R::augment, &A::mixup_alpha,
          {positive(), "mixing weight ~ Beta(alpha, alpha)"}),
      key("augment.cutmix", &R::augment, &A::cutmix,
          {probability(), "probability that a batch is mixed with CutMix; mixup + cutmix <= 1",
           "Yun et al. 2019"}),
      key("augment.cutmix_alpha", &R::augment, &A::cutmix_alpha,
          {positive(), "kept-area fraction ~ Beta(alpha, alpha)"}),

      key("balance.method", &R::balance, &B::method,
          {{}, "class-imbalance handling, training split only"}),
      key("balance.focal_gamma", &R::balance, &B::focal_gamma,
          {nonNegative(), "focal-loss focusing parameter (method = focal)", "Lin et al. 2017"}),

      key("train.epochs", &R::train, &T::epochs,
          {intRange(1), "epochs; with train.phases, their sum"}),
      key("train.batch_size", &R::train, &T::batch_size, {intRange(1), "images per step"}),
      key("train.optimizer", &R::train, &T::optimizer, {{}, "optimiser"}),
      key("train.lr", &R::train, &T::lr, {positive(), "learning rate"}),
      key("train.momentum", &R::train, &T::momentum, {rate(), "SGD momentum"}),
      key("train.nesterov", &R::train, &T::nesterov,
          {anyValue(), "SGD Nesterov momentum; needs momentum > 0"}),
      key("train.weight_decay", &R::train, &T::weight_decay, {nonNegative(), "weight decay"}),
      key("train.schedule", &R::train, &T::schedule, {{}, "learning-rate schedule"}),
      key("train.step_size", &R::train, &T::step_size,
          {intRange(1), "epochs between decays (step)"}),
      key("train.gamma", &R::train, &T::gamma,
          {floatRange(0, true, 1, false), "decay (step) / reduction (plateau) factor"}),
      key("train.plateau_patience", &R::train, &T::plateau_patience,
          {intRange(0), "epochs without improvement before a reduction (plateau)"}),
      key("train.min_lr", &R::train, &T::min_lr,
          {nonNegative(), "floor of the cosine and plateau schedules"}),
      key("train.monitor", &R::train, &T::monitor,
          {{}, "validation metric that selects the best epoch, on PublicTest"}),
      key("train.early_stopping", &R::train, &T::early_stopping,
          {intRange(0), "patience in epochs; 0 = off", "Keras EarlyStopping"}),
      key("train.label_smoothing", &R::train, &T::label_smoothing,
          {rate(), "label smoothing of the cross-entropy", "Szegedy et al. 2016"}),
      key("train.grad_clip", &R::train, &T::grad_clip,
          {nonNegative(), "max global gradient L2 norm; 0 = off"}),
      key("train.seed", &R::train, &T::seed,
          {intRange(0, INT64_MAX), "seed of initialisation, batches and augmentation"}),
      key("train.device", &R::train, &T::device,
          {deviceName(), "training device; auto = CUDA when present", "", kExecution}),
      key("train.threads", &R::train, &T::threads,
          {intRange(0), "CPU intra-op threads; 0 = every hardware thread", "", kExecution}),
      key("train.precision", &R::train, &T::precision,
          {{},
           "autocast dtype of the forward pass; weights, gradients and optimiser state stay "
           "float32. On a CPU, bf16 needs AVX512-BF16 or AMX-BF16 and fp16 always falls back "
           "to fp32, with a warning; the precision a run trained in is recorded",
           "Micikevicius et al. 2018"}),
      key("train.channels_last", &R::train, &T::channels_last,
          {anyValue(), "NHWC memory layout for conv weights and inputs (speed only)", "",
           kExecution}),

      key("eval.batch_size", &R::eval, &E::batch_size,
          {intRange(1), "images per evaluation batch", "", kExecution}),
      key("eval.tta", &R::eval, &E::tta,
          {{}, "test-time augmentation", "ten_crop: Khaireddin & Chen 2021"}),
      key("eval.crop_size", &R::eval, &E::crop_size,
          {intRange(8), "ten_crop crop side in pixels, <= data.image_size"}),

      key("tracking.mlflow_uri", &R::tracking, &K::mlflow_uri,
          {httpUrlOrEmpty(),
           "MLflow tracking server every run is mirrored to; \"\" = $MLFLOW_TRACKING_URI "
           "or none. --mlflow overrides it",
           "MLflow REST API 2.0", kExecution}),
      key("tracking.tensorboard_dir", &R::tracking, &K::tensorboard_dir,
          {anyValue(),
           "folder of per-run TensorBoard event files; \"\" = none. --tensorboard overrides it", "",
           kExecution}),

      key("reference.source", &R::reference, &F::source,
          {anyValue(),
           "the published result reproduced: seed project or paper, with its title; "
           "\"\" = none",
           "", kAnnotation}),
      key("reference.claimed", &R::reference, &F::claimed,
          {probability(), "their test accuracy, a fraction; 0 = no number published", "",
           kAnnotation}),
      key("reference.protocol", &R::reference, &F::protocol,
          {anyValue(), "how they measured it: split, selection, test-time augmentation", "",
           kAnnotation}),
      key("reference.differences", &R::reference, &F::differences,
          {anyValue(), "how this experiment differs from theirs, one entry each", "", kAnnotation}),
      key("reference.epochs", &R::reference, &F::epochs,
          {intRange(0),
           "their training length in epochs; 0 = unknown. A shorter train.epochs "
           "makes the ledger call the run a partial reproduction",
           "", kAnnotation}),
  };
}

std::vector<ArrayKey> declareArrays() {
  using H = HeadLayerConfig;
  using P = PhaseConfig;
  return {
      arrayKey<ModelConfig, H>(
          "model.head", &RunConfig::model, &ModelConfig::head,
          {
              entryKey("units", &H::units, {intRange(1), "width of the layer"}),
              entryKey("activation", &H::activation, {{}, "activation"}),
              entryKey("batch_norm", &H::batch_norm, {anyValue(), "batch-norm after the linear"}),
              entryKey("gaussian_noise", &H::gaussian_noise,
                       {nonNegative(), "std of additive noise in training", "Keras GaussianNoise"}),
              entryKey("dropout", &H::dropout, {rate(), "dropout probability"}),
          },
          "Hidden layers of an ImageNet backbone's head, between global average pooling and the "
          "classifier, in order: linear -> batch-norm -> activation -> noise -> dropout. None by "
          "default. An array in the including file replaces an included one as a whole; "
          "`head = []` removes it."),
      arrayKey<TrainConfig, P>(
          "train.phases", &RunConfig::train, &TrainConfig::phases,
          {
              entryKey("name", &P::name, {anyValue(), "\"\" = \"phase<N>\", N counted from 1"}),
              entryKey("epochs", &P::epochs, {intRange(1), "epochs of the phase"}),
              entryKey("trainable", &P::trainable,
                       {trainableList(), "what trains; the head trains unless it is [\"none\"]"}),
              entryKey("optimizer", &P::optimizer, {{}, "\"\" = train.optimizer"}),
              entryKey("lr", &P::lr, {nonNegative(), "0 = train.lr x lr_mult"}),
              entryKey("lr_mult", &P::lr_mult,
                       {positive(), "multiplies train.lr when lr = 0 (not allowed with lr > 0)"}),
              entryKey("layer_decay", &P::layer_decay,
                       {floatRange(0, true, 1, false),
                        "lr x layer_decay^k for the k-th block below the top"}),
              entryKey("train_frozen_bn", &P::train_frozen_bn,
                       {anyValue(), "false: frozen BatchNorm layers stay in eval mode"}),
          },
          "Freeze / fine-tune schedule, phases run in order; none by default (one phase of "
          "train.epochs training everything). With phases, train.epochs is their sum: leave it "
          "unset or set it to that sum. An array in the including file replaces an included "
          "one as a whole; `phases = []` removes it.",
          finishPhases),
  };
}

}  // namespace ferlab::config
