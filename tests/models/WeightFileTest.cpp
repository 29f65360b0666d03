#include "framework/models/WeightFile.h"

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include "framework/core/Errors.h"
#include "tests/ReferencePython.h"

namespace ferlab::models {
namespace {

namespace fs = std::filesystem;
namespace nn = torch::nn;

using e2e::referencePython;

std::string fileBytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void writeBytes(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// The fixtures of tests/models/weight_fixtures.py, generated once per version of the script,
// interpreter and scripts/python.lock, and shared by every test process (ctest runs each test
// alone): a folder named after their hash, filled under a private name and renamed into place,
// so that concurrent processes never see half a set.
const fs::path& fixtures() {
  static const fs::path folder = [] {
    const fs::path source(FERLAB_SOURCE_DIR);
    const fs::path script = source / "tests/models/weight_fixtures.py";
    const auto python = referencePython();
    const auto hash = std::hash<std::string>{}(fileBytes(script) + "\n" + python + "\n" +
                                               fileBytes(source / "scripts/python.lock"));
    const fs::path target =
        fs::temp_directory_path() / fmt::format("ferlab-weight-fixtures-{:016x}", hash);
    if (fs::exists(target / "expected.json")) return target;
    fs::remove_all(target);  // an incomplete set, e.g. half-cleaned by a temp-file reaper
    const fs::path scratch = target.string() + fmt::format(".tmp{}", ::getpid());
    fs::remove_all(scratch);
    const auto log = scratch.string() + ".log";
    const auto command =
        fmt::format("'{}' '{}' '{}' > '{}' 2>&1", python, script.string(), scratch.string(), log);
    if (std::system(command.c_str()) != 0) {
      throw std::runtime_error("fixture script failed: " + fileBytes(log));
    }
    fs::remove(log);
    std::error_code taken;  // another process may have renamed its copy first: use that one
    fs::rename(scratch, target, taken);
    if (taken) fs::remove_all(scratch);
    return target;
  }();
  return folder;
}

std::string fixture(const std::string& name) {
  return (fixtures() / name).string();
}

torch::Dtype dtypeNamed(const std::string& name) {
  static const std::map<std::string, torch::Dtype> dtypes = {
      {"float32", torch::kFloat32}, {"float16", torch::kFloat16}, {"bfloat16", torch::kBFloat16},
      {"float64", torch::kFloat64}, {"int64", torch::kInt64},     {"int32", torch::kInt32},
      {"int16", torch::kInt16},     {"int8", torch::kInt8},       {"uint8", torch::kUInt8},
      {"bool", torch::kBool}};
  return dtypes.at(name);
}

// The tensors weight_fixtures.py recorded for `name`, rebuilt from their raw bytes.
StateDict expected(const std::string& name) {
  const auto manifest = nlohmann::json::parse(fileBytes(fixtures() / "expected.json"));
  StateDict tensors;
  for (const auto& entry : manifest.at(name)) {
    const auto shape = entry.at("shape").get<std::vector<std::int64_t>>();
    auto tensor = torch::empty(shape, torch::dtype(dtypeNamed(entry.at("dtype"))));
    const auto bytes = fileBytes(fixtures() / entry.at("raw").get<std::string>());
    EXPECT_EQ(bytes.size(), tensor.nbytes()) << entry.at("key");
    // Empty tensors have a null data_ptr(), which memcpy must not get even for 0 bytes.
    const auto n = std::min(bytes.size(), tensor.nbytes());
    if (n > 0) std::memcpy(tensor.data_ptr(), bytes.data(), n);
    tensors.emplace_back(entry.at("key"), tensor);
  }
  return tensors;
}

// Same names in the same order, same dtypes and shapes, bit-identical contents.
void expectIdentical(const StateDict& actual, const StateDict& wanted) {
  ASSERT_EQ(actual.size(), wanted.size());
  for (std::size_t i = 0; i < actual.size(); ++i) {
    const auto& [key, tensor] = actual[i];
    SCOPED_TRACE(key);
    EXPECT_EQ(key, wanted[i].first);
    EXPECT_EQ(tensor.scalar_type(), wanted[i].second.scalar_type());
    ASSERT_EQ(tensor.sizes(), wanted[i].second.sizes());
    EXPECT_TRUE(tensor.is_contiguous());
    if (tensor.nbytes() == 0) continue;  // an empty tensor's data_ptr() is null
    EXPECT_EQ(std::memcmp(tensor.data_ptr(), wanted[i].second.data_ptr(), tensor.nbytes()), 0);
  }
}

torch::Tensor entry(const StateDict& weights, const std::string& key) {
  for (const auto& [name, tensor] : weights) {
    if (name == key) return tensor;
  }
  ADD_FAILURE() << "no entry " << key;
  return {};
}

template <typename Function>
std::string dataErrorOf(Function&& function) {
  try {
    function();
  } catch (const DataError& error) {
    return error.what();
  }
  ADD_FAILURE() << "no DataError";
  return {};
}

// The LibTorch twin of weight_fixtures.py's Net; `classes` and `extra` make it differ.
struct NetImpl : nn::Module {
  explicit NetImpl(int classes = 3, bool with_fc = true, bool extra = false) {
    features = register_module("features",
                               nn::Sequential(nn::Conv2d(nn::Conv2dOptions(3, 4, 3).padding(1)),
                                              nn::BatchNorm2d(4), nn::ReLU()));
    if (with_fc) fc = register_module("fc", nn::Linear(4, classes));
    if (extra) register_module("extra", nn::Linear(2, 2));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    return fc->forward(features->forward(x).mean({2, 3}));
  }
  nn::Sequential features{nullptr};
  nn::Linear fc{nullptr};
};
TORCH_MODULE(Net);

// --- readWeightFile: PyTorch zip archives ----------------------------------------------

TEST(ReadWeightFile, ReadsATorchSavedStateDictInFileOrder) {
  const auto weights = readWeightFile(fixture("net.pth"));
  expectIdentical(weights, expected("net.pth"));
  const auto tracked = entry(weights, "features.1.num_batches_tracked");
  EXPECT_EQ(tracked.scalar_type(), torch::kInt64);
  EXPECT_EQ(tracked.item<std::int64_t>(), 2);
}

TEST(ReadWeightFile, ReadsPickleProtocol4) {
  // FRAME, SHORT_BINUNICODE, STACK_GLOBAL and MEMOIZE instead of protocol 2's opcodes.
  expectIdentical(readWeightFile(fixture("net_protocol4.pth")), expected("net.pth"));
}

TEST(ReadWeightFile, ReadsViewsAndEveryDtype) {
  const auto weights = readWeightFile(fixture("tensors.pth"));
  expectIdentical(weights, expected("tensors.pth"));
  // Four entries shared one storage in the file; after reading each owns its memory.
  auto base = entry(weights, "base");
  const auto row = entry(weights, "row").clone();
  base.fill_(-1);
  EXPECT_TRUE(torch::equal(entry(weights, "row"), row));
  EXPECT_EQ(entry(weights, "transposed").sizes(), (std::vector<std::int64_t>{6, 4}));
  EXPECT_EQ(entry(weights, "scalar").dim(), 0);
}

TEST(ReadWeightFile, TakesTheStateDictOutOfACheckpoint) {
  // The checkpoint also holds an optimiser state, argparse.Namespace, a numpy scalar and a
  // 2**70 integer: none of them is read as weights, none of them is an error.
  expectIdentical(readWeightFile(fixture("checkpoint.pth")), expected("net.pth"));
  expectIdentical(readWeightFile(fixture("model_wrapped.pth")), expected("net.pth"));
}

// --- readWeightFile: safetensors -------------------------------------------------------

TEST(ReadWeightFile, ReadsSafetensorsOfEveryDtype) {
  expectIdentical(readWeightFile(fixture("dtypes.safetensors")), expected("dtypes.safetensors"));
  expectIdentical(readWeightFile(fixture("net.safetensors")), expected("net.pth"));
}

TEST(ReadWeightFile, TellsTheFormatByContentNotExtension) {
  const fs::path copy = fixtures() / fmt::format("renamed-{}.bin", ::getpid());
  fs::copy_file(fixture("net.safetensors"), copy, fs::copy_options::overwrite_existing);
  expectIdentical(readWeightFile(copy.string()), expected("net.pth"));
  fs::copy_file(fixture("net.pth"), copy, fs::copy_options::overwrite_existing);
  expectIdentical(readWeightFile(copy.string()), expected("net.pth"));
  fs::remove(copy);
}

// --- readWeightFile: errors --------------------------------------------------------------

// A scratch folder for hand-made bad files, removed with the fixture.
class BadWeightFile : public ::testing::Test {
 protected:
  void SetUp() override {
    folder_ = fs::temp_directory_path() / fmt::format("ferlab-bad-weights-{}", ::getpid());
    fs::create_directories(folder_);
  }
  void TearDown() override { fs::remove_all(folder_); }

  // Writes `bytes` and returns the DataError message reading it gives.
  std::string errorFor(const std::string& name, const std::string& bytes) {
    const auto path = (folder_ / name).string();
    writeBytes(path, bytes);
    const auto message = dataErrorOf([&] { readWeightFile(path); });
    EXPECT_NE(message.find(path), std::string::npos) << message;
    return message;
  }

  // A safetensors file: 8-byte little-endian header length, header, data.
  static std::string safetensors(const std::string& header, const std::string& data) {
    std::string bytes(8, '\0');
    for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
    return bytes + header + data;
  }

  fs::path folder_;
};

TEST_F(BadWeightFile, MissingFile) {
  const auto path = (folder_ / "absent.pth").string();
  const auto message = dataErrorOf([&] { readWeightFile(path); });
  EXPECT_NE(message.find(path), std::string::npos);
  EXPECT_NE(message.find("no such"), std::string::npos);
}

TEST_F(BadWeightFile, TruncatedArchive) {
  const auto bytes = fileBytes(fixture("net.pth"));
  errorFor("half.pth", bytes.substr(0, bytes.size() / 2));
  errorFor("four.pth", bytes.substr(0, 4));
}

TEST_F(BadWeightFile, GarbageAndEmptyFiles) {
  EXPECT_NE(errorFor("garbage.pth", "this is not a weight file at all").find("neither"),
            std::string::npos);
  EXPECT_NE(errorFor("empty.pth", "").find("empty"), std::string::npos);
}

TEST_F(BadWeightFile, LegacyTorchScriptAndTextPickles) {
  const auto legacy = dataErrorOf([] { readWeightFile(fixture("legacy.pth")); });
  EXPECT_NE(legacy.find("legacy"), std::string::npos) << legacy;
  EXPECT_NE(legacy.find("re-save"), std::string::npos) << legacy;
  const auto script = dataErrorOf([] { readWeightFile(fixture("scripted.pt")); });
  EXPECT_NE(script.find("TorchScript"), std::string::npos) << script;
  const auto text = dataErrorOf([] { readWeightFile(fixture("protocol0.pth")); });
  EXPECT_NE(text.find("protocol0.pth"), std::string::npos) << text;
  EXPECT_NE(text.find("unsupported pickle opcode PUT (0x70)"), std::string::npos) << text;
}

TEST_F(BadWeightFile, SafetensorsHeaders) {
  const std::string data(8, '\0');
  EXPECT_NE(errorFor("json.safetensors", safetensors("{not json}", data)).find("JSON"),
            std::string::npos);
  const auto dtype = errorFor(
      "dtype.safetensors",
      safetensors(R"({"w": {"dtype": "F8_E4M3", "shape": [8], "data_offsets": [0, 8]}})", data));
  EXPECT_NE(dtype.find("unsupported dtype \"F8_E4M3\""), std::string::npos) << dtype;
  EXPECT_NE(dtype.find("'w'"), std::string::npos) << dtype;
  const auto span = errorFor(
      "span.safetensors",
      safetensors(R"({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}})", data));
  EXPECT_NE(span.find("need 12"), std::string::npos) << span;
  auto oversized = safetensors(R"({"w": {}})", data);
  oversized[5] = 1;  // header length 2^40
  EXPECT_NE(errorFor("length.safetensors", oversized).find("header"), std::string::npos);
}

TEST_F(BadWeightFile, TruncatedSafetensors) {
  const auto bytes = fileBytes(fixture("net.safetensors"));
  const auto message = errorFor("cut.safetensors", bytes.substr(0, bytes.size() - 4));
  EXPECT_NE(message.find("truncated"), std::string::npos) << message;
}

// --- loadStateDict -------------------------------------------------------------------------

TEST(LoadStateDict, StrictLoadReproducesPyTorchOutputs) {
  Net net;
  const auto report = loadStateDict(*net, readWeightFile(fixture("net.pth")), true);
  EXPECT_EQ(report.loaded.size(), 9u);
  EXPECT_TRUE(report.missing.empty() && report.unexpected.empty() && report.mismatched.empty());
  const auto buffers = net->named_buffers();
  EXPECT_EQ(buffers["features.1.num_batches_tracked"].item<std::int64_t>(), 2);

  const auto io = expected("io");
  net->eval();
  torch::NoGradGuard no_grad;
  const auto output = net->forward(io[0].second);
  EXPECT_TRUE(torch::allclose(output, io[1].second, 1e-5, 1e-6)) << output << io[1].second;
}

TEST(LoadStateDict, SafetensorsAndPthLoadTheSameWeights) {
  Net from_pth, from_safetensors;
  loadStateDict(*from_pth, readWeightFile(fixture("net.pth")), true);
  loadStateDict(*from_safetensors, readWeightFile(fixture("net.safetensors")), true);
  const auto a = from_pth->named_parameters();
  const auto b = from_safetensors->named_parameters();
  for (const auto& item : a) EXPECT_TRUE(torch::equal(item.value(), b[item.key()])) << item.key();
}

TEST(LoadStateDict, StrictFailureNamesEveryProblemAndCopiesNothing) {
  Net net(5, true, true);  // fc with 5 outputs, plus a layer the file lacks
  const auto before = net->features[0]->named_parameters()["weight"].clone();
  try {
    loadStateDict(*net, readWeightFile(fixture("net.pth")), true);
    FAIL() << "no TrainError";
  } catch (const TrainError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("2 missing (extra.weight, extra.bias)"), std::string::npos) << message;
    EXPECT_NE(message.find("fc.weight: file [3, 4] vs model [5, 4]"), std::string::npos) << message;
    EXPECT_NE(message.find("fc.bias: file [3] vs model [5]"), std::string::npos) << message;
  }
  EXPECT_TRUE(torch::equal(net->features[0]->named_parameters()["weight"], before));

  Net headless(3, false);
  try {
    loadStateDict(*headless, readWeightFile(fixture("net.pth")), true);
    FAIL() << "no TrainError";
  } catch (const TrainError& error) {
    EXPECT_NE(std::string(error.what()).find("2 unexpected (fc.weight, fc.bias)"),
              std::string::npos)
        << error.what();
  }
}

TEST(LoadStateDict, NonStrictCopiesWhatMatchesAndReports) {
  Net net(5, true, true);
  const auto fc_before = net->fc->weight.clone();
  const auto weights = readWeightFile(fixture("net.pth"));
  const auto report = loadStateDict(*net, weights, false);
  EXPECT_EQ(report.loaded.size(), 7u);  // conv 2, batch norm 5
  EXPECT_EQ(report.missing, (std::vector<std::string>{"extra.weight", "extra.bias"}));
  EXPECT_TRUE(report.unexpected.empty());
  EXPECT_EQ(report.mismatched.size(), 2u);
  EXPECT_TRUE(torch::equal(net->features[0]->named_parameters()["weight"],
                           entry(weights, "features.0.weight")));
  EXPECT_TRUE(torch::equal(net->fc->weight, fc_before));
}

TEST(LoadStateDict, StripsAPrefix) {
  StateDict prefixed;
  for (const auto& [key, tensor] : readWeightFile(fixture("net.pth"))) {
    prefixed.emplace_back("module." + key, tensor);
  }
  prefixed.emplace_back("head.weight", torch::zeros({1}));
  Net net;
  const auto report = loadStateDict(*net, prefixed, false, "module.");
  EXPECT_EQ(report.loaded.size(), 9u);
  EXPECT_EQ(report.unexpected, (std::vector<std::string>{"head.weight"}));
  EXPECT_TRUE(report.missing.empty());

  const auto unprefixed = loadStateDict(*net, prefixed, false);
  EXPECT_TRUE(unprefixed.loaded.empty());
  EXPECT_EQ(unprefixed.unexpected.size(), 10u);
  EXPECT_EQ(unprefixed.missing.size(), 9u);
}

TEST(LoadStateDict, ConvertsToTheModuleDtype) {
  StateDict half;
  for (const auto& [key, tensor] : readWeightFile(fixture("net.pth"))) {
    half.emplace_back(key, tensor.is_floating_point() ? tensor.to(torch::kFloat16) : tensor);
  }
  Net net;
  loadStateDict(*net, half, true);
  EXPECT_EQ(net->fc->weight.scalar_type(), torch::kFloat32);
  EXPECT_TRUE(torch::equal(net->fc->weight, entry(half, "fc.weight").to(torch::kFloat32)));
}

TEST(LoadStateDict, ListsTwentyNamesThenACount) {
  nn::Sequential layers;
  for (int i = 0; i < 13; ++i) layers->push_back(nn::Linear(1, 1));  // 26 parameters
  try {
    loadStateDict(*layers, {}, true);
    FAIL() << "no TrainError";
  } catch (const TrainError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("26 missing (0.weight, 0.bias, 1.weight"), std::string::npos) << message;
    EXPECT_NE(message.find("9.weight, 9.bias and 6 more)"), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace ferlab::models
