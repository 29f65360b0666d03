#include "framework/mirror/EventFileWriter.h"

#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <system_error>

#include <fmt/format.h>

#include "framework/core/Errors.h"
#include "framework/mirror/Crc32c.h"
#include "tensorboard/compat/proto/event.pb.h"
#include "tensorboard/compat/proto/summary.pb.h"

namespace fs = std::filesystem;

namespace ferlab::mirror {
namespace {

std::string hostName() {
  std::array<char, 256> name{};
  if (::gethostname(name.data(), name.size() - 1) != 0 || name[0] == '\0') return "localhost";
  return name.data();
}

void putLittleEndian(char* out, std::uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out[i] = static_cast<char>((value >> (8 * i)) & 0xFFu);
}

}  // namespace

double wallTimeSeconds() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

EventFileWriter::EventFileWriter(const std::string& dir) {
  std::error_code error;
  fs::create_directories(dir, error);
  if (error) {
    throw MirrorError(
        fmt::format("{}: cannot create the TensorBoard folder: {}", dir, error.message()));
  }
  const auto seconds = static_cast<long long>(wallTimeSeconds());
  fs::path file = fs::path(dir) / fmt::format("events.out.tfevents.{}.{}", seconds, hostName());
  if (fs::exists(file)) file += fmt::format(".{}", static_cast<long long>(::getpid()));
  path_ = file.string();
  out_.open(path_, std::ios::binary | std::ios::app);
  if (!out_) {
    throw MirrorError(
        fmt::format("{}: cannot open the event file: {}", path_, std::strerror(errno)));
  }
  tensorboard::Event version;
  version.set_wall_time(wallTimeSeconds());
  version.set_file_version(kEventFileVersion);
  write(version);
}

void EventFileWriter::addScalar(const std::string& tag, std::int64_t step, double value) {
  tensorboard::Event event;
  event.set_wall_time(wallTimeSeconds());
  event.set_step(step);
  auto* entry = event.mutable_summary()->add_value();
  entry->set_tag(tag);
  entry->set_simple_value(static_cast<float>(value));
  write(event);
}

void EventFileWriter::addImage(const std::string& tag, std::int64_t step,
                               const std::string& encoded, int height, int width, int channels) {
  tensorboard::Event event;
  event.set_wall_time(wallTimeSeconds());
  event.set_step(step);
  auto* entry = event.mutable_summary()->add_value();
  entry->set_tag(tag);
  auto* image = entry->mutable_image();
  image->set_height(height);
  image->set_width(width);
  image->set_colorspace(channels);
  image->set_encoded_image_string(encoded);
  write(event);
}

void EventFileWriter::write(const tensorboard::Event& event) {
  std::string data;
  if (!event.SerializeToString(&data)) {
    throw MirrorError(fmt::format("{}: cannot serialize a TensorBoard event", path_));
  }
  char header[12];
  putLittleEndian(header, data.size(), 8);
  putLittleEndian(header + 8, maskedCrc32c(header, 8), 4);
  char footer[4];
  putLittleEndian(footer, maskedCrc32c(data.data(), data.size()), 4);
  out_.write(header, sizeof header);
  out_.write(data.data(), static_cast<std::streamsize>(data.size()));
  out_.write(footer, sizeof footer);
  out_.flush();
  if (!out_) {
    throw MirrorError(
        fmt::format("{}: cannot write the event file: {}", path_, std::strerror(errno)));
  }
}

}  // namespace ferlab::mirror
