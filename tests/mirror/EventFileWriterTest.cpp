#include "framework/mirror/EventFileWriter.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "framework/core/Errors.h"
#include "framework/mirror/ConfusionImage.h"
#include "framework/mirror/Crc32c.h"
#include "framework/mirror/TensorBoardMirror.h"
#include "tensorboard/compat/proto/event.pb.h"

namespace ferlab::mirror {
namespace {

namespace fs = std::filesystem;

std::uint64_t littleEndian(const std::string& bytes, std::size_t at, int size) {
  std::uint64_t value = 0;
  for (int i = size - 1; i >= 0; --i)
    value = (value << 8) | static_cast<unsigned char>(bytes[at + i]);
  return value;
}

// Reads a TFRecord file back, checking every length and payload CRC, and parses each record.
std::vector<tensorboard::Event> readEvents(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string bytes = buffer.str();
  std::vector<tensorboard::Event> events;
  std::size_t at = 0;
  while (at < bytes.size()) {
    EXPECT_LE(at + 12, bytes.size()) << "truncated header at " << at;
    const std::uint64_t length = littleEndian(bytes, at, 8);
    EXPECT_EQ(littleEndian(bytes, at + 8, 4), maskedCrc32c(bytes.data() + at, 8)) << "at " << at;
    at += 12;
    EXPECT_LE(at + length + 4, bytes.size()) << "truncated record at " << at;
    const std::string data = bytes.substr(at, length);
    EXPECT_EQ(littleEndian(bytes, at + length, 4), maskedCrc32c(data.data(), data.size()));
    at += length + 4;
    tensorboard::Event event;
    EXPECT_TRUE(event.ParseFromString(data));
    events.push_back(event);
  }
  return events;
}

fs::path scratch(const std::string& name) {
  const fs::path dir =
      fs::temp_directory_path() / ("ferlab_tb_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  return dir;
}

TEST(Crc32c, MatchesTheCheckValueOfRfc3720AndTensorFlowsMask) {
  EXPECT_EQ(crc32c("123456789", 9), 0xE3069283u);  // the CRC-32C catalogue's check value
  EXPECT_EQ(crc32c("", 0), 0u);
  // RFC 3720, B.4: 32 bytes of zeros.
  const std::vector<unsigned char> zeros(32, 0);
  EXPECT_EQ(crc32c(zeros.data(), zeros.size()), 0x8A9136AAu);
  EXPECT_EQ(maskCrc(0u), 0xa282ead8u);
  EXPECT_EQ(maskCrc(0x12345678u), ((0x12345678u >> 15) | (0x12345678u << 17)) + 0xa282ead8u);
}

TEST(EventFileWriter, WritesFramedEventsThatParseBack) {
  const fs::path dir = scratch("writer");
  std::string path;
  {
    EventFileWriter writer((dir / "run").string());
    path = writer.path();
    writer.addScalar("val/accuracy", 1, 0.25);
    writer.addScalar("val/accuracy", 2, 0.5);
    writer.addImage("confusion_matrix/PublicTest", 2, std::string("\x89PNG", 4), 7, 9, 3);
  }
  EXPECT_EQ(fs::path(path).parent_path(), dir / "run");
  EXPECT_EQ(fs::path(path).filename().string().rfind("events.out.tfevents.", 0), 0u) << path;

  const auto events = readEvents(path);
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].file_version(), "brain.Event:2");
  EXPECT_GT(events[0].wall_time(), 1.6e9);
  EXPECT_EQ(events[1].step(), 1);
  ASSERT_EQ(events[1].summary().value_size(), 1);
  EXPECT_EQ(events[1].summary().value(0).tag(), "val/accuracy");
  EXPECT_FLOAT_EQ(events[1].summary().value(0).simple_value(), 0.25f);
  EXPECT_EQ(events[2].step(), 2);
  EXPECT_FLOAT_EQ(events[2].summary().value(0).simple_value(), 0.5f);
  const auto& image = events[3].summary().value(0);
  EXPECT_EQ(image.tag(), "confusion_matrix/PublicTest");
  EXPECT_EQ(image.image().height(), 7);
  EXPECT_EQ(image.image().width(), 9);
  EXPECT_EQ(image.image().colorspace(), 3);
  EXPECT_EQ(image.image().encoded_image_string(), std::string("\x89PNG", 4));
  fs::remove_all(dir);
}

TEST(EventFileWriter, ThrowsMirrorErrorNamingAFolderItCannotCreate) {
  const fs::path dir = scratch("blocked");
  fs::create_directories(dir);
  std::ofstream(dir / "file") << "x";
  try {
    EventFileWriter writer((dir / "file" / "run").string());
    FAIL() << "expected a MirrorError";
  } catch (const MirrorError& error) {
    EXPECT_NE(std::string(error.what()).find((dir / "file" / "run").string()), std::string::npos)
        << error.what();
  }
  fs::remove_all(dir);
}

TEST(TensorBoardMirror, WritesEpochScalarsAndTheConfusionImage) {
  const fs::path dir = scratch("mirror");
  const std::string folder =
      TensorBoardMirror::runFolder(dir.string(), "grid[name=a/b]", "0123abcd");
  EXPECT_EQ(fs::path(folder).filename().string(), "grid[name=a_b]_0123abcd");
  {
    TensorBoardMirror mirror(dir.string(), "grid[name=a/b]", "0123abcd");
    tracking::EpochRecord epoch;
    epoch.epoch = 3;
    epoch.train_loss = 1.5;
    epoch.train_accuracy = 0.4;
    epoch.val_loss = 1.25;
    epoch.val_accuracy = 0.375;
    epoch.val_macro_f1 = 0.3;
    epoch.lr = 0.002;
    epoch.images_per_sec = 812.5;
    mirror.epoch(epoch);
    tracking::SplitMetrics split;
    split.split = "PublicTest";
    split.confusion = {5, 1, 0, 2, 7, 1, 0, 0, 9};
    mirror.confusion(split, {"angry", "happy", "neutral"}, 3);
    EXPECT_TRUE(mirror.enabled());
  }
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(folder)) files.push_back(entry.path());
  ASSERT_EQ(files.size(), 1u);
  const auto events = readEvents(files[0]);
  ASSERT_EQ(events.size(), 1u + 7u + 1u);
  std::vector<std::string> tags;
  for (std::size_t i = 1; i < 8; ++i) {
    EXPECT_EQ(events[i].step(), 3);
    tags.push_back(events[i].summary().value(0).tag());
  }
  EXPECT_EQ(tags,
            (std::vector<std::string>{"train/loss", "train/accuracy", "val/loss", "val/accuracy",
                                      "val/macro_f1", "lr", "images_per_sec"}));
  EXPECT_FLOAT_EQ(events[4].summary().value(0).simple_value(), 0.375f);
  EXPECT_FLOAT_EQ(events[7].summary().value(0).simple_value(), 812.5f);
  const auto& image = events[8].summary().value(0);
  EXPECT_EQ(image.tag(), "confusion_matrix/PublicTest");
  EXPECT_EQ(image.image().encoded_image_string().substr(0, 4), std::string("\x89PNG", 4));
  EXPECT_GT(image.image().height(), 3 * 40);
  fs::remove_all(dir);
}

TEST(TensorBoardMirror, AFailedWriteWarnsOnceAndDisablesTheMirrorWithoutThrowing) {
  const fs::path dir = scratch("failing");
  fs::create_directories(dir);
  std::ofstream(dir / "file") << "x";
  TensorBoardMirror mirror((dir / "file").string(), "run", "id");
  tracking::EpochRecord epoch;
  epoch.epoch = 1;
  EXPECT_NO_THROW(mirror.epoch(epoch));
  EXPECT_FALSE(mirror.enabled());
  EXPECT_NO_THROW(mirror.epoch(epoch));
  EXPECT_FALSE(fs::exists(dir / "file" / "run_id"));
  fs::remove_all(dir);
}

TEST(ConfusionImage, RejectsCountsThatDoNotMatchTheClasses) {
  EXPECT_THROW(renderConfusionPng({1, 2, 3}, {"a", "b"}, "x"), MirrorError);
}

}  // namespace
}  // namespace ferlab::mirror
