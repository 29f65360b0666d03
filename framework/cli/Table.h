#pragma once
// A plain-text table for the terminal: columns padded to their widest cell.

#include <string>
#include <vector>

namespace ferlab::cli {

class TextTable {
 public:
  explicit TextTable(std::vector<std::string> header) : header_(std::move(header)) {}
  void addRow(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  /// The table with a header underline; numbers are best passed pre-formatted.
  std::string render() const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

/// "61.23%" for a fraction, "-" for unknown (negative) values.
std::string percentOrDash(double fraction);
/// "0.612" style with `digits` decimals, "-" for unknown (negative) values.
std::string numberOrDash(double value, int digits);

}  // namespace ferlab::cli
