#pragma once
// Writes one TensorBoard event file: a TFRecord stream of `tensorboard.Event` protobuf
// messages, as TensorFlow's tf.summary writers produce and TensorBoard reads.
//
// Framing of each record (TFRecord, tensorflow/core/lib/io/record_writer.h): uint64 length
// (little-endian), uint32 masked CRC-32C of those 8 bytes, the serialized Event, uint32
// masked CRC-32C of it (Crc32c.h). The first record is Event{file_version: "brain.Event:2"}.
// Messages: TensorBoard's own event.proto and summary.proto (third_party/tensorboard/).
// File name: TensorBoard's convention, `events.out.tfevents.<unix seconds>.<host>` in `dir`.
//
// Every record is flushed when written, so TensorBoard shows a run while it trains. Every
// failure throws MirrorError naming the file.

#include <cstdint>
#include <fstream>
#include <string>

namespace tensorboard {
class Event;
}

namespace ferlab::mirror {

/// TensorBoard's file_version string for event files of this format.
inline constexpr const char* kEventFileVersion = "brain.Event:2";

class EventFileWriter {
 public:
  /// Creates `dir` (and parents) and a new event file in it, then writes the file_version
  /// event. When a file of that name exists already (a second writer in the same second),
  /// ".<pid>" is appended. Throws MirrorError naming the folder or file.
  explicit EventFileWriter(const std::string& dir);

  /// Appends a scalar (Summary.Value.simple_value, float32) at `step`; wall time now.
  /// Throws MirrorError.
  void addScalar(const std::string& tag, std::int64_t step, double value);

  /// Appends an image (Summary.Image) at `step`: `encoded` is a PNG file's bytes, of
  /// `height` x `width` pixels (pixels) and `channels` colour channels (1, 3 or 4).
  /// Throws MirrorError.
  void addImage(const std::string& tag, std::int64_t step, const std::string& encoded, int height,
                int width, int channels);

  /// Appends any event (framed and flushed). Throws MirrorError.
  void write(const tensorboard::Event& event);

  /// The event file's path.
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::ofstream out_;
};

/// Seconds since the Unix epoch (UTC), with sub-second precision: Event.wall_time's unit.
double wallTimeSeconds();

}  // namespace ferlab::mirror
