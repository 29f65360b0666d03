// Writes a tracking store for report tests and benchmarks without training anything:
//   make_report_fixture DB DATA_ROOT [RUNS] [EPOCHS] [TEST_SAMPLES] [VAL_SAMPLES]
// RUNS finished runs of a grid over train.lr x train.seed (with per-sample predictions,
// per-class metrics and confusion matrices), plus four runs every report must survive: a
// failed one, a running one, a finished one without stored predictions, and one named
// <script>alert(1)</script>, an ensemble of the first two runs (`ferlab ensemble`: no
// epochs, no params, no checkpoint), and two cross-dataset evaluations (one of a dataset with
// a hostile name). Sample ids are real FER2013 image paths under DATA_ROOT
// (test/<class>/PrivateTest_*.jpg, reused cyclically), so the errors gallery shows real
// images. Deterministic: the same arguments give the same store.

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "framework/report/Ensemble.h"
#include "framework/tracking/SqliteStore.h"

namespace {

namespace fs = std::filesystem;
using namespace ferlab::tracking;

const std::vector<std::string> kClasses = {"angry", "disgust",  "fear",   "happy",
                                           "sad",   "surprise", "neutral"};

struct Sample {
  std::string id;
  std::int64_t label = 0;
};

// Real PrivateTest images, sorted for determinism. Without the dataset, one id that names no
// file, so the report's gallery shows its "image not found" box instead of failing.
std::vector<Sample> realSamples(const fs::path& root) {
  std::vector<Sample> samples;
  for (std::size_t label = 0; label < kClasses.size(); ++label) {
    const fs::path folder = root / "test" / kClasses[label];
    std::error_code error;
    if (!fs::is_directory(folder, error)) continue;
    for (const auto& entry : fs::directory_iterator(folder)) {
      const std::string name = entry.path().filename().string();
      if (name.rfind("PrivateTest_", 0) == 0) {
        samples.push_back(
            {"test/" + kClasses[label] + "/" + name, static_cast<std::int64_t>(label)});
      }
    }
  }
  std::sort(samples.begin(), samples.end(),
            [](const Sample& a, const Sample& b) { return a.id < b.id; });
  if (samples.empty()) samples.push_back({"test/angry/missing.jpg", 0});
  return samples;
}

RunRecord makeRun(const std::string& id, const std::string& name, const std::string& lr, int seed,
                  const std::string& data_root) {
  RunRecord run;
  run.id = id;
  run.experiment = "fixture";
  run.name = name;
  run.config_json = R"({"data":{"format":"folder","path":")" + data_root + R"("}})";
  run.config_hash = id + "c0ffee";
  run.seed = seed;
  run.backbone = "simple_cnn";
  run.params = {{"data.path", data_root},
                {"model.name", "simple_cnn"},
                {"train.epochs", "30"},
                {"train.lr", lr},
                {"train.seed", std::to_string(seed)}};
  run.grid_values = {{"train.lr", lr}, {"train.seed", std::to_string(seed)}};
  run.git_commit = "0123456789abcdef0123456789abcdef01234567";
  run.ferlab_version = "0.1.0";
  run.torch_version = "1.13.1";
  run.opencv_version = "4.6.0";
  run.device = "cpu";
  run.dataset_key = "fer2013-fixture";
  return run;
}

void addEpochs(SqliteStore& store, const std::string& id, int epochs, double quality) {
  RunSummary summary;
  for (int n = 1; n <= epochs; ++n) {
    EpochRecord epoch;
    epoch.epoch = n;
    epoch.phase = n <= epochs / 3 ? "frozen" : "fine-tune";
    const double progress = static_cast<double>(n) / epochs;
    epoch.train_loss = 1.9 - 1.2 * progress * quality;
    epoch.val_loss = 1.8 - 0.8 * progress * quality;
    epoch.train_accuracy = 0.25 + 0.5 * progress * quality;
    epoch.val_accuracy = 0.25 + 0.4 * progress * quality;
    epoch.val_macro_f1 = epoch.val_accuracy - 0.05;
    epoch.lr = 1e-3;
    epoch.images_per_sec = 5000;
    epoch.seconds = 3;
    summary.best_epoch = summary.last_epoch = n;
    summary.best_val_accuracy = summary.last_val_accuracy = epoch.val_accuracy;
    summary.best_val_loss = epoch.val_loss;
    summary.best_val_macro_f1 = epoch.val_macro_f1;
    store.recordEpoch(id, epoch, summary);
  }
  if (epochs >= 3) {
    store.recordPhase(id, {0, "frozen", 1, epochs / 3, 1000, 5000});
    store.recordPhase(id, {1, "fine-tune", epochs / 3 + 1, epochs - epochs / 3, 5000, 5000});
  }
}

// Predictions right with probability `quality`, with softmax-like probabilities.
std::vector<Prediction> predict(const std::vector<Sample>& samples, int count, double quality,
                                std::mt19937_64& random, std::int64_t first_index) {
  std::uniform_real_distribution<double> uniform(0, 1);
  std::vector<Prediction> predictions;
  predictions.reserve(count);
  for (int i = 0; i < count; ++i) {
    const Sample& sample = samples[i % samples.size()];
    Prediction p;
    p.sample_index = first_index + i;
    p.sample_id = sample.id;
    p.label = sample.label;
    p.predicted = uniform(random) < quality ? sample.label
                                            : static_cast<std::int64_t>(random() % kClasses.size());
    p.probabilities.assign(kClasses.size(), 0.0f);
    const float confidence = static_cast<float>(0.3 + 0.7 * uniform(random));
    for (std::size_t c = 0; c < kClasses.size(); ++c) {
      p.probabilities[c] = (1 - confidence) / static_cast<float>(kClasses.size() - 1);
    }
    p.probabilities[p.predicted] = confidence;
    predictions.push_back(std::move(p));
  }
  return predictions;
}

SplitMetrics metricsOf(const std::string& split, const std::vector<Prediction>& predictions) {
  const std::size_t k = kClasses.size();
  SplitMetrics metrics;
  metrics.split = split;
  metrics.confusion.assign(k * k, 0);
  std::int64_t right = 0;
  for (const Prediction& p : predictions) {
    ++metrics.confusion[p.label * k + p.predicted];
    right += p.label == p.predicted;
  }
  metrics.accuracy = static_cast<double>(right) / predictions.size();
  metrics.loss = 1.0;
  double f1_sum = 0;
  for (std::size_t c = 0; c < k; ++c) {
    std::int64_t tp = metrics.confusion[c * k + c], row = 0, column = 0;
    for (std::size_t o = 0; o < k; ++o) {
      row += metrics.confusion[c * k + o];
      column += metrics.confusion[o * k + c];
    }
    ClassMetrics cm;
    cm.name = kClasses[c];
    cm.precision = column > 0 ? static_cast<double>(tp) / column : 0;
    cm.recall = row > 0 ? static_cast<double>(tp) / row : 0;
    cm.f1 = cm.precision + cm.recall > 0 ? 2 * cm.precision * cm.recall / (cm.precision + cm.recall)
                                         : 0;
    cm.support = row;
    f1_sum += cm.f1;
    metrics.classes.push_back(cm);
  }
  metrics.macro_f1 = f1_sum / k;
  return metrics;
}

void addFinished(SqliteStore& store, const RunRecord& run, int epochs, double quality,
                 const std::vector<Sample>& samples, int test_count, int val_count,
                 bool with_predictions) {
  store.ensureRun(run);
  store.markRunning(run);
  addEpochs(store, run.id, epochs, quality);
  std::mt19937_64 random(std::hash<std::string>{}(run.id));
  const auto test = predict(samples, test_count, quality * 0.7, random, 0);
  const auto val = predict(samples, val_count, quality * 0.7, random, test_count);
  const SplitMetrics test_metrics = metricsOf("PrivateTest", test);
  const SplitMetrics val_metrics = metricsOf("PublicTest", val);
  RunSummary summary;
  summary.best_epoch = summary.last_epoch = epochs;
  summary.best_val_accuracy = summary.last_val_accuracy = val_metrics.accuracy;
  summary.best_val_macro_f1 = val_metrics.macro_f1;
  summary.test_accuracy = test_metrics.accuracy;
  summary.test_macro_f1 = test_metrics.macro_f1;
  summary.images_per_sec = 5000 + 10 * quality;
  summary.duration_s = 90 * epochs;
  std::vector<std::pair<std::string, std::vector<Prediction>>> predictions;
  if (with_predictions) predictions = {{"PrivateTest", test}, {"PublicTest", val}};
  store.finishRun(run.id, summary, {val_metrics, test_metrics}, predictions);
}

// A cross-dataset evaluation (`ferlab evaluate`) of `run_id`: a lab-style dataset of 3 of the
// 7 classes, 20 images each (no per-sample predictions: the report does not show them).
EvaluationRecord makeEvaluation(const std::string& run_id, const std::string& dataset) {
  EvaluationRecord e;
  e.run_id = run_id;
  e.dataset = dataset;
  e.dataset_path = "/data/" + dataset;
  e.format = "folder";
  e.content_hash = "0123456789abcdef";
  e.class_map = R"({"anger":"angry","contempt":null,"happy":"happy","sadness":"sad"})";
  e.class_names = kClasses;
  e.classes = {0, 3, 4};
  e.images = 60;
  e.dropped_images = 5;
  e.accuracy = 31.0 / 60;
  e.restricted_accuracy = 38.0 / 60;
  e.macro_f1 = 0.5;
  e.class_metrics = {
      {"angry", 0.5, 0.4, 0.44, 20}, {"happy", 0.7, 0.8, 0.75, 20}, {"sad", 0.45, 0.35, 0.39, 20}};
  e.confusion = {8, 1, 3, 2,  4, 1, 1,  //
                 0, 0, 1, 16, 1, 1, 1,  //
                 2, 0, 3, 3,  7, 0, 5};
  return e;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: make_report_fixture DB DATA_ROOT [RUNS] [EPOCHS] [TEST_SAMPLES] "
                 "[VAL_SAMPLES]\n";
    return 2;
  }
  const std::string db = argv[1];
  const std::string data_root = fs::absolute(argv[2]).lexically_normal().string();
  const int runs = argc > 3 ? std::stoi(argv[3]) : 6;
  const int epochs = argc > 4 ? std::stoi(argv[4]) : 6;
  const int test_count = argc > 5 ? std::stoi(argv[5]) : 600;
  const int val_count = argc > 6 ? std::stoi(argv[6]) : 300;
  try {
    SqliteStore store(db);
    store.ensureExperiment("fixture", "tests/report/MakeReportFixture.cpp",
                           {"train.lr", "train.seed"});
    const std::vector<Sample> samples = realSamples(data_root);
    const std::vector<std::string> rates = {"0.0001", "0.001", "0.01", "0.1", "0.3"};
    for (int i = 0; i < runs; ++i) {
      const std::string lr = rates[i % rates.size()];
      const int seed = 1 + i / static_cast<int>(rates.size());
      char id[16];
      std::snprintf(id, sizeof id, "f%011d", i);
      const double quality =
          0.6 + 0.3 * static_cast<double>(i % rates.size()) / rates.size() + 0.02 * seed;
      addFinished(store,
                  makeRun(id, "fixture[lr=" + lr + ",seed=" + std::to_string(seed) + "]", lr, seed,
                          data_root),
                  epochs, std::min(quality, 0.99), samples, test_count, val_count, true);
    }
    const RunRecord failed = makeRun("e00000000001", "fixture[failed]", "10", 1, data_root);
    store.ensureRun(failed);
    store.markRunning(failed);
    addEpochs(store, failed.id, 2, 0.3);
    store.failRun(failed.id, "loss is NaN at epoch 3 <diverged>");
    const RunRecord running = makeRun("e00000000002", "fixture[running]", "0.05", 1, data_root);
    store.ensureRun(running);
    store.markRunning(running);
    addFinished(store, makeRun("e00000000003", "fixture[no-predictions]", "0.02", 1, data_root),
                epochs, 0.5, samples, test_count, val_count, false);
    addFinished(store, makeRun("e00000000004", "<script>alert(1)</script>", "0.03", 1, data_root),
                epochs, 0.55, samples, test_count, val_count, true);
    if (runs >= 2) {
      ferlab::report::EnsembleRequest ensemble;
      ensemble.runs = {"f00000000000", "f00000000001"};
      ensemble.method = ferlab::report::SelectionMethod::All;
      ensemble.name = "fixture[ensemble]";
      ferlab::report::buildEnsemble(store, ensemble);
    }
    if (runs > 0) store.recordEvaluation(makeEvaluation("f00000000000", "ckplus"));
    store.recordEvaluation(makeEvaluation("e00000000004", "<b>jaffe</b>"));
  } catch (const std::exception& error) {
    std::cerr << "make_report_fixture: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
