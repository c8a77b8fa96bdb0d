// herald-loadgen: the load generator of herald's benchmark. See README.md
// beside this file for the command line and what every figure means.
#include <signal.h>
#include <sys/resource.h>

#include <cstdio>
#include <string>

#include "bench/loadgen/load_run.h"
#include "bench/loadgen/options.h"

int main(int argc, char** argv) {
  herald::bench::Options options;
  std::string error;
  if (!options.Parse(argc, argv, &error)) {
    if (error != "help") fprintf(stderr, "herald-loadgen: %s\n", error.c_str());
    fputs(herald::bench::Options::Usage(), stderr);
    return error == "help" ? 0 : 2;
  }
  signal(SIGPIPE, SIG_IGN);
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
  getrlimit(RLIMIT_NOFILE, &lim);
  if (static_cast<rlim_t>(options.connections) + 64 > lim.rlim_cur) {
    fprintf(stderr,
            "herald-loadgen: --connections=%d exceeds the open-file limit "
            "%llu; run several processes with --user_offset\n",
            options.connections, static_cast<unsigned long long>(lim.rlim_cur));
    return 2;
  }
  herald::bench::LoadRun run(options);
  return run.Run();
}
