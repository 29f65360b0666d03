#pragma once
// A live, single-line progress display ("epoch 3/30 step 120/449 loss 1.23 ...") on stderr.
// On a terminal the line is redrawn in place; otherwise (CI logs, pipes) only finish()
// prints, so logs stay one line per epoch.

#include <string>

namespace ferlab::core {

class ProgressLine {
 public:
  ProgressLine();
  ~ProgressLine();
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  /// Redraws the line (terminal only), at most every 100 ms to keep the hot loop cheap.
  void update(const std::string& text);
  /// Prints the final text and a newline (always, terminal or not).
  void finish(const std::string& text);
  /// Clears the active line, if any, so a log message does not land in the middle of it.
  static void clearActive();

 private:
  bool interactive_;
  double lastDrawSeconds_ = 0.0;
};

/// Formats seconds as "1:02:03" or "2:03".
std::string formatDuration(double seconds);

}  // namespace ferlab::core
