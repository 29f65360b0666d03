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
  // 9 experiments, 12 recipes: transfer_frozen has 2 backbones, transfer_finetune 3, and
  // Xception (72 px, the others 48 px) has its own file with one.
  EXPECT_EQ(countOf(result.output, "| `reproduce_"), 12) << result.output;
  EXPECT_EQ(countOf(result.output, "not run yet"), 12) << result.output;
  EXPECT_EQ(countOf(result.output, "| `reproduce_transfer_finetune` (model.name="), 3)
      << result.output;
  EXPECT_EQ(countOf(result.output, "| `reproduce_transfer_finetune_xception` |"), 1)
      << result.output;
  EXPECT_NE(result.output.find("| 73.28% |"), std::string::npos) << result.output;
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
