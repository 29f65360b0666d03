// `ferlab ensemble`'s library side (report/Ensemble.h) on a real store of fake finished runs:
// an ensemble of one is its run, probabilities are the weighted mean of the members', greedy
// selection never reads PrivateTest, and bad requests fail with a clear, typed error.

#include "framework/report/Ensemble.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "framework/core/Errors.h"
#include "framework/report/Statistics.h"

namespace ferlab::report {
namespace {

namespace fs = std::filesystem;
using tracking::Prediction;
using tracking::RunRow;
using tracking::SplitMetrics;

constexpr int kClasses = 3;
constexpr int kSamples = 30;
const std::vector<std::string> kNames = {"angry", "happy", "neutral"};

/// Probabilities of one run on one split: `right[i]` for sample i's label, the rest over the
/// other classes. Labels are i % kClasses; sample indices start at `first`.
struct FakeSplit {
  std::int64_t first = 0;
  std::vector<float> right;
  std::int64_t label_offset = 0;  ///< shifts every label (to fake mislabelled samples)
};

std::vector<Prediction> predictionsOf(const FakeSplit& split, const std::string& prefix) {
  std::vector<Prediction> out;
  for (std::size_t i = 0; i < split.right.size(); ++i) {
    Prediction p;
    p.sample_index = split.first + static_cast<std::int64_t>(i);
    p.sample_id = prefix + "/" + std::to_string(i) + ".png";
    p.label = (static_cast<std::int64_t>(i) + split.label_offset) % kClasses;
    // The rest: 60% to the next class, 40% to the last, so no two classes tie.
    const float rest = 1 - split.right[i];
    const std::int64_t next = (p.label + 1) % kClasses;
    p.probabilities.assign(kClasses, 0.4f * rest);
    p.probabilities[next] = 0.6f * rest;
    p.probabilities[p.label] = split.right[i];
    p.predicted = split.right[i] > 0.6f * rest ? p.label : next;
    out.push_back(std::move(p));
  }
  return out;
}

/// Split metrics of stored predictions, computed here independently of the library.
SplitMetrics metricsOf(const std::string& name, const std::vector<Prediction>& predictions) {
  SplitMetrics m;
  m.split = name;
  m.confusion.assign(kClasses * kClasses, 0);
  std::vector<std::int64_t> labels, predicted;
  for (const Prediction& p : predictions) {
    ++m.confusion[p.label * kClasses + p.predicted];
    labels.push_back(p.label);
    predicted.push_back(p.predicted);
    m.loss -= std::log(static_cast<double>(p.probabilities[p.label])) / predictions.size();
  }
  m.accuracy = accuracy(labels, predicted);
  m.macro_f1 = macroF1(labels, predicted, kClasses);
  for (int c = 0; c < kClasses; ++c) {
    std::int64_t support = 0, chosen = 0;
    for (int o = 0; o < kClasses; ++o) {
      support += m.confusion[c * kClasses + o];
      chosen += m.confusion[o * kClasses + c];
    }
    const double tp = static_cast<double>(m.confusion[c * kClasses + c]);
    const double precision = chosen ? tp / chosen : 0, recall = support ? tp / support : 0;
    m.classes.push_back({kNames[c], precision, recall,
                         precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0,
                         support});
  }
  return m;
}

/// `right` probabilities where sample i is right (0.9) or wrong (0.2): right on samples in
/// [from, to).
std::vector<float> rightOn(int from, int to, int n = kSamples) {
  std::vector<float> right;
  for (int i = 0; i < n; ++i) right.push_back(i >= from && i < to ? 0.9f : 0.2f);
  return right;
}

class EnsembleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        fs::temp_directory_path() / ("ferlab-ensemble-" + std::to_string(std::random_device()()));
    fs::create_directories(dir_);
    store_ = std::make_unique<tracking::SqliteStore>((dir_ / "ferlab.db").string());
  }
  void TearDown() override {
    store_.reset();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  /// A finished run with the given PublicTest and PrivateTest predictions.
  void addRun(const std::string& id, const std::string& experiment, const FakeSplit& val,
              const FakeSplit& test) {
    tracking::RunRecord run;
    run.id = id;
    run.experiment = experiment;
    run.name = experiment + "[" + id + "]";
    run.grid_index = static_cast<int>(store_->listRuns(experiment).size());
    run.config_json = R"({"data":{"eval_subset":1.0}})";
    run.params = {{"train.seed", id}};
    run.dataset_key = "cafe";
    store_->ensureRun(run);
    store_->markRunning(run);
    finish(id, val, test);
  }
  void finish(const std::string& id, const FakeSplit& val, const FakeSplit& test) {
    const auto v = predictionsOf(val, "val"), t = predictionsOf(test, "test");
    tracking::RunSummary summary;
    summary.best_epoch = 1;
    summary.best_val_accuracy = metricsOf("PublicTest", v).accuracy;
    summary.test_accuracy = metricsOf("PrivateTest", t).accuracy;
    store_->finishRun(id, summary, {metricsOf("PublicTest", v), metricsOf("PrivateTest", t)},
                      {{"PublicTest", v}, {"PrivateTest", t}});
  }
  void addUnfinished(const std::string& id, const std::string& experiment, bool failed) {
    tracking::RunRecord run;
    run.id = id;
    run.experiment = experiment;
    run.name = experiment + "[" + id + "]";
    run.grid_index = 99;
    store_->ensureRun(run);
    store_->markRunning(run);
    if (failed) store_->failRun(id, "loss is NaN");
  }

  EnsembleOutcome build(std::vector<std::string> runs, SelectionMethod method,
                        const std::string& name = "ens") {
    EnsembleRequest request;
    request.runs = std::move(runs);
    request.method = method;
    request.name = name;
    return buildEnsemble(*store_, request);
  }

  /// The message of the Error `call` throws as type E; fails when it throws nothing or else.
  template <typename E, typename Call>
  std::string errorOf(const Call& call) {
    try {
      call();
    } catch (const E& error) {
      return error.what();
    } catch (const std::exception& error) {
      ADD_FAILURE() << "unexpected exception type: " << error.what();
      return "";
    }
    ADD_FAILURE() << "nothing thrown";
    return "";
  }

  fs::path dir_;
  std::unique_ptr<tracking::SqliteStore> store_;
};

void expectSameSplit(const SplitMetrics& a, const SplitMetrics& b) {
  EXPECT_EQ(a.split, b.split);
  EXPECT_NEAR(a.loss, b.loss, 1e-9);
  EXPECT_DOUBLE_EQ(a.accuracy, b.accuracy);
  EXPECT_DOUBLE_EQ(a.macro_f1, b.macro_f1);
  EXPECT_EQ(a.confusion, b.confusion);
  ASSERT_EQ(a.classes.size(), b.classes.size());
  for (std::size_t c = 0; c < a.classes.size(); ++c) {
    EXPECT_EQ(a.classes[c].name, b.classes[c].name);
    EXPECT_DOUBLE_EQ(a.classes[c].precision, b.classes[c].precision);
    EXPECT_DOUBLE_EQ(a.classes[c].recall, b.classes[c].recall);
    EXPECT_DOUBLE_EQ(a.classes[c].f1, b.classes[c].f1);
    EXPECT_EQ(a.classes[c].support, b.classes[c].support);
  }
}

TEST_F(EnsembleTest, AnEnsembleOfOneIsItsRun) {
  addRun("a1", "grid", {1000, rightOn(0, 20)}, {5000, rightOn(5, 17)});
  for (const SelectionMethod method : {SelectionMethod::Greedy, SelectionMethod::All}) {
    const EnsembleOutcome outcome = build({"a1"}, method, selectionMethodName(method));
    const std::string& id = outcome.run.record.id;
    ASSERT_EQ(outcome.members.size(), 1u);
    EXPECT_EQ(outcome.members[0].run_id, "a1");
    EXPECT_DOUBLE_EQ(outcome.members[0].weight, 1.0);
    for (const std::string split : {"PublicTest", "PrivateTest"}) {
      const auto mine = store_->predictions(id, split), theirs = store_->predictions("a1", split);
      ASSERT_EQ(mine.size(), theirs.size());
      for (std::size_t i = 0; i < mine.size(); ++i) {
        EXPECT_EQ(mine[i].sample_index, theirs[i].sample_index);
        EXPECT_EQ(mine[i].sample_id, theirs[i].sample_id);
        EXPECT_EQ(mine[i].label, theirs[i].label);
        EXPECT_EQ(mine[i].predicted, theirs[i].predicted);
        EXPECT_EQ(mine[i].probabilities, theirs[i].probabilities);  // bit for bit
      }
    }
    const auto mine = store_->splitMetrics(id), theirs = store_->splitMetrics("a1");
    ASSERT_EQ(mine.size(), 2u);
    expectSameSplit(mine[0], theirs[0]);
    expectSameSplit(mine[1], theirs[1]);
    const RunRow member = store_->getRun("a1");
    EXPECT_DOUBLE_EQ(outcome.run.summary.best_val_accuracy, member.summary.best_val_accuracy);
    EXPECT_DOUBLE_EQ(outcome.run.summary.test_accuracy, member.summary.test_accuracy);
    EXPECT_EQ(outcome.run.record.kind, tracking::RunKind::Ensemble);
    EXPECT_EQ(outcome.run.record.status, tracking::RunStatus::Finished);
    EXPECT_EQ(outcome.run.record.experiment, "grid");
    EXPECT_EQ(outcome.run.record.dataset_key, "cafe");
    EXPECT_TRUE(store_->epochs(id).empty());
  }
}

TEST_F(EnsembleTest, ProbabilitiesAreTheMembersWeightedMean) {
  addRun("a1", "grid", {0, rightOn(0, 12)}, {100, rightOn(0, 15)});
  addRun("a2", "grid", {0, rightOn(10, 22)}, {100, rightOn(10, 25)});
  addRun("a3", "grid", {0, rightOn(18, 30)}, {100, rightOn(20, 30)});
  for (const SelectionMethod method : {SelectionMethod::All, SelectionMethod::Greedy}) {
    const EnsembleOutcome outcome = build({"a1", "a2", "a3"}, method, selectionMethodName(method));
    if (method == SelectionMethod::All) {
      ASSERT_EQ(outcome.members.size(), 3u);
      for (const auto& member : outcome.members) EXPECT_DOUBLE_EQ(member.weight, 1.0 / 3);
    }
    const auto members = store_->ensembleMembers(outcome.run.record.id);
    ASSERT_EQ(members.size(), outcome.members.size());
    for (const std::string split : {"PublicTest", "PrivateTest"}) {
      const auto mine = store_->predictions(outcome.run.record.id, split);
      ASSERT_EQ(mine.size(), static_cast<std::size_t>(kSamples));
      std::vector<std::vector<Prediction>> theirs;
      for (const auto& member : members)
        theirs.push_back(store_->predictions(member.run_id, split));
      std::int64_t right = 0;
      for (std::size_t i = 0; i < mine.size(); ++i) {
        for (int c = 0; c < kClasses; ++c) {
          double expected = 0;
          for (std::size_t m = 0; m < members.size(); ++m)
            expected += members[m].weight * theirs[m][i].probabilities[c];
          EXPECT_NEAR(mine[i].probabilities[c], expected, 1e-6) << split << " " << i;
        }
        right += mine[i].predicted == mine[i].label;
      }
      const double accuracy = static_cast<double>(right) / kSamples;
      EXPECT_DOUBLE_EQ(split == "PublicTest" ? outcome.run.summary.best_val_accuracy
                                             : outcome.run.summary.test_accuracy,
                       accuracy);
    }
  }
}

TEST_F(EnsembleTest, GreedyBeatsTheBestSingleRunWithTwoComplementaryRuns) {
  addRun("a1", "grid", {0, rightOn(0, 18)}, {100, rightOn(0, 18)});    // 60% alone
  addRun("a2", "grid", {0, rightOn(12, 30)}, {100, rightOn(12, 30)});  // 60% alone
  addRun("a3", "grid", {0, rightOn(3, 19)}, {100, rightOn(3, 19)});    // a weaker decoy
  const EnsembleOutcome outcome = build({"a1", "a2", "a3"}, SelectionMethod::Greedy);
  // Together right everywhere: (0.9 + 0.2) / 2 for the label beats (0.06 + 0.48) / 2.
  EXPECT_DOUBLE_EQ(outcome.run.summary.best_val_accuracy, 1.0);
  for (const auto& candidate : outcome.candidates)
    EXPECT_GE(outcome.run.summary.best_val_accuracy, candidate.summary.best_val_accuracy);
  std::vector<std::string> ids;
  for (const auto& member : outcome.members) ids.push_back(member.run_id);
  EXPECT_NE(std::find(ids.begin(), ids.end(), "a1"), ids.end());
  EXPECT_NE(std::find(ids.begin(), ids.end(), "a2"), ids.end());
}

TEST_F(EnsembleTest, GreedySelectionNeverReadsPrivateTest) {
  addRun("a1", "grid", {0, rightOn(0, 18)}, {100, rightOn(0, 18)});
  addRun("a2", "grid", {0, rightOn(12, 30)}, {100, rightOn(12, 30)});
  addRun("a3", "grid", {0, rightOn(3, 19)}, {100, rightOn(3, 19)});
  const EnsembleOutcome before = build({"a1", "a2", "a3"}, SelectionMethod::Greedy);
  // Rewrite every run's PrivateTest (PublicTest unchanged): the decoy becomes perfect on it,
  // the others useless, and the samples are scored in another order of confidence.
  finish("a1", {0, rightOn(0, 18)}, {100, rightOn(0, 0)});
  finish("a2", {0, rightOn(12, 30)}, {100, rightOn(29, 30)});
  finish("a3", {0, rightOn(3, 19)}, {100, rightOn(0, 30)});
  const EnsembleOutcome after = build({"a1", "a2", "a3"}, SelectionMethod::Greedy);
  EXPECT_EQ(after.selection.picks, before.selection.picks);
  EXPECT_EQ(after.selection.weights, before.selection.weights);
  ASSERT_EQ(after.members.size(), before.members.size());
  for (std::size_t m = 0; m < after.members.size(); ++m) {
    EXPECT_EQ(after.members[m].run_id, before.members[m].run_id);
    EXPECT_EQ(after.members[m].weight, before.members[m].weight);
  }
  EXPECT_EQ(after.run.record.id, before.run.record.id);  // same choice, same run
  EXPECT_DOUBLE_EQ(after.run.summary.best_val_accuracy, before.run.summary.best_val_accuracy);
  EXPECT_NE(after.run.summary.test_accuracy, before.run.summary.test_accuracy);
  EXPECT_EQ(store_->listRuns("grid").size(), 4u);  // replaced, not duplicated
}

TEST_F(EnsembleTest, ExperimentModeLeavesOutUnfinishedRunsAndOtherEnsembles) {
  addRun("a1", "grid", {0, rightOn(0, 18)}, {100, rightOn(0, 18)});
  addRun("a2", "grid", {0, rightOn(12, 30)}, {100, rightOn(12, 30)});
  addUnfinished("a3", "grid", true);
  addUnfinished("a4", "grid", false);
  tracking::RunRecord bare;  // finished, recorded without predictions (an older FERLab)
  bare.id = "bare";
  bare.experiment = "grid";
  bare.name = "bare";
  bare.grid_index = 100;
  store_->ensureRun(bare);
  store_->finishRun("bare", {}, {}, {});
  build({"a1"}, SelectionMethod::All, "solo");  // an ensemble in grid: never a candidate
  EnsembleRequest request;
  request.experiment = "grid";
  request.name = "grid-greedy";
  const EnsembleOutcome first = buildEnsemble(*store_, request);
  ASSERT_EQ(first.candidates.size(), 2u);
  EXPECT_EQ(first.left_out,
            (std::vector<std::string>{"a3 (failed, not finished)", "a4 (running, not finished)",
                                      "bare (no stored predictions)"}));
  EXPECT_EQ(first.run.record.experiment, "grid");
  EXPECT_EQ(first.run.record.name, "grid-greedy");
  EXPECT_EQ(first.run.record.id, ensembleRunId("grid-greedy", first.members));
  const EnsembleOutcome again = buildEnsemble(*store_, request);  // idempotent
  EXPECT_EQ(again.run.record.id, first.run.record.id);
  const auto runs = store_->listRuns("grid");
  EXPECT_EQ(runs.size(), 7u);  // 5 trained + 2 ensembles, listed last
  EXPECT_EQ(runs[5].record.kind, tracking::RunKind::Ensemble);
  EXPECT_EQ(runs[6].record.kind, tracking::RunKind::Ensemble);
  EXPECT_NE(ensembleRunId("other", first.members), first.run.record.id);
}

TEST_F(EnsembleTest, RunsOfSeveralExperimentsGetAnExperimentOfTheirOwn) {
  addRun("a1", "grid", {0, rightOn(0, 18)}, {100, rightOn(0, 18)});
  addRun("b1", "other", {0, rightOn(12, 30)}, {100, rightOn(12, 30)});
  const EnsembleOutcome outcome = build({"a1", "b1"}, SelectionMethod::All, "mixed");
  EXPECT_EQ(outcome.run.record.experiment, "mixed");
  EXPECT_EQ(store_->listRuns("mixed").size(), 1u);
}

TEST_F(EnsembleTest, BadRequestsFailWithAClearTypedError) {
  addRun("a1", "grid", {0, rightOn(0, 18)}, {100, rightOn(0, 18)});
  addRun("a2", "grid", {0, rightOn(12, 30)}, {100, rightOn(12, 30)});
  addUnfinished("a3", "grid", true);
  const auto greedy = [&](std::vector<std::string> runs) {
    return [this, runs] { build(runs, SelectionMethod::Greedy); };
  };
  EXPECT_NE(errorOf<StoreError>(greedy({"a1", "zz"})).find("no run matches 'zz'"),
            std::string::npos);
  EXPECT_NE(errorOf<StoreError>(greedy({"a"})).find("ambiguous"), std::string::npos);
  const std::string failed = errorOf<StoreError>(greedy({"a1", "a3"}));
  EXPECT_NE(failed.find("run a3"), std::string::npos) << failed;
  EXPECT_NE(failed.find("failed, not finished"), std::string::npos) << failed;
  EXPECT_NE(errorOf<UsageError>(greedy({"a1", "a1"})).find("given twice"), std::string::npos);
  EXPECT_NE(errorOf<UsageError>(greedy({})).find("not both"), std::string::npos);
  EXPECT_NE(errorOf<UsageError>([&] { build({"a1"}, SelectionMethod::All, ""); }).find("--name"),
            std::string::npos);
  EnsembleRequest both;
  both.runs = {"a1"};
  both.experiment = "grid";
  both.name = "x";
  errorOf<UsageError>([&] { buildEnsemble(*store_, both); });
  EnsembleRequest nothing;
  nothing.experiment = "nonexistent";
  nothing.name = "x";
  EXPECT_NE(errorOf<StoreError>([&] { buildEnsemble(*store_, nothing); }).find("no runs"),
            std::string::npos);
  const std::string ensemble_id = build({"a1"}, SelectionMethod::All, "solo").run.record.id;
  EXPECT_NE(errorOf<StoreError>(greedy({"a1", ensemble_id})).find("is an ensemble itself"),
            std::string::npos);
  EXPECT_EQ(store_->listRuns().size(), 4u);  // nothing recorded by the failures
}

TEST_F(EnsembleTest, RunsThatDisagreeOnTheirSamplesAreNamed) {
  addRun("a1", "grid", {0, rightOn(0, 18)}, {100, rightOn(0, 18)});
  addRun("moved", "grid", {1, rightOn(0, 18)}, {100, rightOn(0, 18)});  // shifted PublicTest
  addRun("fewer", "grid", {0, rightOn(0, 18, 20)}, {100, rightOn(0, 18)});
  addRun("relabelled", "grid", {0, rightOn(0, 18)}, {100, rightOn(0, 18), 1});  // PrivateTest
  const auto greedy = [&](std::vector<std::string> runs) {
    return [this, runs] { build(runs, SelectionMethod::Greedy); };
  };
  const std::string moved = errorOf<DataError>(greedy({"a1", "moved"}));
  EXPECT_NE(moved.find("run moved"), std::string::npos) << moved;
  EXPECT_NE(moved.find("PublicTest samples differ"), std::string::npos) << moved;
  const std::string fewer = errorOf<DataError>(greedy({"a1", "fewer"}));
  EXPECT_NE(fewer.find("run fewer"), std::string::npos) << fewer;
  EXPECT_NE(fewer.find("has 20 PublicTest predictions"), std::string::npos) << fewer;
  const std::string relabelled = errorOf<DataError>(greedy({"a1", "relabelled"}));
  EXPECT_NE(relabelled.find("run relabelled"), std::string::npos) << relabelled;
  EXPECT_NE(relabelled.find("PrivateTest sample 100 is labelled 1"), std::string::npos)
      << relabelled;

  // Another number of classes.
  tracking::RunRecord wide;
  wide.id = "wide";
  wide.experiment = "grid";
  wide.name = "wide";
  store_->ensureRun(wide);
  auto val = predictionsOf({0, rightOn(0, 18)}, "val");
  for (auto& p : val) p.probabilities.push_back(0.0f);
  store_->finishRun("wide", {}, {}, {{"PublicTest", val}, {"PrivateTest", val}});
  const std::string classes = errorOf<DataError>(greedy({"a1", "wide"}));
  EXPECT_NE(classes.find("run wide (wide) has 4 classes"), std::string::npos) << classes;

  // No stored predictions at all.
  tracking::RunRecord bare;
  bare.id = "bare";
  bare.experiment = "grid";
  bare.name = "bare";
  store_->ensureRun(bare);
  store_->finishRun("bare", {}, {}, {});
  const std::string none = errorOf<StoreError>(greedy({"a1", "bare"}));
  EXPECT_NE(none.find("run bare (bare) has no stored PublicTest predictions"), std::string::npos)
      << none;
}

}  // namespace
}  // namespace ferlab::report
