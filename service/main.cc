// herald: the entry point. Everything else lives in HeraldApp.
#include <signal.h>
#include <sys/resource.h>

#include <cstdio>
#include <string>
#include <vector>

#include "push/log.h"
#include "service/herald_app.h"
#include "service/options.h"
#include "service/stats_collector.h"

int main(int argc, char** argv) {
  auto options = herald::service::ParseOptions(
      std::vector<std::string>(argv + 1, argv + argc));
  if (!options.ok()) {
    fprintf(stderr, "herald: %s\n",
            std::string(options.status().message()).c_str());
    return 2;
  }
  if (options->help) {
    fputs(herald::service::Usage().c_str(), stdout);
    return 0;
  }
  if (options->version) {
    printf("herald %s\n", herald::service::StatsCollector::Version());
    return 0;
  }
  herald::SetLogVerbose(options->verbose);

  // Every descriptor the hard limit allows: one per connection.
  rlimit files;
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 &&
      files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }
  // Signals are taken synchronously below; threads started later inherit
  // the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto app = herald::service::HeraldApp::Start(*options);
  if (!app.ok()) {
    fprintf(stderr, "herald: %s\n",
            std::string(app.status().message()).c_str());
    return 2;
  }
  printf("ready main_port=%u voice_port=%u grpc_port=%d\n", (*app)->main_port(),
         (*app)->voice_port(), (*app)->grpc_port());
  fflush(stdout);

  int received = 0;
  sigwait(&signals, &received);
  herald::LogInfo("signal ", received, ": shutting down");
  (*app)->Shutdown();
  return 0;
}
