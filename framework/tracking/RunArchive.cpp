#include "framework/tracking/RunArchive.h"

#include <cmath>
#include <cstring>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "framework/core/AtomicFile.h"
#include "framework/core/Base64.h"
#include "framework/core/Errors.h"
#include "framework/core/FileBytes.h"
#include "framework/core/Gzip.h"

namespace ferlab::tracking {
namespace {

using Json = nlohmann::ordered_json;

constexpr const char* kFormat = "ferlab-run-archive";
constexpr int kVersion = 1;

// ---- writing -------------------------------------------------------------------------------

Json pairsJson(const std::vector<std::pair<std::string, std::string>>& pairs) {
  Json list = Json::array();
  for (const auto& [key, value] : pairs) list.push_back({key, value});
  return list;
}

Json recordJson(const RunRecord& r) {
  return {{"id", r.id},
          {"kind", kindName(r.kind)},
          {"experiment", r.experiment},
          {"name", r.name},
          {"status", statusName(r.status)},
          {"grid_index", r.grid_index},
          {"config_json", r.config_json},  // verbatim text: the store's bytes, not a re-dump
          {"config_hash", r.config_hash},
          {"seed", r.seed},
          {"backbone", r.backbone},
          {"params", pairsJson(r.params)},
          {"grid_values", pairsJson(r.grid_values)},
          {"git_commit", r.git_commit},
          {"ferlab_version", r.ferlab_version},
          {"torch_version", r.torch_version},
          {"opencv_version", r.opencv_version},
          {"device", r.device},
          {"dataset_key", r.dataset_key},
          {"started_at", r.started_at},
          {"ended_at", r.ended_at},
          {"error", r.error},
          {"pretrained", r.pretrained},
          {"weights_loaded", r.weights_loaded},
          {"weights_total", r.weights_total},
          {"alignment", {r.alignment.aligned, r.alignment.face_only, r.alignment.none}},
          {"precision", r.precision}};
}

Json summaryJson(const RunSummary& s) {
  return {{"best_epoch", s.best_epoch},
          {"best_val_accuracy", s.best_val_accuracy},
          {"best_val_macro_f1", s.best_val_macro_f1},
          {"best_val_loss", s.best_val_loss},
          {"last_epoch", s.last_epoch},
          {"last_val_accuracy", s.last_val_accuracy},
          {"last_train_loss", s.last_train_loss},
          {"last_train_accuracy", s.last_train_accuracy},
          {"test_accuracy", s.test_accuracy},
          {"test_macro_f1", s.test_macro_f1},
          {"images_per_sec", s.images_per_sec},
          {"duration_s", s.duration_s}};
}

Json epochJson(const EpochRecord& e) {
  return {{"epoch", e.epoch},
          {"phase", e.phase},
          {"train_loss", e.train_loss},
          {"train_accuracy", e.train_accuracy},
          {"val_loss", e.val_loss},
          {"val_accuracy", e.val_accuracy},
          {"val_macro_f1", e.val_macro_f1},
          {"lr", e.lr},
          {"images_per_sec", e.images_per_sec},
          {"seconds", e.seconds},
          {"class_counts", e.class_counts}};
}

Json phaseJson(const PhaseRecord& p) {
  return {{"index", p.index},
          {"name", p.name},
          {"first_epoch", p.first_epoch},
          {"epochs", p.epochs},
          {"trainable_params", p.trainable_params},
          {"total_params", p.total_params}};
}

Json splitJson(const SplitMetrics& s) {
  Json classes = Json::array();
  for (const auto& c : s.classes) {
    classes.push_back({{"name", c.name},
                       {"precision", c.precision},
                       {"recall", c.recall},
                       {"f1", c.f1},
                       {"support", c.support}});
  }
  return {{"split", s.split},       {"loss", s.loss},     {"accuracy", s.accuracy},
          {"macro_f1", s.macro_f1}, {"classes", classes}, {"confusion", s.confusion}};
}

// Columns rather than one object per sample: a split is 3,589 rows, and the integer columns
// compress to almost nothing.
Json predictionsJson(const std::string& split, const std::vector<Prediction>& samples) {
  Json indices = Json::array(), ids = Json::array(), labels = Json::array(),
       predicted = Json::array();
  std::string bytes;
  const std::size_t classes = samples.empty() ? 0 : samples.front().probabilities.size();
  for (const auto& p : samples) {
    indices.push_back(p.sample_index);
    ids.push_back(p.sample_id);
    labels.push_back(p.label);
    predicted.push_back(p.predicted);
    if (p.probabilities.size() != classes) {
      throw StoreError(fmt::format("run archive: {} sample {} has {} probabilities, not {}", split,
                                   p.sample_index, p.probabilities.size(), classes));
    }
    bytes.append(reinterpret_cast<const char*>(p.probabilities.data()), classes * sizeof(float));
  }
  return {{"split", split},
          {"classes", classes},
          {"sample_index", indices},
          {"sample_id", ids},
          {"label", labels},
          {"predicted", predicted},
          {"probabilities_f32le_base64", core::base64Encode(bytes)}};
}

// ---- reading -------------------------------------------------------------------------------

/// Reads keys of one JSON object, each error naming the file and the key's path.
class Reader {
 public:
  Reader(const Json& object, std::string origin, std::string path)
      : object_(object), origin_(std::move(origin)), path_(std::move(path)) {
    if (!object_.is_object()) fail("", "an object");
  }

  template <typename T>
  T get(const char* key) const {
    const Json& value = at(key);
    try {
      return value.get<T>();
    } catch (const nlohmann::json::exception&) {
      fail(key, expected<T>());
    }
  }
  const Json& array(const char* key) const {
    const Json& value = at(key);
    if (!value.is_array()) fail(key, "an array");
    return value;
  }
  Reader object(const char* key) const { return Reader(at(key), origin_, where(key)); }
  Reader element(const char* key, std::size_t i, const Json& value) const {
    return Reader(value, origin_, fmt::format("{}[{}]", where(key), i));
  }
  std::string where(const char* key) const { return path_.empty() ? key : path_ + "." + key; }
  [[noreturn]] void fail(const char* key, const std::string& what) const {
    throw DataError(fmt::format("{}: run archive key '{}' must be {}", origin_,
                                *key ? where(key) : path_, what));
  }
  const std::string& origin() const { return origin_; }

 private:
  const Json& at(const char* key) const {
    const auto found = object_.find(key);
    if (found == object_.end()) {
      throw DataError(fmt::format("{}: run archive lacks key '{}'", origin_, where(key)));
    }
    return *found;
  }
  template <typename T>
  static const char* expected() {
    if constexpr (std::is_same_v<T, std::string>) return "a string";
    if constexpr (std::is_floating_point_v<T>) return "a number";
    if constexpr (std::is_integral_v<T>) return "an integer";
    return "a list of the right kind";
  }

  const Json& object_;
  std::string origin_, path_;
};

std::vector<std::pair<std::string, std::string>> readPairs(const Reader& r, const char* key) {
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const auto& item : r.array(key)) {
    if (!item.is_array() || item.size() != 2 || !item[0].is_string() || !item[1].is_string()) {
      r.fail(key, "a list of [key, value] string pairs");
    }
    pairs.emplace_back(item[0].get<std::string>(), item[1].get<std::string>());
  }
  return pairs;
}

RunRecord readRecord(const Reader& r) {
  RunRecord record;
  record.id = r.get<std::string>("id");
  try {
    record.kind = parseKind(r.get<std::string>("kind"));
  } catch (const StoreError&) {
    r.fail("kind", "train or ensemble");
  }
  record.experiment = r.get<std::string>("experiment");
  record.name = r.get<std::string>("name");
  const auto status = r.get<std::string>("status");
  try {
    record.status = parseStatus(status);
  } catch (const StoreError&) {
    r.fail("status", "queued, running, finished or failed");
  }
  record.grid_index = r.get<int>("grid_index");
  record.config_json = r.get<std::string>("config_json");
  record.config_hash = r.get<std::string>("config_hash");
  record.seed = r.get<std::int64_t>("seed");
  record.backbone = r.get<std::string>("backbone");
  record.params = readPairs(r, "params");
  record.grid_values = readPairs(r, "grid_values");
  record.git_commit = r.get<std::string>("git_commit");
  record.ferlab_version = r.get<std::string>("ferlab_version");
  record.torch_version = r.get<std::string>("torch_version");
  record.opencv_version = r.get<std::string>("opencv_version");
  record.device = r.get<std::string>("device");
  record.dataset_key = r.get<std::string>("dataset_key");
  record.started_at = r.get<std::string>("started_at");
  record.ended_at = r.get<std::string>("ended_at");
  record.error = r.get<std::string>("error");
  record.pretrained = r.get<int>("pretrained");
  record.weights_loaded = r.get<std::int64_t>("weights_loaded");
  record.weights_total = r.get<std::int64_t>("weights_total");
  const auto alignment = r.get<std::vector<std::int64_t>>("alignment");
  if (alignment.size() != 3) r.fail("alignment", "[aligned, face_only, none]");
  record.alignment = {alignment[0], alignment[1], alignment[2]};
  record.precision = r.get<std::string>("precision");
  return record;
}

RunSummary readSummary(const Reader& r) {
  RunSummary s;
  s.best_epoch = r.get<int>("best_epoch");
  s.best_val_accuracy = r.get<double>("best_val_accuracy");
  s.best_val_macro_f1 = r.get<double>("best_val_macro_f1");
  s.best_val_loss = r.get<double>("best_val_loss");
  s.last_epoch = r.get<int>("last_epoch");
  s.last_val_accuracy = r.get<double>("last_val_accuracy");
  s.last_train_loss = r.get<double>("last_train_loss");
  s.last_train_accuracy = r.get<double>("last_train_accuracy");
  s.test_accuracy = r.get<double>("test_accuracy");
  s.test_macro_f1 = r.get<double>("test_macro_f1");
  s.images_per_sec = r.get<double>("images_per_sec");
  s.duration_s = r.get<double>("duration_s");
  return s;
}

EpochRecord readEpoch(const Reader& r) {
  EpochRecord e;
  e.epoch = r.get<int>("epoch");
  e.phase = r.get<std::string>("phase");
  e.train_loss = r.get<double>("train_loss");
  e.train_accuracy = r.get<double>("train_accuracy");
  e.val_loss = r.get<double>("val_loss");
  e.val_accuracy = r.get<double>("val_accuracy");
  e.val_macro_f1 = r.get<double>("val_macro_f1");
  e.lr = r.get<double>("lr");
  e.images_per_sec = r.get<double>("images_per_sec");
  e.seconds = r.get<double>("seconds");
  e.class_counts = r.get<std::vector<std::int64_t>>("class_counts");
  return e;
}

PhaseRecord readPhase(const Reader& r) {
  PhaseRecord p;
  p.index = r.get<int>("index");
  p.name = r.get<std::string>("name");
  p.first_epoch = r.get<int>("first_epoch");
  p.epochs = r.get<int>("epochs");
  p.trainable_params = r.get<std::int64_t>("trainable_params");
  p.total_params = r.get<std::int64_t>("total_params");
  return p;
}

SplitMetrics readSplit(const Reader& r) {
  SplitMetrics s;
  s.split = r.get<std::string>("split");
  s.loss = r.get<double>("loss");
  s.accuracy = r.get<double>("accuracy");
  s.macro_f1 = r.get<double>("macro_f1");
  const auto& classes = r.array("classes");
  for (std::size_t i = 0; i < classes.size(); ++i) {
    const Reader c = r.element("classes", i, classes[i]);
    s.classes.push_back({c.get<std::string>("name"), c.get<double>("precision"),
                         c.get<double>("recall"), c.get<double>("f1"),
                         c.get<std::int64_t>("support")});
  }
  s.confusion = r.get<std::vector<std::int64_t>>("confusion");
  return s;
}

std::pair<std::string, std::vector<Prediction>> readPredictions(const Reader& r) {
  const auto split = r.get<std::string>("split");
  const auto classes = r.get<std::size_t>("classes");
  const auto indices = r.get<std::vector<std::int64_t>>("sample_index");
  const auto ids = r.get<std::vector<std::string>>("sample_id");
  const auto labels = r.get<std::vector<std::int64_t>>("label");
  const auto predicted = r.get<std::vector<std::int64_t>>("predicted");
  const auto bytes = core::base64Decode(r.get<std::string>("probabilities_f32le_base64"),
                                        r.origin() + ": " + r.where("probabilities_f32le_base64"));
  const std::size_t n = indices.size();
  if (ids.size() != n || labels.size() != n || predicted.size() != n) {
    r.fail("sample_index", "as long as sample_id, label and predicted");
  }
  if (bytes.size() != n * classes * sizeof(float)) {
    r.fail("probabilities_f32le_base64",
           fmt::format("{} samples x {} classes of float32 ({} bytes), not {} bytes", n, classes,
                       n * classes * sizeof(float), bytes.size()));
  }
  std::vector<Prediction> samples(n);
  for (std::size_t i = 0; i < n; ++i) {
    samples[i] = {indices[i], ids[i], labels[i], predicted[i], std::vector<float>(classes)};
    std::memcpy(samples[i].probabilities.data(), bytes.data() + i * classes * sizeof(float),
                classes * sizeof(float));
  }
  return {split, std::move(samples)};
}

template <typename T, typename Read>
std::vector<T> readList(const Reader& r, const char* key, Read read) {
  std::vector<T> items;
  const auto& list = r.array(key);
  for (std::size_t i = 0; i < list.size(); ++i) items.push_back(read(r.element(key, i, list[i])));
  return items;
}

}  // namespace

RunArchive archiveRun(const SqliteStore& store, const std::string& id_or_prefix) {
  const RunRow row = store.getRun(id_or_prefix);
  if (row.record.status != RunStatus::Finished) {
    throw StoreError(fmt::format("{}: run {} is {}, not finished: nothing final to archive",
                                 store.path(), row.record.id, statusName(row.record.status)));
  }
  return snapshotRun(store, row.record.id);
}

RunArchive snapshotRun(const SqliteStore& store, const std::string& id_or_prefix) {
  RunRow row = store.getRun(id_or_prefix);
  const std::string& id = row.record.id;
  RunArchive archive;
  if (auto info = store.experimentInfo(row.record.experiment)) {
    archive.experiment = std::move(*info);
  } else {
    archive.experiment.name = row.record.experiment;
  }
  archive.members = store.ensembleMembers(id);
  archive.epochs = store.epochs(id);
  archive.phases = store.phases(id);
  archive.splits = store.splitMetrics(id);
  for (const auto& split : archive.splits) {
    archive.predictions.emplace_back(split.split, store.predictions(id, split.split));
  }
  archive.record = std::move(row.record);
  archive.summary = row.summary;
  return archive;
}

std::string runArchiveJson(const RunArchive& archive) {
  Json epochs = Json::array(), phases = Json::array(), splits = Json::array(),
       predictions = Json::array();
  Json members = Json::array();
  for (const auto& m : archive.members) members.push_back({m.run_id, m.weight});
  for (const auto& e : archive.epochs) epochs.push_back(epochJson(e));
  for (const auto& p : archive.phases) phases.push_back(phaseJson(p));
  for (const auto& s : archive.splits) splits.push_back(splitJson(s));
  for (const auto& [split, samples] : archive.predictions) {
    predictions.push_back(predictionsJson(split, samples));
  }
  const Json json = {{"format", kFormat},
                     {"version", kVersion},
                     {"experiment",
                      {{"name", archive.experiment.name},
                       {"source", archive.experiment.source},
                       {"grid_keys", archive.experiment.grid_keys}}},
                     {"run", recordJson(archive.record)},
                     {"summary", summaryJson(archive.summary)},
                     {"members", members},
                     {"epochs", epochs},
                     {"phases", phases},
                     {"splits", splits},
                     {"predictions", predictions}};
  return json.dump(1) + "\n";
}

void writeRunArchive(const std::string& path, const RunArchive& archive) {
  core::writeFileAtomically(path, core::gzipCompress(runArchiveJson(archive)));
}

RunArchive readRunArchive(const std::string& path) {
  const std::string text = core::gzipDecompress(core::readFileBytes(path), path);
  const Json json = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) throw DataError(fmt::format("{}: not valid JSON", path));
  const Reader top(json, path, "");
  if (top.get<std::string>("format") != kFormat)
    top.fail("format", std::string("\"") + kFormat + "\"");
  const int version = top.get<int>("version");
  if (version != kVersion) {
    throw DataError(fmt::format("{}: run archive version {}; this FERLab reads version {}", path,
                                version, kVersion));
  }
  RunArchive archive;
  const Reader experiment = top.object("experiment");
  archive.experiment.name = experiment.get<std::string>("name");
  archive.experiment.source = experiment.get<std::string>("source");
  archive.experiment.grid_keys = experiment.get<std::vector<std::string>>("grid_keys");
  archive.record = readRecord(top.object("run"));
  archive.summary = readSummary(top.object("summary"));
  for (const auto& item : top.array("members")) {
    if (!item.is_array() || item.size() != 2 || !item[0].is_string() || !item[1].is_number()) {
      top.fail("members", "a list of [run id, weight] pairs");
    }
    archive.members.push_back({item[0].get<std::string>(), item[1].get<double>()});
  }
  archive.epochs = readList<EpochRecord>(top, "epochs", readEpoch);
  archive.phases = readList<PhaseRecord>(top, "phases", readPhase);
  archive.splits = readList<SplitMetrics>(top, "splits", readSplit);
  archive.predictions = readList<std::pair<std::string, std::vector<Prediction>>>(
      top, "predictions", readPredictions);
  validateRunArchive(archive, path);
  return archive;
}

void validateRunArchive(const RunArchive& archive, const std::string& origin) {
  const auto& run = archive.record;
  if (run.id.empty()) throw DataError(fmt::format("{}: run archive key 'run.id' is empty", origin));
  if (run.experiment.empty() || run.experiment != archive.experiment.name) {
    throw DataError(
        fmt::format("{}: run archive key 'run.experiment' ('{}') must name the "
                    "archive's experiment ('{}')",
                    origin, run.experiment, archive.experiment.name));
  }
  if (run.status != RunStatus::Finished) {
    throw DataError(
        fmt::format("{}: run archive key 'run.status' is '{}'; only finished runs are "
                    "archived",
                    origin, statusName(run.status)));
  }
  for (const auto& split : archive.splits) {
    const auto k = static_cast<std::size_t>(std::llround(std::sqrt(split.confusion.size())));
    if (k * k != split.confusion.size() || k != split.classes.size()) {
      throw DataError(fmt::format("{}: run archive split '{}': {} confusion cells for {} classes",
                                  origin, split.split, split.confusion.size(),
                                  split.classes.size()));
    }
  }
}

}  // namespace ferlab::tracking
