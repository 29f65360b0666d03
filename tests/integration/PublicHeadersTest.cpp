// Each module's public header (docs/ARCHITECTURE.md) compiles on its own and offers the entry
// points the architecture names: a header that stops doing so fails this build.

#include "framework/config/Config.h"
#include "framework/core/Core.h"
#include "framework/data/Data.h"
#include "framework/mirror/Mirror.h"
#include "framework/models/Models.h"
#include "framework/report/Report.h"
#include "framework/tracking/Tracking.h"
#include "framework/train/Train.h"

#include <gtest/gtest.h>

#include <type_traits>

namespace ferlab {
namespace {

static_assert(std::is_function_v<decltype(config::loadExperiment)>);
static_assert(std::is_function_v<decltype(config::defaultConfigToml)>);
static_assert(std::is_function_v<decltype(data::loadDataset)>);
static_assert(std::is_function_v<decltype(data::sealTestSplit)>);
static_assert(std::is_function_v<decltype(models::makeModel)>);
static_assert(std::is_function_v<decltype(train::runGrid)>);
static_assert(std::is_function_v<decltype(data::readCrossDataset)>);
static_assert(std::is_function_v<decltype(train::evaluateOnDataset)>);
static_assert(std::is_function_v<decltype(report::renderHtmlReport)>);
static_assert(std::is_class_v<tracking::SqliteStore>);
static_assert(std::is_function_v<decltype(core::writeFileAtomically)>);
static_assert(std::is_class_v<mirror::TensorBoardMirror>);

TEST(PublicHeaders, ChoicesFormatAsTheirTomlSpelling) {
  EXPECT_EQ(fmt::format("{}", config::ModelName::MobileNetV2), "mobilenet_v2");
  EXPECT_EQ(fmt::format("{}", config::BalanceMethod::WeightedSampler), "weighted_sampler");
}

}  // namespace
}  // namespace ferlab
