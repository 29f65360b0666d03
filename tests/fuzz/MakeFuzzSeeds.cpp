// Writes the synthetic seeds of the fuzz corpus (tests/fuzz/make_seeds.sh runs it):
//   <out>/ImageDecode/  small images of synthetic pixels, encoded by OpenCV (PNG, JPEG, BMP,
//                       PGM, grey and colour);
//   <out>/Fer2013Csv/   challenge CSVs of synthetic 4 x 4 rows (the harness's image size);
//   <out>/Checkpoint/   best.pt and last.pt of a tiny model, written by train/Checkpoints.h;
//   <out>/SqliteStore/  a tracking store holding one experiment and one run (512-byte pages).
// No FER2013 image or photograph goes into the repository.
// Usage: make_fuzz_seeds <out folder>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <sqlite3.h>
#include <torch/serialize/output-archive.h>

#include "framework/tracking/SqliteStore.h"
#include "framework/train/Checkpoints.h"
#include "tests/fuzz/CheckpointSeedModel.h"

namespace {

namespace fs = std::filesystem;

void writeFile(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

void writeImages(const fs::path& dir) {
  fs::create_directories(dir);
  cv::Mat grey(8, 8, CV_8UC1), colour(6, 10, CV_8UC3);
  for (int y = 0; y < grey.rows; ++y)
    for (int x = 0; x < grey.cols; ++x) grey.at<std::uint8_t>(y, x) = (x * 32 + y * 7) % 256;
  for (int y = 0; y < colour.rows; ++y)
    for (int x = 0; x < colour.cols; ++x)
      colour.at<cv::Vec3b>(y, x) = {static_cast<std::uint8_t>(x * 25),
                                    static_cast<std::uint8_t>(y * 40), 128};
  const std::vector<std::pair<std::string, const cv::Mat*>> images = {
      {"grey8x8.png", &grey},     {"grey8x8.jpg", &grey},      {"grey8x8.bmp", &grey},
      {"grey8x8.pgm", &grey},     {"colour10x6.png", &colour}, {"colour10x6.jpg", &colour},
      {"colour10x6.bmp", &colour}};
  for (const auto& [name, image] : images) {
    std::vector<std::uint8_t> bytes;
    cv::imencode(fs::path(name).extension().string(), *image, bytes);
    writeFile(dir / name, std::string(bytes.begin(), bytes.end()));
  }
}

std::string pixels(int seed) {
  std::string text;
  for (int i = 0; i < 16; ++i) text += (i ? " " : "") + std::to_string((seed * 31 + i * 17) % 256);
  return text;
}

void writeCsvs(const fs::path& dir) {
  fs::create_directories(dir);
  writeFile(dir / "usage.csv", "emotion,pixels,Usage\n0,\"" + pixels(1) + "\",Training\n3,\"" +
                                   pixels(2) + "\",PublicTest\n6," + pixels(3) + ",PrivateTest\n");
  writeFile(dir / "no_usage.csv", "emotion,pixels\n2," + pixels(4) + "\n5," + pixels(5) + "\n");
  writeFile(dir / "reordered_crlf.csv", "Usage,pixels,emotion\r\nTraining," + pixels(6) +
                                            ",1\r\n\r\nPrivateTest," + pixels(7) + ",4\r\n");
}

void writeCheckpoints(const fs::path& dir) {
  fs::create_directories(dir);
  auto model = ferlab::fuzz::checkpointSeedModel();
  {  // best.pt: the module at the top of the archive
    torch::serialize::OutputArchive archive;
    model->save(archive);
    ferlab::train::saveAtomically(archive, (dir / "best.pt").string());
  }
  {  // last.pt: the model, scalars and the owner, as the trainer commits an epoch
    torch::serialize::OutputArchive archive, model_archive;
    model->save(model_archive);
    archive.write("model", model_archive);
    ferlab::train::writeScalar(archive, "epoch", 3);
    ferlab::train::writeScalar(archive, "best_epoch", 2);
    ferlab::train::writeOwner(archive, {"0123456789abcdef0123456789abcdef", "abcdef012345"});
    ferlab::train::saveAtomically(archive, (dir / "last.pt").string());
  }
}

void writeStore(const fs::path& dir) {
  fs::create_directories(dir);
  const fs::path path = dir / "store.db";
  fs::remove(path);
  {
    ferlab::tracking::SqliteStore store(path.string(), ferlab::tracking::OpenMode::ReadWrite,
                                        ferlab::tracking::Journal::Rollback);
    store.ensureExperiment("fuzz", "fuzz.toml", {"train.lr"});
    ferlab::tracking::RunRecord run;
    run.id = "0123456789ab";
    run.experiment = "fuzz";
    run.name = "fuzz[lr=0.1]";
    run.config_json = R"({"train.lr":0.1})";
    run.config_hash = "0123456789abcdef";
    run.backbone = "simple_cnn";
    run.params = {{"train.lr", "0.1"}};
    run.grid_values = {{"train.lr", "0.1"}};
    store.ensureRun(run);
  }
  // 512-byte pages instead of 4096 make the file a few times smaller, so fuzzing mutates
  // (and the corpus keeps) fewer bytes; SQLite reads either.
  sqlite3* db = nullptr;
  sqlite3_open(path.string().c_str(), &db);
  sqlite3_exec(db, "PRAGMA page_size = 512; VACUUM;", nullptr, nullptr, nullptr);
  sqlite3_close(db);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_fuzz_seeds <out folder>\n";
    return 2;
  }
  const fs::path out = argv[1];
  writeImages(out / "ImageDecode");
  writeCsvs(out / "Fer2013Csv");
  writeCheckpoints(out / "Checkpoint");
  writeStore(out / "SqliteStore");
  return 0;
}
