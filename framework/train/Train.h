#pragma once
// The train module's public API: a grid of resolved runs trained, evaluated by the protocol
// and recorded. On-device augmentation (Augment.h) and class balancing (Balance.h) live here
// because they need LibTorch (docs/ARCHITECTURE.md).

#include "framework/train/Augment.h"                 // batched on-device augmentation and mixing
#include "framework/train/Balance.h"                 // class balancing, focal loss
#include "framework/train/Checkpoints.h"             // crash-safe checkpoint commit order
#include "framework/train/CrossDatasetEvaluation.h"  // a checkpoint on another dataset
#include "framework/train/DeviceDataset.h"           // the dataset resident on the device
#include "framework/train/FinalEvaluation.h"         // the once-per-run PrivateTest evaluation
#include "framework/train/GridRunner.h"              // runGrid: train and record every run
#include "framework/train/Metrics.h"                 // accuracy, macro-F1, confusion matrices
#include "framework/train/TrainedModel.h"  // a run's selected checkpoint, ready to classify
#include "framework/train/Trainer.h"       // one run: epochs, selection, checkpoints
