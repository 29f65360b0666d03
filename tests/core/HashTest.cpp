#include "framework/core/Hash.h"

#include <gtest/gtest.h>

#include "framework/core/Progress.h"

namespace ferlab::core {
namespace {

// Reference values of FNV-1a 64 from the algorithm's published test vectors.
TEST(Hasher, MatchesPublishedFnv1a64Vectors) {
  EXPECT_EQ(Hasher().digest(), 0xcbf29ce484222325ULL);
  EXPECT_EQ(Hasher().update("a").digest(), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(Hasher().update("foobar").digest(), 0x85944171f73967e8ULL);
}

TEST(Hasher, IncrementalEqualsOneShot) {
  EXPECT_EQ(Hasher().update("foo").update("bar").hex(), hashHex("foobar"));
  EXPECT_EQ(hashHex("foobar"), "85944171f73967e8");
}

TEST(Hasher, IntegersHashAsLittleEndianBytes) {
  const unsigned char bytes[8] = {1, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_EQ(Hasher().update(std::uint64_t{1}).digest(), Hasher().update(bytes, 8).digest());
}

TEST(FormatDuration, MinutesAndHours) {
  EXPECT_EQ(formatDuration(62.4), "1:02");
  EXPECT_EQ(formatDuration(3723), "1:02:03");
  EXPECT_EQ(formatDuration(-5), "0:00");
}

}  // namespace
}  // namespace ferlab::core
