#include "framework/models/WeightFile.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "framework/core/Errors.h"
#include "framework/models/SafetensorsReader.h"
#include "framework/models/TorchZipReader.h"

// The readers live one per format: PickleReader.cpp (the pickle opcodes), TorchZipReader.cpp
// (.pth/.pt zip archives) and SafetensorsReader.cpp; this file detects the format and copies
// a state dict into a module.

// Byte order: both formats store little-endian data and FERLab runs on little-endian hosts
// (x86-64, aarch64), so storage bytes are copied as they are.

namespace ferlab::models {
namespace {

using detail::readSafetensors;
using detail::readTorchZip;

// ---------------------------------------------------------------------------------------
// Format detection by content.

enum class Format { TorchZip, Safetensors };

Format detectFormat(const std::string& path, std::uint64_t file_size) {
  if (file_size == 0) throw DataError(fmt::format("{}: empty file", path));
  std::ifstream file(path, std::ios::binary);
  if (!file) throw DataError(fmt::format("{}: cannot open", path));
  char head[9] = {};
  file.read(head, sizeof head);
  if (file_size >= 4 && std::memcmp(head, "PK\x03\x04", 4) == 0) return Format::TorchZip;
  if (static_cast<std::uint8_t>(head[0]) == 0x80) {
    throw DataError(fmt::format(
        "{}: a plain pickle, the legacy format of torch.save before PyTorch 1.6; re-save it "
        "with a recent PyTorch: torch.save(torch.load(path), path)",
        path));
  }
  if (file_size >= 9 && head[8] == '{') return Format::Safetensors;
  throw DataError(
      fmt::format("{}: neither a PyTorch zip archive nor a safetensors file ({} bytes; truncated?)",
                  path, file_size));
}

// ---------------------------------------------------------------------------------------
// loadStateDict helpers.

// Parameters then buffers, in registration order, skipping the undefined tensors LibTorch
// registers for absent parts (a Linear without bias).
std::vector<std::pair<std::string, torch::Tensor>> namedTensors(const torch::nn::Module& module) {
  std::vector<std::pair<std::string, torch::Tensor>> named;
  for (const auto& item : module.named_parameters()) {
    if (item.value().defined()) named.emplace_back(item.key(), item.value());
  }
  for (const auto& item : module.named_buffers()) {
    if (item.value().defined()) named.emplace_back(item.key(), item.value());
  }
  return named;
}

std::string shapeText(torch::IntArrayRef sizes) {
  return fmt::format("[{}]", fmt::join(sizes.begin(), sizes.end(), ", "));
}

// "n kind (a, b, ... and N more)" with at most 20 names, so a wrong backbone stays readable.
std::string listNames(const std::vector<std::string>& names, const char* kind) {
  constexpr std::size_t kShown = 20;
  const auto shown = std::min(names.size(), kShown);
  std::string text = fmt::format("{} {} ({}", names.size(), kind,
                                 fmt::join(names.begin(), names.begin() + shown, ", "));
  if (names.size() > kShown) text += fmt::format(" and {} more", names.size() - kShown);
  return text + ")";
}

std::string mismatchMessage(const LoadReport& report, const std::string& prefix) {
  std::vector<std::string> parts;
  if (!report.missing.empty()) parts.push_back(listNames(report.missing, "missing"));
  if (!report.unexpected.empty()) parts.push_back(listNames(report.unexpected, "unexpected"));
  if (!report.mismatched.empty()) parts.push_back(listNames(report.mismatched, "mismatched"));
  const std::string prefix_note = prefix.empty() ? "" : fmt::format(" (prefix '{}')", prefix);
  return fmt::format(
      "weights do not fit the model{}: {}; nothing was copied (non-strict loading copies the "
      "tensors that match)",
      prefix_note, fmt::join(parts, "; "));
}

}  // namespace

StateDict readWeightFile(const std::string& path) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) {
    throw DataError(fmt::format("{}: no such weight file", path));
  }
  const auto file_size = std::filesystem::file_size(path, error);
  if (error) throw DataError(fmt::format("{}: unreadable: {}", path, error.message()));
  switch (detectFormat(path, file_size)) {
    case Format::TorchZip:
      return readTorchZip(path);
    case Format::Safetensors:
      return readSafetensors(path, file_size);
  }
  throw DataError(fmt::format("{}: unknown weight format", path));
}

LoadReport loadStateDict(torch::nn::Module& module, const StateDict& weights, bool strict,
                         const std::string& prefix) {
  const auto targets = namedTensors(module);
  std::unordered_map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < targets.size(); ++i) index.emplace(targets[i].first, i);

  LoadReport report;
  std::vector<std::pair<torch::Tensor, torch::Tensor>> copies;  // destination, source
  std::unordered_set<std::string> matched;
  for (const auto& [key, tensor] : weights) {
    const auto found = key.compare(0, prefix.size(), prefix) == 0
                           ? index.find(key.substr(prefix.size()))
                           : index.end();
    if (found == index.end()) {
      report.unexpected.push_back(key);
      continue;
    }
    const auto& [name, destination] = targets[found->second];
    matched.insert(name);
    if (destination.sizes() != tensor.sizes()) {
      report.mismatched.push_back(fmt::format("{}: file {} vs model {}", name,
                                              shapeText(tensor.sizes()),
                                              shapeText(destination.sizes())));
      continue;
    }
    report.loaded.push_back(name);
    copies.emplace_back(destination, tensor);
  }
  for (const auto& [name, tensor] : targets) {
    if (matched.count(name) == 0) report.missing.push_back(name);
  }
  const bool clean =
      report.missing.empty() && report.unexpected.empty() && report.mismatched.empty();
  if (strict && !clean) throw TrainError(mismatchMessage(report, prefix));

  torch::NoGradGuard no_grad;
  for (auto& [destination, source] : copies) destination.copy_(source);  // casts and moves
  return report;
}

}  // namespace ferlab::models
