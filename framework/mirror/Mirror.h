#pragma once
// The mirror module's public API: copies of the store's records for tools researchers already
// look at. The store stays the source of truth; a mirror that fails never stops training.
// Nothing here needs LibTorch.

#include "framework/mirror/EventFileWriter.h"    // TensorBoard event files (TFRecord framing)
#include "framework/mirror/TensorBoardMirror.h"  // one run's epochs and confusion matrices
#include "framework/mirror/MlflowClient.h"       // MLflow's tracking REST API over libcurl
#include "framework/mirror/MlflowMirror.h"       // one run mirrored live to an MLflow server
#include "framework/mirror/MlflowRecord.h"       // a FERLab run as MLflow params, tags, metrics
#include "framework/mirror/MlflowSync.h"         // `ferlab sync`: push what MLflow is missing
