// `ferlab export`: recorded runs, epoch histories or per-sample predictions as CSV (RFC 4180)
// or JSON, for analysis outside FERLab (pandas, R, spreadsheets).
//
// Rows are built as JSON objects (nlohmann::ordered_json, so column order is stable); the CSV
// writer flattens them through a column list: nested objects (a run's params) become one
// column per key ("train.lr"), arrays (class_counts, probabilities) one column per index
// ("class_count_0"). Unknown values (the store's -1) are JSON null and empty CSV cells.
// Rows are written as they are produced, so exporting predictions of many runs streams.

#include <fstream>
#include <iostream>
#include <memory>
#include <set>

#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include "framework/cli/Cli.h"
#include "framework/cli/CommandLine.h"
#include "framework/cli/SelectionOptions.h"
#include "framework/core/Errors.h"
#include "framework/core/Log.h"
#include "framework/report/RunSelection.h"
#include "framework/tracking/SqliteStore.h"

namespace ferlab::cli {
namespace {

using Row = nlohmann::ordered_json;

/// A CSV column: the value at `path` in a row, or, with `width` > 0, the entries of the array
/// at `path`, one column each (`name`_0 ... `name`_{width-1}).
struct Column {
  std::string name;
  std::vector<std::string> path;
  int width = 0;
};

// RFC 4180: a field with a comma, a double quote, CR or LF is enclosed in double quotes and
// its double quotes are doubled.
std::string csvField(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + '"';
}

std::string cellText(const Row& value) {
  if (value.is_null()) return "";
  if (value.is_string()) return value.get<std::string>();
  return value.dump();  // numbers: shortest text that reads back to the same double
}

class RowWriter {
 public:
  virtual ~RowWriter() = default;
  virtual void write(const Row& row) = 0;
  virtual void finish() = 0;
};

class CsvWriter : public RowWriter {
 public:
  CsvWriter(std::ostream& out, std::vector<Column> columns)
      : out_(out), columns_(std::move(columns)) {
    std::vector<std::string> names;
    for (const auto& column : columns_) {
      if (column.width == 0) names.push_back(column.name);
      for (int i = 0; i < column.width; ++i) names.push_back(fmt::format("{}_{}", column.name, i));
    }
    line(names);
  }
  void write(const Row& row) override {
    std::vector<std::string> cells;
    for (const auto& column : columns_) {
      const Row* value = &row;
      for (const auto& key : column.path) {
        const auto found = value->find(key);
        value = found == value->end() ? nullptr : &*found;
        if (value == nullptr) break;
      }
      if (column.width == 0) {
        cells.push_back(value == nullptr ? "" : cellText(*value));
        continue;
      }
      for (int i = 0; i < column.width; ++i) {
        const bool has =
            value != nullptr && value->is_array() && i < static_cast<int>(value->size());
        cells.push_back(has ? cellText((*value)[i]) : "");
      }
    }
    line(cells);
  }
  void finish() override {}

 private:
  void line(const std::vector<std::string>& cells) {
    for (std::size_t i = 0; i < cells.size(); ++i) out_ << (i ? "," : "") << csvField(cells[i]);
    out_ << "\r\n";  // RFC 4180 line break
  }
  std::ostream& out_;
  std::vector<Column> columns_;
};

class JsonWriter : public RowWriter {
 public:
  explicit JsonWriter(std::ostream& out) : out_(out) { out_ << "["; }
  void write(const Row& row) override {
    out_ << (first_ ? "\n  " : ",\n  ") << row.dump();
    first_ = false;
  }
  void finish() override { out_ << (first_ ? "]\n" : "\n]\n"); }

 private:
  std::ostream& out_;
  bool first_ = true;
};

Row orNull(double value) {
  return value < 0 ? Row(nullptr) : Row(value);
}
Row orNull(std::int64_t value) {
  return value < 0 ? Row(nullptr) : Row(value);
}
Row orNull(const std::string& text) {
  return text.empty() ? Row(nullptr) : Row(text);
}

Row runRow(const tracking::RunRow& run) {
  const auto& r = run.record;
  const auto& s = run.summary;
  Row params = Row::object();
  for (const auto& [key, value] : r.params) params[key] = value;
  return {{"id", r.id},
          {"experiment", r.experiment},
          {"name", r.name},
          {"status", tracking::statusName(r.status)},
          {"kind", tracking::kindName(r.kind)},
          {"grid_index", r.grid_index},
          {"params", params},
          {"best_epoch", orNull(static_cast<std::int64_t>(s.best_epoch))},
          {"best_val_accuracy", orNull(s.best_val_accuracy)},
          {"best_val_macro_f1", orNull(s.best_val_macro_f1)},
          {"best_val_loss", orNull(s.best_val_loss)},
          {"last_epoch", orNull(static_cast<std::int64_t>(s.last_epoch))},
          {"last_val_accuracy", orNull(s.last_val_accuracy)},
          {"last_train_loss", orNull(s.last_train_loss)},
          {"last_train_accuracy", orNull(s.last_train_accuracy)},
          {"test_accuracy", orNull(s.test_accuracy)},
          {"test_macro_f1", orNull(s.test_macro_f1)},
          {"images_per_sec", orNull(s.images_per_sec)},
          {"duration_s", orNull(s.duration_s)},
          {"config_hash", r.config_hash},
          {"seed", r.seed},
          {"backbone", r.backbone},
          {"pretrained", r.pretrained < 0 ? Row(nullptr) : Row(r.pretrained == 1)},
          {"weights_loaded", orNull(r.weights_loaded)},
          {"weights_total", orNull(r.weights_total)},
          {"git_commit", orNull(r.git_commit)},
          {"ferlab_version", orNull(r.ferlab_version)},
          {"torch_version", orNull(r.torch_version)},
          {"opencv_version", orNull(r.opencv_version)},
          {"device", orNull(r.device)},
          {"precision", orNull(r.precision)},
          {"dataset_key", orNull(r.dataset_key)},
          {"aligned", orNull(r.alignment.aligned)},
          {"face_only", orNull(r.alignment.face_only)},
          {"not_aligned", orNull(r.alignment.none)},
          {"started_at", orNull(r.started_at)},
          {"ended_at", orNull(r.ended_at)},
          {"error", orNull(r.error)}};
}

// Every key of runRow in order, `params` expanded to the union of the runs' param keys.
std::vector<Column> runColumns(const std::vector<tracking::RunRow>& runs) {
  std::set<std::string> keys;  // sorted, as the store sorts a run's params
  for (const auto& run : runs) {
    for (const auto& param : run.record.params) keys.insert(param.first);
  }
  std::vector<Column> columns;
  const Row layout = runRow(tracking::RunRow{});  // a named row: items() refers into it
  for (const auto& item : layout.items()) {
    if (item.key() != "params") {
      columns.push_back({item.key(), {item.key()}});
      continue;
    }
    for (const auto& key : keys) columns.push_back({key, {"params", key}});
  }
  return columns;
}

void exportRuns(const std::vector<tracking::RunRow>& runs, const std::string& format,
                std::ostream& out) {
  std::unique_ptr<RowWriter> writer;
  if (format == "csv") {
    writer = std::make_unique<CsvWriter>(out, runColumns(runs));
  } else {
    writer = std::make_unique<JsonWriter>(out);
  }
  for (const auto& run : runs) writer->write(runRow(run));
  writer->finish();
}

Row epochRow(const tracking::RunRow& run, const tracking::EpochRecord& e) {
  return {{"run_id", run.record.id},
          {"experiment", run.record.experiment},
          {"run_name", run.record.name},
          {"epoch", e.epoch},
          {"phase", e.phase},
          {"train_loss", e.train_loss},
          {"train_accuracy", e.train_accuracy},
          {"val_loss", e.val_loss},
          {"val_accuracy", e.val_accuracy},
          {"val_macro_f1", e.val_macro_f1},
          {"lr", e.lr},
          {"images_per_sec", e.images_per_sec},
          {"seconds", e.seconds},
          {"class_count", e.class_counts}};
}

void exportEpochs(const tracking::SqliteStore& store, const std::vector<tracking::RunRow>& runs,
                  const std::string& format, std::ostream& out) {
  std::vector<std::pair<const tracking::RunRow*, std::vector<tracking::EpochRecord>>> histories;
  int classes = 0;  // CSV: as many class_count_i columns as the widest epoch needs
  for (const auto& run : runs) {
    histories.emplace_back(&run, store.epochs(run.record.id));
    for (const auto& epoch : histories.back().second) {
      classes = std::max(classes, static_cast<int>(epoch.class_counts.size()));
    }
  }
  std::unique_ptr<RowWriter> writer;
  if (format == "csv") {
    std::vector<Column> columns;
    const Row layout = epochRow(tracking::RunRow{}, {});  // items() refers into it
    for (const auto& item : layout.items()) {
      columns.push_back({item.key(), {item.key()}, item.key() == "class_count" ? classes : 0});
    }
    writer = std::make_unique<CsvWriter>(out, columns);
  } else {
    writer = std::make_unique<JsonWriter>(out);
  }
  for (const auto& [run, epochs] : histories) {
    for (const auto& epoch : epochs) writer->write(epochRow(*run, epoch));
  }
  writer->finish();
}

const std::vector<std::string> kPredictionSplits = {"PublicTest", "PrivateTest"};

void exportPredictions(const tracking::SqliteStore& store,
                       const std::vector<tracking::RunRow>& runs, const std::string& format,
                       std::ostream& out) {
  std::unique_ptr<RowWriter> writer;
  if (format == "csv") {
    // The class count comes from the stored split metrics, so predictions stream run by run.
    int classes = 0;
    for (const auto& run : runs) {
      for (const auto& split : store.splitMetrics(run.record.id)) {
        classes = std::max(classes, static_cast<int>(split.classes.size()));
      }
    }
    writer = std::make_unique<CsvWriter>(
        out, std::vector<Column>{{"run_id", {"run_id"}},
                                 {"split", {"split"}},
                                 {"sample_index", {"sample_index"}},
                                 {"sample_id", {"sample_id"}},
                                 {"label", {"label"}},
                                 {"predicted", {"predicted"}},
                                 {"probability", {"probability"}, classes}});
  } else {
    writer = std::make_unique<JsonWriter>(out);
  }
  for (const auto& run : runs) {
    for (const auto& split : kPredictionSplits) {
      for (const auto& p : store.predictions(run.record.id, split)) {
        writer->write({{"run_id", run.record.id},
                       {"split", split},
                       {"sample_index", p.sample_index},
                       {"sample_id", p.sample_id},
                       {"label", p.label},
                       {"predicted", p.predicted},
                       {"probability", p.probabilities}});
      }
    }
  }
  writer->finish();
}

}  // namespace

int exportCommand(const std::vector<std::string>& args) {
  po::options_description options("options");
  po::positional_options_description positional;
  SelectionArgs selection_args;
  std::string db_path, output, format, what;
  addSelectionOptions(options, positional, selection_args);
  // One option per line reads like the --help it produces.
  // clang-format off
  options.add_options()
      ("what", po::value(&what)->default_value("runs"),
       "runs (one row per run: params, summary, provenance), epochs (one row per run and "
       "epoch) or predictions (one row per run, split and test sample)")
      ("format", po::value(&format)->default_value("csv"), "csv (RFC 4180) or json")
      ("output,o", po::value(&output), "file to write (default: standard output)")
      ("db", po::value(&db_path)->default_value(defaultDbPath()), "tracking store (SQLite)");
  // clang-format on
  po::variables_map values;
  if (!parseCommandLine(args, options, positional,
                        "usage: ferlab export [RUN...] [--experiment E]... [--where KEY=VALUE]... "
                        "[--what runs|epochs|predictions] [--format csv|json] [-o FILE] "
                        "[--db PATH]",
                        values)) {
    return 0;
  }
  if (format != "csv" && format != "json") {
    throw UsageError(fmt::format("--format '{}': expected csv or json", format));
  }
  if (what != "runs" && what != "epochs" && what != "predictions") {
    throw UsageError(fmt::format("--what '{}': expected runs, epochs or predictions", what));
  }
  const tracking::SqliteStore store(db_path, tracking::OpenMode::ReadOnly);
  const auto runs = selectRunsFromArgs(store, selection_args);
  if (runs.empty()) log::warn("no run in {} matches the selection", db_path);

  std::ofstream file;
  if (!output.empty()) {
    file.open(output, std::ios::binary);
    if (!file) throw DataError(fmt::format("{}: cannot open for writing", output));
  }
  std::ostream& out = output.empty() ? std::cout : file;
  if (what == "runs") exportRuns(runs, format, out);
  if (what == "epochs") exportEpochs(store, runs, format, out);
  if (what == "predictions") exportPredictions(store, runs, format, out);
  if (!out.flush()) {
    throw DataError(fmt::format("{}: write failed", output.empty() ? "<stdout>" : output));
  }
  if (!output.empty())
    log::info("exported {} {} of {} run(s) to {}", what, format, runs.size(), output);
  return 0;
}

}  // namespace ferlab::cli
