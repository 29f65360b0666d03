// The class map of `ferlab evaluate`: renames, drops, the same-name default, the errors for
// an unknown dataset class and for values that are no model class, and the map file format.

#include "framework/data/ClassMap.h"

#include <gtest/gtest.h>

#include <fstream>

#include "framework/core/Errors.h"
#include "framework/data/Dataset.h"
#include "Fixtures.h"

namespace ferlab::data {
namespace {

using namespace ferlab::data::testing;

const std::vector<std::string>& model() {
  return fer2013ClassNames();
}

std::vector<ClassMapRule> rules(const std::vector<std::string>& texts) {
  std::vector<ClassMapRule> parsed;
  for (const std::string& text : texts) parsed.push_back(parseClassMapRule(text, "--map"));
  return parsed;
}

TEST(ClassMap, RenamesDropsAndMapsSameNamesCaseInsensitively) {
  const ClassMapping mapping =
      resolveClassMap({"Happy", "anger", "contempt", "sadness"}, model(),
                      rules({"anger=angry", " sadness = SAD ", "contempt="}));
  EXPECT_EQ(mapping.dataset_classes,
            (std::vector<std::string>{"Happy", "anger", "contempt", "sadness"}));
  EXPECT_EQ(mapping.model_index, (std::vector<int>{3, 0, -1, 4}));
  EXPECT_EQ(mapping.keptModelClasses(), (std::vector<int>{0, 3, 4}));
  EXPECT_EQ(mapping.droppedClasses(), (std::vector<std::string>{"contempt"}));
  EXPECT_EQ(mapping.canonicalJson(),
            R"({"Happy":"happy","anger":"angry","contempt":null,"sadness":"sad"})");
}

TEST(ClassMap, ALaterRuleWinsAndTheSameMappingHasTheSameText) {
  const ClassMapping first =
      resolveClassMap({"anger", "happy"}, model(), rules({"anger=fear", "ANGER=angry"}));
  EXPECT_EQ(first.model_index, (std::vector<int>{0, 3}));
  const ClassMapping second =
      resolveClassMap({"anger", "happy"}, model(), rules({"anger=angry", "happy=happy"}));
  EXPECT_EQ(first.canonicalJson(), second.canonicalJson());
}

TEST(ClassMap, AnUnmappedUnknownClassNamesItselfAndTheModelClasses) {
  const std::string message = dataErrorOf([] {
    resolveClassMap({"anger", "happy"}, model(), rules({"contempt="}));
  });
  EXPECT_NE(message.find("'anger'"), std::string::npos) << message;
  EXPECT_NE(message.find("angry, disgust, fear, happy, sad, surprise, neutral"), std::string::npos)
      << message;
  EXPECT_NE(message.find("--map anger="), std::string::npos) << message;
}

TEST(ClassMap, ValuesThatAreNoModelClassAreErrorsNamingEveryOne) {
  try {
    resolveClassMap({"anger", "joy"}, model(), rules({"anger=furious", "joy=joyful"}));
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("'furious'"), std::string::npos) << message;
    EXPECT_NE(message.find("'joyful'"), std::string::npos) << message;
    EXPECT_NE(message.find("its classes: angry, disgust"), std::string::npos) << message;
  }
  // A rule for a class this dataset lacks is only a warning; its value is still checked.
  EXPECT_NO_THROW(resolveClassMap({"happy"}, model(), rules({"anger=angry"})));
  EXPECT_THROW(resolveClassMap({"happy"}, model(), rules({"anger=rage"})), ConfigError);
}

TEST(ClassMap, MalformedRulesAreConfigErrors) {
  EXPECT_THROW(parseClassMapRule("anger", "--map"), ConfigError);
  EXPECT_THROW(parseClassMapRule("=angry", "--map"), ConfigError);
  const ClassMapRule drop = parseClassMapRule("contempt=", "--map");
  EXPECT_EQ(drop.dataset_class, "contempt");
  EXPECT_TRUE(drop.model_class.empty());
}

TEST(ClassMap, FileHoldsRulesCommentsAndBlankLines) {
  const TempDir dir;
  const std::string path = (dir.path() / "ckplus.map").string();
  std::ofstream(path) << "# CK+ -> FER2013\n\nanger = angry   # rename\n  sadness=sad\n"
                      << "contempt =\n";
  const std::vector<ClassMapRule> parsed = readClassMapFile(path);
  ASSERT_EQ(parsed.size(), 3u);
  EXPECT_EQ(parsed[0].dataset_class, "anger");
  EXPECT_EQ(parsed[0].model_class, "angry");
  EXPECT_EQ(parsed[0].origin, path + ":3");
  EXPECT_EQ(parsed[2].dataset_class, "contempt");
  EXPECT_TRUE(parsed[2].model_class.empty());

  std::ofstream(path) << "anger=angry\nsadness sad\n";
  try {
    readClassMapFile(path);
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& error) {
    EXPECT_NE(std::string(error.what()).find(path + ":2"), std::string::npos) << error.what();
  }
  EXPECT_THROW(readClassMapFile((dir.path() / "missing.map").string()), ConfigError);
}

}  // namespace
}  // namespace ferlab::data
