#pragma once
// The once-per-run evaluation on PrivateTest: the only code that can open the sealed test
// split (data/SealedTestSplit.h). GridRunner calls it after training, with the checkpoint
// selected on PublicTest already loaded; nothing it returns feeds back into training or
// selection.

#include "framework/data/SealedTestSplit.h"
#include "framework/train/Trainer.h"

namespace ferlab::train {

class FinalEvaluation {
 public:
  /// Evaluates `trainer`'s current weights on every PrivateTest image of `test`, normalised
  /// with the training statistics and with the run's eval.tta. The result's sample_indices
  /// are the source dataset's indices and sample_ids its ids. Throws DataError when the split
  /// is empty.
  static SplitEvaluation onPrivateTest(Trainer& trainer, const data::SealedTestSplit& test);
};

}  // namespace ferlab::train
