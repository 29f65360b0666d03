// The `ferlab` executable: everything lives in the library (framework/cli/Cli.h).
#include "framework/cli/Cli.h"

int main(int argc, char** argv) {
  return ferlab::cli::main(argc, argv);
}
