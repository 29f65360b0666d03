// `ferlab ensemble` end to end through the real binary on the fixture store, and the commands
// that then meet an ensemble run: ls, show, export, report, predict.

#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/cli/CliFixture.h"

namespace ferlab::clitest {
namespace {

using nlohmann::json;

class EnsembleCommandTest : public CliStoreTest {
 protected:
  /// The run id from "recorded in ... as run <id> (ferlab show <id>)".
  static std::string recordedId(const std::string& output) {
    const std::string marker = " as run ";
    const auto at = output.find(marker);
    return at == std::string::npos ? "" : output.substr(at + marker.size(), 12);
  }
};

TEST_F(EnsembleCommandTest, AnExperimentsEnsembleIsRecordedOnceAndShownLikeARun) {
  const auto result = runFerlab("ensemble --experiment grid --name grid-ens" + dbArg());
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("left out: c00000000003 (failed, not finished)"), std::string::npos)
      << result.output;
  EXPECT_NE(result.output.find("selected on PublicTest only: greedy"), std::string::npos);
  EXPECT_NE(result.output.find("PrivateTest accuracy"), std::string::npos);
  const std::string id = recordedId(result.output);
  ASSERT_EQ(id.size(), 12u) << result.output;

  const auto again = runFerlab("ensemble --experiment grid --name grid-ens" + dbArg());
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_EQ(recordedId(again.output), id);  // the same run, not a second one

  const auto ls = runFerlab("ls --json -e grid" + dbArg(), false);
  ASSERT_EQ(ls.exit_code, 0) << ls.output;
  const json runs = json::parse(ls.output);
  ASSERT_EQ(runs.size(), 4u);  // 3 trained + the ensemble, listed last
  EXPECT_EQ(runs[3]["id"], id);
  EXPECT_EQ(runs[3]["kind"], "ensemble");
  EXPECT_EQ(runs[3]["status"], "finished");
  EXPECT_EQ(runs[0]["kind"], "train");

  const auto show = runFerlab("show " + id + dbArg());
  ASSERT_EQ(show.exit_code, 0) << show.output;
  EXPECT_NE(show.output.find("ensemble of"), std::string::npos) << show.output;
  EXPECT_NE(show.output.find("chosen on PublicTest only"), std::string::npos);
  EXPECT_NE(show.output.find("c00000000001"), std::string::npos);  // the best member
  EXPECT_NE(show.output.find("PrivateTest confusion matrix"), std::string::npos);
  const auto show_json = runFerlab("show --json " + id + dbArg(), false);
  ASSERT_EQ(show_json.exit_code, 0) << show_json.output;
  const json shown = json::parse(show_json.output);
  EXPECT_EQ(shown["kind"], "ensemble");
  ASSERT_FALSE(shown["members"].empty());
  double total = 0;
  for (const auto& member : shown["members"]) total += member["weight"].get<double>();
  EXPECT_NEAR(total, 1.0, 1e-12);
  EXPECT_EQ(shown["config"]["ensemble"]["select"], "greedy");

  const auto exported = runFerlab("export --format json " + id + dbArg(), false);
  ASSERT_EQ(exported.exit_code, 0) << exported.output;
  EXPECT_EQ(json::parse(exported.output)[0]["kind"], "ensemble");

  const std::string html = (dir_ / "report.html").string();
  const auto report = runFerlab("report -e grid -o " + html + " --resamples 1000" + dbArg());
  ASSERT_EQ(report.exit_code, 0) << report.output;
  EXPECT_NE(readFile(html).find("Ensembles have no epochs"), std::string::npos);

  const std::string image = (dir_ / "face.png").string();
  std::ofstream(image) << "not really a png";
  const auto predict = runFerlab("predict --run " + id + " " + image + dbArg());
  EXPECT_EQ(predict.exit_code, 2) << predict.output;
  EXPECT_NE(predict.output.find("is an ensemble"), std::string::npos) << predict.output;
}

TEST_F(EnsembleCommandTest, RunsOfTwoExperimentsAreCombinedUnderTheEnsemblesName) {
  const auto result =
      runFerlab("ensemble c00000000001 d00000000001 --select all --name mix" + dbArg());
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("(experiment mix)"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("all 2 candidates, equal weights"), std::string::npos);
  EXPECT_NE(result.output.find("0.5000"), std::string::npos);
}

TEST_F(EnsembleCommandTest, BadRequestsPrintOneClearLine) {
  // The suite shares one store: count what the other tests may have recorded in it.
  const auto runs_before = json::parse(runFerlab("ls --json" + dbArg(), false).output).size();
  const auto unknown = runFerlab("ensemble c00000000001 zz --name x" + dbArg());
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.output.find("error: " + db() + ": no run matches 'zz'"), std::string::npos)
      << unknown.output;
  const auto failed = runFerlab("ensemble c00000000001 c00000000003 --name x" + dbArg());
  EXPECT_EQ(failed.exit_code, 1);
  EXPECT_NE(failed.output.find("run c00000000003 (grid[lr=1]) is failed, not finished"),
            std::string::npos)
      << failed.output;
  EXPECT_EQ(runFerlab("ensemble --name x" + dbArg()).exit_code, 2);      // no runs
  EXPECT_EQ(runFerlab("ensemble c00000000001" + dbArg()).exit_code, 2);  // no --name
  EXPECT_EQ(runFerlab("ensemble c00000000001 --select best --name x" + dbArg()).exit_code, 2);
  const std::string missing = (dir_ / "typo.db").string();
  const auto no_store = runFerlab("ensemble c00000000001 --name x --db " + missing);
  EXPECT_EQ(no_store.exit_code, 1);
  EXPECT_NE(no_store.output.find("no tracking store here"), std::string::npos) << no_store.output;
  EXPECT_FALSE(fs::exists(missing));
  // Nothing was recorded by the failures.
  const auto ls = runFerlab("ls --json" + dbArg(), false);
  EXPECT_EQ(json::parse(ls.output).size(), runs_before);
}

}  // namespace
}  // namespace ferlab::clitest
