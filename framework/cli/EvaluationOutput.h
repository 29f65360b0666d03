#pragma once
// Internal to framework/cli/: how a cross-dataset evaluation (tracking::EvaluationRecord)
// prints, shared by `ferlab evaluate` and `ferlab show`.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "framework/tracking/SqliteStore.h"

namespace ferlab::cli {

/// The evaluation as JSON: dataset, path, format, content_hash, class_map (object), classes
/// (names kept), images, dropped_images, accuracy, restricted_accuracy, macro_f1 (fractions),
/// per_class, confusion {rows, columns, counts}, alignment (null when the run does not align),
/// evaluated_at, and per-sample predictions when `with_predictions` (sample, label,
/// predicted, restricted: class names; probabilities: class -> probability).
nlohmann::json evaluationToJson(const tracking::EvaluationRecord& evaluation,
                                bool with_predictions);

/// One table row per evaluation: dataset, format, images, classes kept, accuracy, restricted
/// accuracy, macro-F1 and the content hash.
std::string evaluationsTable(const std::vector<tracking::EvaluationRecord>& evaluations);

/// Per-class precision / recall / F1 / support over the dataset's classes.
std::string evaluationClassTable(const tracking::EvaluationRecord& evaluation);

/// The confusion matrix: one row per dataset class (as mapped to the model's classes), one
/// column per model class, headed by 3-letter class names.
std::string evaluationConfusionTable(const tracking::EvaluationRecord& evaluation);

/// "anger -> angry, contempt -> (dropped), happy -> happy" from the canonical class map.
std::string classMapText(const std::string& class_map_json);

}  // namespace ferlab::cli
