// `ferlab export` end to end through the real binary on a store of fake runs.

#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/cli/CliFixture.h"

namespace ferlab::clitest {
namespace {

using Records = std::vector<std::vector<std::string>>;

// A strict RFC 4180 reader: CRLF line ends, quoted fields with doubled quotes. Fails the
// test on anything else, so the writer's quoting is checked too.
Records parseCsv(const std::string& text) {
  Records records(1, std::vector<std::string>(1));
  bool quoted = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    std::string& field = records.back().back();
    if (quoted) {
      if (c != '"') {
        field += c;
      } else if (i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else {
        quoted = false;
      }
    } else if (c == '"') {
      EXPECT_TRUE(field.empty()) << "quote inside an unquoted field at byte " << i;
      quoted = true;
    } else if (c == ',') {
      records.back().emplace_back();
    } else if (c == '\r') {
      EXPECT_TRUE(i + 1 < text.size() && text[i + 1] == '\n') << "bare CR at byte " << i;
      ++i;
      records.emplace_back(1);
    } else {
      EXPECT_NE(c, '\n') << "bare LF at byte " << i;
      field += c;
    }
  }
  EXPECT_FALSE(quoted) << "unterminated quoted field";
  EXPECT_EQ(records.back(), std::vector<std::string>(1)) << "last record lacks CRLF";
  records.pop_back();
  return records;
}

std::size_t columnOf(const std::vector<std::string>& header, const std::string& name) {
  for (std::size_t i = 0; i < header.size(); ++i) {
    if (header[i] == name) return i;
  }
  ADD_FAILURE() << "no column " << name;
  return 0;
}

class ExportCommandTest : public CliStoreTest {};

TEST_F(ExportCommandTest, RunsCsvHasOneRowPerRunWithParamsSummaryAndProvenance) {
  const auto result = runFerlab("export --format csv" + dbArg(), false);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const Records records = parseCsv(result.output);
  ASSERT_EQ(records.size(), 1u + 4u);  // header + 4 runs
  const auto& header = records[0];
  EXPECT_EQ(std::vector<std::string>(header.begin(), header.begin() + 4),
            (std::vector<std::string>{"id", "experiment", "name", "status"}));
  for (const auto& record : records) ASSERT_EQ(record.size(), header.size());
  for (const char* column : {"train.lr", "model.name", "test_accuracy", "best_val_accuracy",
                             "git_commit", "device", "precision", "seed", "config_hash"}) {
    columnOf(header, column);
  }
  // Store order: experiment, then grid order.
  EXPECT_EQ(records[1][0], "c00000000001");
  EXPECT_EQ(records[4][0], "d00000000001");
  EXPECT_EQ(records[4][columnOf(header, "name")], kAwkwardName);  // quoting round-trips
  EXPECT_EQ(records[2][columnOf(header, "train.lr")], "0.01");
  EXPECT_EQ(records[3][columnOf(header, "status")], "failed");
  EXPECT_EQ(records[3][columnOf(header, "test_accuracy")], "");  // unknown: empty cell
  EXPECT_DOUBLE_EQ(std::stod(records[1][columnOf(header, "test_accuracy")]), 31.0 / 40.0);
  EXPECT_EQ(records[1][columnOf(header, "git_commit")], "0123456789abcdef0123456789abcdef01234567");
}

TEST_F(ExportCommandTest, RunsJsonParsesWithNullsForUnknownValues) {
  const auto result = runFerlab("export --format json" + dbArg(), false);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const auto runs = nlohmann::json::parse(result.output);
  ASSERT_TRUE(runs.is_array());
  ASSERT_EQ(runs.size(), 4u);
  EXPECT_EQ(runs[0]["id"], "c00000000001");
  EXPECT_EQ(runs[0]["params"]["train.lr"], "0.001");
  EXPECT_DOUBLE_EQ(runs[0]["test_accuracy"].get<double>(), 31.0 / 40.0);
  EXPECT_EQ(runs[2]["status"], "failed");
  EXPECT_TRUE(runs[2]["test_accuracy"].is_null());
  EXPECT_EQ(runs[2]["error"], "loss is NaN");
  EXPECT_EQ(runs[3]["name"], kAwkwardName);
}

TEST_F(ExportCommandTest, WhereExperimentAndRunPrefixSelectRuns) {
  auto count = [](const std::string& selection) {
    const auto result = runFerlab("export --format json " + selection + dbArg(), false);
    EXPECT_EQ(result.exit_code, 0) << selection << ": " << result.output;
    return nlohmann::json::parse(result.output).size();
  };
  EXPECT_EQ(count("--where train.lr=0.01"), 1u);
  EXPECT_EQ(count("--where train.lr=1e-2"), 1u);  // numbers compare numerically
  EXPECT_EQ(count("--where train.lr=0.001 --experiment grid"), 1u);
  EXPECT_EQ(count("--where status=failed"), 1u);
  EXPECT_EQ(count("--where status=finished --where train.lr=0.001"), 2u);
  EXPECT_EQ(count("--experiment other --experiment nosuch"), 1u);
  EXPECT_EQ(count("c00000000002 d0000"), 2u);  // ids and unique prefixes
  EXPECT_EQ(count("--where train.lr=5"), 0u);  // empty selection: valid, empty output
  // A key no run has selects nothing, with a warning naming it.
  const auto typo = runFerlab("export --where lr=0.01" + dbArg());
  EXPECT_EQ(typo.exit_code, 0);
  EXPECT_NE(typo.output.find("no run in " + db() + " has the key 'lr'"), std::string::npos)
      << typo.output;
}

TEST_F(ExportCommandTest, EpochsHaveOneRowPerRunAndEpochWithClassCounts) {
  const auto result = runFerlab("export --what epochs --experiment grid" + dbArg(), false);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const Records records = parseCsv(result.output);
  ASSERT_EQ(records.size(), 1u + 3u + 2u + 1u);  // header + the runs' 3, 2 and 1 epochs
  const auto& header = records[0];
  EXPECT_EQ(records[1][columnOf(header, "run_id")], "c00000000001");
  EXPECT_EQ(records[3][columnOf(header, "epoch")], "3");
  EXPECT_EQ(records[3][columnOf(header, "phase")], "finetune");
  EXPECT_EQ(records[1][columnOf(header, "class_count_0")], "100");
  EXPECT_EQ(records[1][columnOf(header, "class_count_6")], "105");

  const auto json = runFerlab("export --what epochs --format json c00000000002" + dbArg(), false);
  ASSERT_EQ(json.exit_code, 0) << json.output;
  const auto epochs = nlohmann::json::parse(json.output);
  ASSERT_EQ(epochs.size(), 2u);
  EXPECT_EQ(epochs[1]["class_count"], nlohmann::json({100, 10, 90, 120, 95, 80, 105}));
}

TEST_F(ExportCommandTest, PredictionsHaveOneRowPerSampleToAFile) {
  const auto path = dir_ / "predictions.json";
  const auto result = runFerlab("export --what predictions --format json -o " + path.string() +
                                " c00000000001" + dbArg());
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const auto rows = nlohmann::json::parse(readFile(path));
  ASSERT_EQ(rows.size(), 2u * kTestSamples);  // PublicTest and PrivateTest
  EXPECT_EQ(rows[0]["split"], "PublicTest");
  EXPECT_EQ(rows[kTestSamples]["split"], "PrivateTest");
  EXPECT_EQ(rows[0]["probability"].size(), static_cast<std::size_t>(kClasses));
  EXPECT_EQ(rows[39]["label"], 39 % kClasses);
  EXPECT_EQ(rows[39]["predicted"], (39 % kClasses + 1) % kClasses);  // beyond the 31 right

  const auto csv = runFerlab("export --what predictions c00000000001" + dbArg(), false);
  ASSERT_EQ(csv.exit_code, 0);
  const Records records = parseCsv(csv.output);
  ASSERT_EQ(records.size(), 1u + 2u * kTestSamples);
  EXPECT_EQ(records[0].back(), "probability_6");
  EXPECT_FLOAT_EQ(std::stof(records[1][columnOf(records[0], "probability_0")]), 0.7f);
}

TEST_F(ExportCommandTest, BadArgumentsFailWithOneClearLine) {
  const auto where = runFerlab("export --where train.lr" + dbArg());
  EXPECT_EQ(where.exit_code, 2);
  EXPECT_NE(where.output.find("--where 'train.lr': expected key=value"), std::string::npos)
      << where.output;
  const auto format = runFerlab("export --format xml" + dbArg());
  EXPECT_EQ(format.exit_code, 2);
  EXPECT_NE(format.output.find("--format 'xml'"), std::string::npos) << format.output;
  const auto what = runFerlab("export --what models" + dbArg());
  EXPECT_EQ(what.exit_code, 2);
  const auto unknown = runFerlab("export ffffffff" + dbArg());
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.output.find("ffffffff"), std::string::npos) << unknown.output;
  const auto ambiguous = runFerlab("export c0000" + dbArg());  // three runs share it
  EXPECT_EQ(ambiguous.exit_code, 1) << ambiguous.output;
  const auto unwritable = runFerlab("export -o " + (dir_ / "missing" / "x.csv").string() + dbArg());
  EXPECT_EQ(unwritable.exit_code, 1);
  EXPECT_NE(unwritable.output.find("missing/x.csv"), std::string::npos) << unwritable.output;
}

}  // namespace
}  // namespace ferlab::clitest
