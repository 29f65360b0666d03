#pragma once
// The data module's public API: FER2013 (and image-folder / CSV datasets like it) decoded to
// compact uint8 form, aligned, cached, thinned and split by the protocol. No LibTorch here:
// augmentation and class balancing, which run on the training device, live in train/
// (docs/ARCHITECTURE.md).

#include "framework/data/ClassMap.h"             // another dataset's classes -> the model's
#include "framework/data/CrossDataset.h"         // another dataset read and prepared for a run
#include "framework/data/Dataset.h"              // the decoded dataset and its splits
#include "framework/data/DatasetCache.h"         // loadDataset: read, align, cache, subset
#include "framework/data/FaceAligner.h"          // eye-based face alignment (OpenCV cascades)
#include "framework/data/Fer2013Reader.h"        // image-folder and challenge-CSV readers
#include "framework/data/ImagePreparer.h"        // any image prepared like training data
#include "framework/data/LabelledImageFolder.h"  // <class>/<image> folders of any class names
#include "framework/data/SealedTestSplit.h"      // PrivateTest sealed from training and selection
#include "framework/data/Splits.h"               // carved splits, stratified subsets
