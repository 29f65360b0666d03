#pragma once
// The fully resolved configuration of one training run: every field has a value (defaults
// filled in), so a run is reproducible from this struct alone. Field names mirror the TOML
// keys one to one (`[train] lr` is TrainConfig::lr).
//
// A field's C++ type and its default initializer here are the key's type and default; every
// other fact about the key (range or choices, doc line, source, whether it is part of the
// run's identity) is its one declaration in ConfigSchema.cpp. `ferlab run --print-defaults`
// and README's config reference are generated from the two. Loading: ConfigLoader.h.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "framework/config/Choices.h"

namespace ferlab::config {

/// `[data]`: where the images come from and how they are preprocessed and split.
struct DataConfig {
  std::string path = "data/fer2013";  ///< folder (image-folder layout) or .csv file
  DataFormat format = DataFormat::Auto;
  std::string cache_dir = "results/cache";  ///< decoded-dataset cache folder
  int image_size = 48;                      ///< pixels; images of another size are an error
  /// Stratified, seeded subset of the training split only: a value in (0, 1] is a fraction,
  /// an integer above 1 a number of images. 1.0 = everything. PublicTest and PrivateTest stay
  /// whole, so every reported number compares with published ones.
  double subset = 1.0;
  bool subset_is_count = false;  ///< set by the loader when `subset` was an integer > 1
  /// Stratified, seeded fraction (0, 1] of the validation and test splits, for smoke tests
  /// only; below 1 every report marks the run's numbers as not comparable.
  double eval_subset = 1.0;
  /// Used only where the layout carries no official split (no Training_/PublicTest_/
  /// PrivateTest_ prefixes, no Usage column): fractions carved from the data, seeded and
  /// stratified by class.
  double val_fraction = 0.1;
  double test_fraction = 0.1;
  std::int64_t split_seed = 1234;
  Align align = Align::None;  ///< face alignment before training, cached (data/FaceAligner.h)
  double align_margin = 0.2;  ///< margin around the face box, fraction of its side, [0, 1]
  int align_upsample = 4;     ///< upsampling factor before detection for small crops, >= 1
  std::string cascade_dir;    ///< cascade XML folder; "" = OpenCV's packaged haarcascades
};

/// One hidden layer of a transfer-learning head (`[[model.head]]`), applied in this order:
/// linear(units) -> batch-norm -> activation -> Gaussian noise -> dropout.
struct HeadLayerConfig {
  int units = 128;
  Activation activation = Activation::Relu;
  bool batch_norm = false;
  double gaussian_noise = 0.0;  ///< std of additive noise in training (Keras GaussianNoise)
  double dropout = 0.0;         ///< probability in [0, 1)
};

/// `[model]`: which network and its options. Per-model defaults (see ConfigLoader) fill
/// batch_norm and the dropout rates when the config does not set them.
struct ModelConfig {
  ModelName name = ModelName::SimpleCnn;
  int num_classes = 7;
  bool batch_norm = false;
  double conv_dropout = 0.25;  ///< dropout after conv blocks, probability in [0, 1)
  double fc_dropout = 0.5;     ///< dropout between dense layers, probability in [0, 1)
  // ImageNet backbones only:
  std::string weights;          ///< .pth / .safetensors file; "" = random initialisation
  bool strict_weights = false;  ///< true: every backbone key must match the file
  int input_size = 0;           ///< resize on the device to this many pixels; 0 = image_size
  InputChannels input_channels = InputChannels::Replicate;
  /// Hidden layers after global average pooling, before the classifier (`[[model.head]]`).
  std::vector<HeadLayerConfig> head;
};

/// `[augment]`: training-only augmentation, run as batched tensor ops on the device.
struct AugmentConfig {
  double hflip = 0.0;    ///< probability of a horizontal flip per image, [0, 1]
  int crop_padding = 0;  ///< random crop after zero-padding by this many pixels; 0 = off
  // Random affine transform (torchvision RandomAffine), applied with probability `affine`.
  double affine = 0.0;     ///< probability per image, [0, 1]
  double rotation = 0.0;   ///< max rotation in degrees, angle uniform in [-r, r]; [0, 180]
  double translate = 0.0;  ///< max shift as a fraction of the image size per axis, [0, 1)
  double scale_min = 1.0;  ///< scale factor uniform in [scale_min, scale_max], > 0
  double scale_max = 1.0;  ///< >= scale_min
  double shear = 0.0;      ///< max x-shear in degrees, uniform in [-s, s]; [0, 180]
  // Brightness / contrast jitter (torchvision ColorJitter), applied with probability `jitter`.
  double jitter = 0.0;      ///< probability per image, [0, 1]
  double brightness = 0.0;  ///< max additive shift as a fraction of 255, [0, 1]
  double contrast = 0.0;    ///< max multiplicative deviation around the image mean, [0, 1]
  // Random erasing (Zhong et al. 2020; torchvision RandomErasing box sampling).
  double erase = 0.0;            ///< probability per image, [0, 1]
  double erase_area_min = 0.02;  ///< min box area as a fraction of the image, (0, 1)
  double erase_area_max = 0.33;  ///< max box area, [erase_area_min, 1)
  /// Std of Gaussian noise added to the normalised input in training (Keras GaussianNoise),
  /// >= 0; 0 = off. Applied by the trainer after normalisation (addInputNoise).
  double noise_std = 0.0;
  // Batch mixing; per batch, mixup with probability `mixup`, else cutmix with probability
  // `cutmix` (mixup + cutmix <= 1). The loss mixes the two labels' losses by the weight.
  double mixup = 0.0;         ///< probability per batch (Zhang et al. 2018, mixup), [0, 1]
  double mixup_alpha = 0.2;   ///< mixing weight ~ Beta(alpha, alpha), > 0
  double cutmix = 0.0;        ///< probability per batch (Yun et al. 2019, CutMix), [0, 1]
  double cutmix_alpha = 1.0;  ///< kept-area fraction ~ Beta(alpha, alpha), > 0
};

/// `[balance]`: handling of FER2013's class imbalance (training split only).
struct BalanceConfig {
  BalanceMethod method = BalanceMethod::None;
  double focal_gamma = 2.0;  ///< focal loss focusing parameter, >= 0
};

/// One phase of a freeze / fine-tune schedule (`[[train.phases]]`).
struct PhaseConfig {
  std::string name;  ///< default "phase<N>" (1-based)
  int epochs = 1;
  /// What trains: "all", "head", or backbone block names / prefixes ("layer4",
  /// "features.24"), "layer3+" meaning that block and every later one. The head always
  /// trains unless the list is exactly ["none"].
  std::vector<std::string> trainable = {"all"};
  std::optional<Optimizer> optimizer;  ///< none = train.optimizer
  double lr = 0.0;                     ///< 0 = train.lr x lr_mult
  double lr_mult = 1.0;                ///< multiplies train.lr when lr is 0
  double layer_decay = 1.0;            ///< layer-wise lr decay per block below the top, (0, 1]
  bool train_frozen_bn = false;        ///< false: frozen BatchNorm layers stay in eval mode
};

/// `[train]`: the optimisation recipe.
struct TrainConfig {
  int epochs = 30;
  int batch_size = 64;
  Optimizer optimizer = Optimizer::Adam;
  double lr = 1e-3;
  double momentum = 0.9;  ///< SGD only
  bool nesterov = false;  ///< SGD only
  double weight_decay = 0.0;
  Schedule schedule = Schedule::None;
  int step_size = 10;        ///< epochs between decays ("step")
  double gamma = 0.1;        ///< decay factor ("step") / reduction factor ("plateau")
  int plateau_patience = 5;  ///< epochs without improvement before a reduction
  double min_lr = 0.0;       ///< floor for "cosine" and "plateau"
  Monitor monitor = Monitor::ValAccuracy;
  int early_stopping = 0;        ///< patience in epochs; 0 = off
  double label_smoothing = 0.0;  ///< [0, 1)
  double grad_clip = 0.0;        ///< max global L2 norm of gradients; 0 = off
  std::int64_t seed = 0;
  std::string device = "auto";            ///< "auto" | "cpu" | "cuda" | "cuda:N"
  int threads = 0;                        ///< CPU intra-op threads; 0 = every hardware thread
  Precision precision = Precision::Fp32;  ///< autocast dtype of the forward pass
  bool channels_last = false;             ///< NHWC memory layout for 4-D weights and inputs
  /// Freeze / fine-tune schedule (`[[train.phases]]`); empty = one phase "train" of
  /// `epochs` epochs training every parameter. When given, `epochs` is their sum.
  std::vector<PhaseConfig> phases;
};

/// `[eval]`: evaluation on PublicTest (validation) and PrivateTest (test).
struct EvalConfig {
  int batch_size = 512;
  Tta tta = Tta::None;
  int crop_size = 40;  ///< ten_crop crop side in pixels, [8, data.image_size]
};

/// `[reference]`: the published result an experiment reproduces (experiments/reproduce/). Not
/// part of a run's identity: it annotates the run, and `ferlab ledger` and the report's
/// "Claimed vs obtained" section compare against it.
struct ReferenceConfig {
  std::string source;    ///< "" = no reference; else the seed project or paper, with its title
  double claimed = 0.0;  ///< their test accuracy, a fraction; 0 = none published
  std::string protocol;  ///< how they measured it (split, selection, TTA)
  std::vector<std::string> differences;  ///< how this experiment differs from theirs
  int epochs = 0;                        ///< their training length; 0 = unknown
};

/// `[tracking]`: where runs are mirrored besides the store (execution settings, not in the
/// run id). `ferlab run --mlflow` / `--tensorboard` override them; MLFLOW_TRACKING_URI is
/// the fallback of mlflow_uri. One server and one folder per grid: cells may not differ.
struct TrackingConfig {
  std::string mlflow_uri;       ///< "" = none; else an http(s):// MLflow tracking server
  std::string tensorboard_dir;  ///< "" = none; else the folder of the TensorBoard event files
};

/// One resolved run of an experiment.
struct RunConfig {
  std::string experiment = "experiment";  ///< top-level `name`
  std::string description;                ///< top-level `description`
  DataConfig data;
  ModelConfig model;
  AugmentConfig augment;
  BalanceConfig balance;
  TrainConfig train;
  EvalConfig eval;
  TrackingConfig tracking;
  ReferenceConfig reference;
};

}  // namespace ferlab::config
