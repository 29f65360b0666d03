// `ferlab ledger` end to end through the real binary: every reference declared under
// experiments/reproduce/ is listed, none of the fixture store's runs (which declare none) is.

#include <string>

#include <gtest/gtest.h>

#include "tests/cli/CliFixture.h"

namespace ferlab::clitest {
namespace {

class LedgerCommandTest : public CliStoreTest {};

int countOf(const std::string& text, const std::string& part) {
  int n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

TEST_F(LedgerCommandTest, MarkdownListsEveryDeclaredReference) {
  const auto result =
      runFerlab("ledger --format markdown --experiments " + std::string(FERLAB_SOURCE_DIR) +
                "/experiments/reproduce" + dbArg());
  ASSERT_EQ(result.exit_code, 0) << result.output;
  // 11 experiments, 12 recipes: transfer_frozen has 2 backbones (a row each, labelled by the
  // key that differs); each fine-tuned backbone has a file of its own, with one recipe.
  EXPECT_EQ(countOf(result.output, "| `reproduce_"), 12) << result.output;
  EXPECT_EQ(countOf(result.output, "not run yet"), 12) << result.output;
  EXPECT_EQ(countOf(result.output, "| `reproduce_transfer_frozen` (model.name="), 2)
      << result.output;
  for (const char* backbone : {"", "_resnet50", "_vgg16", "_xception"}) {
    EXPECT_EQ(
        countOf(result.output, "| `reproduce_transfer_finetune" + std::string(backbone) + "` |"), 1)
        << backbone << "\n"
        << result.output;
  }
  EXPECT_NE(result.output.find("| 73.28% |"), std::string::npos) << result.output;
  // A recipe cut to the CPU's budget says so against the epochs of the claim.
  EXPECT_NE(result.output.find("partial: 10 of their 300 epochs"), std::string::npos)
      << result.output;
}

TEST_F(LedgerCommandTest, WithoutReferencesItSaysSoAndBadOptionsAreUsageErrors) {
  const auto empty = runFerlab("ledger" + dbArg());
  EXPECT_EQ(empty.exit_code, 0) << empty.output;
  EXPECT_NE(empty.output.find("declares a [reference]"), std::string::npos) << empty.output;
  EXPECT_EQ(runFerlab("ledger --format html" + dbArg()).exit_code, 2);
  EXPECT_EQ(runFerlab("ledger --db /nonexistent/ferlab.db").exit_code, 1);
}

}  // namespace
}  // namespace ferlab::clitest
