#include "framework/models/Classifier.h"

namespace ferlab::models {

std::vector<std::string> ClassifierImpl::blockNames() const {
  std::vector<std::string> names;
  for (const auto& child : named_children()) names.push_back(child.key());
  return names;
}

bool ClassifierImpl::isHeadParameter(const std::string& name) const {
  return name.rfind("classifier.", 0) == 0;
}

}  // namespace ferlab::models
