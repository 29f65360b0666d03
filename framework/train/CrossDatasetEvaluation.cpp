#include "framework/train/CrossDatasetEvaluation.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <system_error>

#include <torch/torch.h>

#include <fmt/format.h>

#include "framework/core/Errors.h"
#include "framework/core/Log.h"
#include "framework/core/Stopwatch.h"
#include "framework/train/Metrics.h"

namespace ferlab::train {
namespace {

namespace fs = std::filesystem;

// The argmax of row `p` over `candidates` (ascending); ties go to the lowest index.
std::int64_t argmaxOver(const float* p, const std::vector<int>& candidates) {
  int best = candidates.front();
  for (const int c : candidates) {
    if (p[c] > p[best]) best = c;
  }
  return best;
}

// Everything of the dataset's preparation that changes the prepared pixels: models that
// agree on it share one reading of the dataset.
std::string preparationKey(const config::DataConfig& data) {
  return fmt::format("size={} align={} margin={} upsample={} cascades={}", data.image_size,
                     config::choiceName(data.align), data.align_margin, data.align_upsample,
                     data.cascade_dir);
}

tracking::EvaluationRecord makeRecord(const std::string& run_id, const data::CrossDataset& dataset,
                                      const std::vector<std::string>& class_names,
                                      const std::vector<float>& probabilities,
                                      const CrossDatasetScores& scores) {
  tracking::EvaluationRecord record;
  record.run_id = run_id;
  record.dataset = dataset.name;
  record.dataset_path = dataset.path;
  record.format = data::crossDatasetFormatName(dataset.format);
  record.content_hash = dataset.content_hash;
  record.class_map = dataset.mapping.canonicalJson();
  record.class_names = class_names;
  record.classes = scores.classes;
  record.images = scores.count;
  record.dropped_images = dataset.dropped_images;
  record.accuracy = scores.accuracy;
  record.restricted_accuracy = scores.restricted_accuracy;
  record.macro_f1 = scores.macro_f1;
  for (std::size_t i = 0; i < scores.classes.size(); ++i) {
    record.class_metrics.push_back({class_names[static_cast<std::size_t>(scores.classes[i])],
                                    scores.precision[i], scores.recall[i], scores.f1[i],
                                    scores.support[i]});
  }
  record.confusion = scores.confusion;
  const data::AlignmentCounts& alignment = dataset.images.alignment;
  record.alignment = {alignment.aligned, alignment.face_only, alignment.none};
  const std::size_t k = class_names.size();
  for (std::size_t i = 0; i < dataset.images.size(); ++i) {
    const float* row = probabilities.data() + i * k;
    record.predictions.push_back({dataset.images.sample_ids[i], dataset.images.labels[i],
                                  scores.predicted[i], scores.restricted[i],
                                  std::vector<float>(row, row + k)});
  }
  return record;
}

}  // namespace

CrossDatasetScores scoreCrossDataset(const std::vector<float>& probabilities,
                                     const std::vector<std::int64_t>& labels, int num_classes,
                                     const std::vector<int>& classes) {
  const auto k = static_cast<std::size_t>(num_classes);
  if (num_classes <= 0 || probabilities.size() != labels.size() * k) {
    throw std::invalid_argument("scoreCrossDataset: probabilities are not n x num_classes");
  }
  if (classes.empty() || !std::is_sorted(classes.begin(), classes.end()) ||
      std::adjacent_find(classes.begin(), classes.end()) != classes.end() || classes.front() < 0 ||
      classes.back() >= num_classes) {
    throw std::invalid_argument("scoreCrossDataset: classes must be ascending model classes");
  }
  CrossDatasetScores scores;
  scores.classes = classes;
  scores.count = static_cast<std::int64_t>(labels.size());
  std::vector<int> all(k);
  for (std::size_t c = 0; c < k; ++c) all[c] = static_cast<int>(c);
  std::int64_t restricted_correct = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (!std::binary_search(classes.begin(), classes.end(), static_cast<int>(labels[i]))) {
      throw std::invalid_argument("scoreCrossDataset: a label outside the dataset's classes");
    }
    const float* row = probabilities.data() + i * k;
    scores.predicted.push_back(argmaxOver(row, all));
    scores.restricted.push_back(argmaxOver(row, classes));
    restricted_correct += scores.restricted.back() == labels[i];
  }
  // The K x K metrics of the unrestricted predictions, read off for the dataset's classes.
  const ClassificationMetrics full = computeMetrics(labels, scores.predicted, num_classes);
  scores.accuracy = full.accuracy;
  scores.restricted_accuracy =
      labels.empty() ? 0.0 : static_cast<double>(restricted_correct) / labels.size();
  double f1_sum = 0.0;
  for (const int c : classes) {
    const auto index = static_cast<std::size_t>(c);
    scores.precision.push_back(full.precision[index]);
    scores.recall.push_back(full.recall[index]);
    scores.f1.push_back(full.f1[index]);
    scores.support.push_back(full.support[index]);
    f1_sum += full.f1[index];
    scores.confusion.insert(scores.confusion.end(), full.confusion.begin() + index * k,
                            full.confusion.begin() + (index + 1) * k);
  }
  scores.macro_f1 = f1_sum / static_cast<double>(classes.size());
  return scores;
}

void rejectOwnTrainingData(const config::RunConfig& config, const std::string& dataset_path) {
  std::error_code error;
  if (!fs::equivalent(config.data.path, dataset_path, error) || error) return;
  throw DataError(fmt::format(
      "{}: is the run's own training data (data.path = {}): its PublicTest chose the checkpoint "
      "and "
      "its PrivateTest result is already recorded (ferlab show); evaluate another dataset",
      dataset_path, config.data.path));
}

tracking::EvaluationRecord evaluateOnDataset(const std::string& run_id,
                                             const std::vector<WeightedModel>& models,
                                             const std::vector<std::string>& class_names,
                                             const data::CrossDatasetOptions& options) {
  if (models.empty()) throw TrainError(fmt::format("run {}: no model to evaluate", run_id));
  const int k = static_cast<int>(class_names.size());
  double weight_sum = 0.0;
  for (const WeightedModel& member : models) {
    if (member.model->config().model.num_classes != k) {
      throw TrainError(fmt::format("run {}: model of run {} has {} classes, expected {}", run_id,
                                   member.model->runId(), member.model->config().model.num_classes,
                                   k));
    }
    if (!(member.weight > 0)) {
      throw TrainError(fmt::format("run {}: member {} has weight {}, expected > 0", run_id,
                                   member.model->runId(), member.weight));
    }
    rejectOwnTrainingData(member.model->config(), options.path);
    weight_sum += member.weight;
  }

  // One reading per distinct preparation; the first one is the record's dataset.
  std::map<std::string, data::CrossDataset> readings;
  const data::CrossDataset* first = nullptr;  // map nodes stay where they are
  std::vector<float> probabilities;
  for (const WeightedModel& member : models) {
    const config::DataConfig& preparation = member.model->config().data;
    const std::string key = preparationKey(preparation);
    auto reading = readings.find(key);
    if (reading == readings.end()) {
      reading =
          readings.emplace(key, data::readCrossDataset(options, class_names, preparation)).first;
    }
    const data::CrossDataset& dataset = reading->second;
    if (first == nullptr) first = &dataset;
    const core::Stopwatch stopwatch;
    const torch::Tensor scores = member.model->classify(
        dataset.images.pixels.data(), static_cast<std::int64_t>(dataset.images.size()));
    log::info("run {}: classified {} images of {} in {:.1f} s", member.model->runId(),
              dataset.images.size(), dataset.name, stopwatch.seconds());
    const float* values = scores.data_ptr<float>();
    const double weight = member.weight / weight_sum;
    if (probabilities.empty()) probabilities.assign(static_cast<std::size_t>(scores.numel()), 0.f);
    for (std::size_t i = 0; i < probabilities.size(); ++i)
      probabilities[i] += static_cast<float>(weight * values[i]);
  }
  const std::vector<int> classes = first->mapping.keptModelClasses();
  const CrossDatasetScores scores =
      scoreCrossDataset(probabilities, first->images.labels, k, classes);
  return makeRecord(run_id, *first, class_names, probabilities, scores);
}

}  // namespace ferlab::train
