#include "framework/train/FinalEvaluation.h"

#include "framework/core/Errors.h"

namespace ferlab::train {

SplitEvaluation FinalEvaluation::onPrivateTest(Trainer& trainer,
                                               const data::SealedTestSplit& test) {
  if (test.size() == 0) throw DataError("the dataset has no test (PrivateTest) images");
  const data::TestSplitKey key;
  const data::Dataset& images = test.open(key);
  const DeviceDataset& selection = trainer.data();
  const DeviceDataset on_device(images, selection.device(), selection.mean(), selection.std(), key);
  SplitEvaluation result = trainer.evaluate(on_device, data::Split::Test);
  // Back to the source dataset's numbering, as the validation predictions are recorded.
  result.sample_ids.clear();
  for (auto& index : result.sample_indices) {
    const auto local = static_cast<std::size_t>(index);
    result.sample_ids.push_back(images.sample_ids.empty() ? std::string()
                                                          : images.sample_ids[local]);
    index = test.source_indices()[local];
  }
  return result;
}

}  // namespace ferlab::train
