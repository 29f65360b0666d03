#pragma once
// The class map of a cross-dataset evaluation (`ferlab evaluate`): which class of another
// dataset stands for which class of the model, and which classes are dropped. Lab-posed
// datasets (CK+, JAFFE, KDEF) name FER2013's expressions differently ("anger", "sadness"),
// hold only some of them, and add classes FER2013 lacks ("contempt").
//
// A rule is `dataset_class=model_class`; an empty model class drops the dataset class. Rules
// come from `--map k=v` arguments and from a `--class-map FILE` holding one rule per line:
//
//     # CK+ folders -> FER2013 classes
//     anger    = angry
//     sadness  = sad
//     contempt =          # no FER2013 class: its images are not evaluated
//
// Blank lines and everything from '#' to the end of a line are ignored; blanks around names
// are trimmed; names match case-insensitively. Without a rule, a dataset class maps to the
// model class of the same name (any letter case). Rules are applied in order, so a later rule
// for the same dataset class wins (`--map` arguments come after the file's lines).

#include <string>
#include <vector>

namespace ferlab::data {

/// One `dataset_class=model_class` rule.
struct ClassMapRule {
  std::string dataset_class;  ///< as written, trimmed
  std::string model_class;    ///< as written, trimmed; "" = drop the dataset class
  std::string origin;         ///< where it was written: "FILE:LINE" or "--map"
};

/// Parses one rule "k=v" (a --map argument; `origin` names it in errors). Throws ConfigError
/// naming `origin` and the text when there is no '=' or the dataset class is empty.
ClassMapRule parseClassMapRule(const std::string& text, const std::string& origin);

/// Reads a --class-map file (format above). Throws ConfigError naming FILE (missing or
/// unreadable) or FILE:LINE (a line that is not a rule).
std::vector<ClassMapRule> readClassMapFile(const std::string& path);

/// What every class of a dataset became.
struct ClassMapping {
  /// The dataset's class names as spelt in the dataset, in the order they were given.
  std::vector<std::string> dataset_classes;
  /// Per dataset class: its index among the model's classes, or -1 when it is dropped.
  std::vector<int> model_index;
  /// The model's class names (index = model class).
  std::vector<std::string> model_classes;

  /// The model classes that some dataset class maps to, ascending: the classes "kept".
  std::vector<int> keptModelClasses() const;
  /// The dataset classes that are dropped, in dataset order.
  std::vector<std::string> droppedClasses() const;
  /// Canonical text of the mapping, the same for the same mapping however it was written:
  /// a JSON object from each dataset class (as spelt) to its model class name, or null when
  /// dropped, keys sorted: {"anger":"angry","contempt":null,"happy":"happy"}.
  std::string canonicalJson() const;
};

/// Applies `rules` to `dataset_classes` against `model_classes`. Throws ConfigError naming
/// every rule value that is not a model class (with the rule's origin) and listing the model's
/// classes; DataError naming the first dataset class that has no rule and no model class of
/// its name, listing the model's classes and how to map or drop it. A rule for a class the
/// dataset lacks is ignored with a warning, so one map file can serve several datasets.
ClassMapping resolveClassMap(const std::vector<std::string>& dataset_classes,
                             const std::vector<std::string>& model_classes,
                             const std::vector<ClassMapRule>& rules);

}  // namespace ferlab::data
