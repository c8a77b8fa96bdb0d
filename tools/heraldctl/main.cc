// heraldctl: the command-line client of herald. Everything lives in Cli.
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "tools/heraldctl/cli.h"

int main(int argc, char** argv) {
  try {
    herald::tools::Cli cli(std::cout, std::cerr);
    return cli.Run(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << std::endl;
    return herald::tools::kExitFailed;
  }
}
