#pragma once
// Pretrained weights from the files people actually have: PyTorch `.pth`/`.pt` state dicts
// (`torch.save(model.state_dict(), path)`, the zip format of PyTorch >= 1.6) and Hugging Face
// `.safetensors` files, read without Python and copied into a LibTorch module by name
// (issue "ImageNet backbones and transfer learning").

#include <string>
#include <utility>
#include <vector>

#include <torch/nn/module.h>
#include <torch/types.h>

namespace ferlab::models {

/// Named tensors in file order (the order of the pickled dict, or of the safetensors header).
using StateDict = std::vector<std::pair<std::string, torch::Tensor>>;

/// Reads every tensor of a weight file, on the CPU, each owning its memory (contiguous; views
/// that shared one storage in the file become independent tensors), with the file's dtype:
/// float32/64, float16, bfloat16, int64/32/16, int8, uint8 or bool. The format is told by
/// content, not by extension:
///  - PyTorch zip archive (`PK\x03\x04`): `<archive>/data.pkl` is parsed by a strict reader of
///    the pickle opcodes `torch.save` emits (protocols 2 to 4) that never runs code; tensors
///    come from `<archive>/data/<key>` via `torch._utils._rebuild_tensor_v2` arguments
///    (storage, offset, sizes, strides). The pickled object must be a dict of tensors, or a
///    checkpoint dict whose "state_dict" (first) or "model" entry is one: that inner dict is
///    taken and the checkpoint's other entries (epoch, optimiser, args) are ignored.
///  - safetensors (8-byte little-endian header length, JSON header, raw little-endian data;
///    format of huggingface/safetensors): dtypes F32, F16, BF16, F64, I64, I32, I16, I8, U8,
///    BOOL; `__metadata__` is ignored.
/// Throws DataError naming `path` and the fault: missing or unreadable file, truncated data,
/// bad header, unsupported pickle opcode, dtype or storage, a value that is not a tensor,
/// TorchScript archives (`torch.jit.save`) and the legacy pre-1.6 format (re-save with
/// `torch.save(model.state_dict(), path)` in a recent PyTorch).
StateDict readWeightFile(const std::string& path);

/// What loadStateDict did, by module name (after prefix stripping) except `unexpected`,
/// which holds the file keys as written.
struct LoadReport {
  std::vector<std::string> loaded;      ///< copied, in file order
  std::vector<std::string> missing;     ///< in the module, not in the file (module order)
  std::vector<std::string> unexpected;  ///< in the file, not in the module
  std::vector<std::string> mismatched;  ///< "name: file [a, b] vs model [c, d]"
};

/// Copies `weights` into `module`'s named_parameters() and named_buffers() (recursive names
/// as torchvision writes them: "features.0.weight", "layer1.0.bn1.running_mean") under
/// NoGradGuard, converting each tensor to the destination's dtype and device. `prefix` (e.g.
/// "module." from DataParallel) is stripped from file keys first; keys without it are
/// unexpected. BatchNorm's `num_batches_tracked` is an int64 buffer in both PyTorch files and
/// LibTorch modules, so it is matched like any other name.
/// strict: any missing, unexpected or mismatched name throws TrainError listing them (20 per
/// kind, then "and N more") before anything is copied. Not strict: copies what matches and
/// returns the report; the caller logs what was skipped.
LoadReport loadStateDict(torch::nn::Module& module, const StateDict& weights, bool strict,
                         const std::string& prefix = "");

}  // namespace ferlab::models
