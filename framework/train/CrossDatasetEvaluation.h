#pragma once
// Cross-dataset evaluation (`ferlab evaluate`): a run's selected checkpoint (TrainedModel.h,
// the best epoch chosen on PublicTest) on another dataset (data/CrossDataset.h), with the
// dataset's classes mapped to the model's (data/ClassMap.h). Nothing here trains or selects.
//
// A dataset may hold only some of the model's K classes, so two accuracies are reported:
//   - accuracy: the argmax over all K classes. A prediction of a class the dataset lacks
//     (e.g. "disgust" on a dataset without it) counts as an error: the model's real behaviour.
//   - restricted accuracy: the argmax over the dataset's classes only, as if the model had
//     been told which classes can occur. Never below the accuracy.
// Macro-F1 and per-class precision / recall / F1 / support use the unrestricted predictions
// and average over the dataset's classes only (scikit-learn's
// `f1_score(y, p, labels=dataset_classes, average="macro")`): a class the dataset lacks has no
// recall to report. Ties in an argmax go to the lowest class index.

#include <cstdint>
#include <string>
#include <vector>

#include "framework/config/RunConfig.h"
#include "framework/data/CrossDataset.h"
#include "framework/tracking/SqliteStore.h"
#include "framework/train/TrainedModel.h"

namespace ferlab::train {

/// Scores of one evaluation; per-class values are for the entries of `classes`, in order.
struct CrossDatasetScores {
  std::vector<int> classes;  ///< model classes the dataset holds, ascending
  std::int64_t count = 0;
  double accuracy = 0;             ///< fraction in [0, 1], argmax over all classes
  double restricted_accuracy = 0;  ///< fraction in [0, 1], argmax over `classes`
  double macro_f1 = 0;             ///< fraction in [0, 1], mean F1 over `classes`
  std::vector<double> precision, recall, f1;
  std::vector<std::int64_t> support;
  /// Row-major classes.size() x K counts: row = true class (in `classes` order), column =
  /// unrestricted predicted class.
  std::vector<std::int64_t> confusion;
  std::vector<std::int64_t> predicted;   ///< per sample, argmax over all K classes
  std::vector<std::int64_t> restricted;  ///< per sample, argmax over `classes`
};

/// Scores row-major float32 `probabilities` (n x `num_classes`) against `labels` (n model
/// class indices, each one of `classes`). `classes`: the dataset's model classes, ascending,
/// unique, not empty. Throws std::invalid_argument for sizes that do not fit or a label
/// outside `classes` (programming errors, not user input).
CrossDatasetScores scoreCrossDataset(const std::vector<float>& probabilities,
                                     const std::vector<std::int64_t>& labels, int num_classes,
                                     const std::vector<int>& classes);

/// One model of an evaluation and its weight (1 for a single run; an ensemble's member
/// weights are normalised to sum to 1).
struct WeightedModel {
  const TrainedModel* model = nullptr;
  double weight = 1.0;
};

/// Throws DataError when `dataset_path` is the run's own training data (its data.path, the
/// same file or folder): its PublicTest chose the run's checkpoint and its PrivateTest result
/// is already recorded, so an evaluation of it would not be a cross-dataset result.
void rejectOwnTrainingData(const config::RunConfig& config, const std::string& dataset_path);

/// Evaluates `models` on the dataset `options` names and returns the record the store keeps
/// for run `run_id`: each model classifies the dataset prepared for its own training data
/// (its data settings; models that share them share one reading), the probabilities are
/// averaged with the normalised weights, then scored. `class_names`: the models' K classes.
/// Throws DataError / ConfigError / UsageError (readCrossDataset, rejectOwnTrainingData),
/// TrainError (no model, models with different class counts, weights not positive).
tracking::EvaluationRecord evaluateOnDataset(const std::string& run_id,
                                             const std::vector<WeightedModel>& models,
                                             const std::vector<std::string>& class_names,
                                             const data::CrossDatasetOptions& options);

}  // namespace ferlab::train
