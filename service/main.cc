// herald: the entry point. Everything else lives in HeraldApp.
#include <signal.h>
#include <sys/resource.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "grpc/support/log.h"
#include "push/log.h"
#include "service/config_check.h"
#include "service/config_sources.h"
#include "service/herald_app.h"
#include "service/options.h"

namespace {

// Problems go to stderr, one line each, and exit with 2.
int Fail(const std::vector<std::string>& errors) {
  for (const std::string& e : errors) {
    fprintf(stderr, "herald: %s\n", e.c_str());
  }
  return 2;
}

// --check_config: everything short of binding ports and opening the state.
int CheckConfig(const herald::service::HeraldOptions& options) {
  std::vector<std::string> errors = herald::service::CheckStartupFiles(options);
  if (!errors.empty()) return Fail(errors);
  printf("config ok\n%s\n",
         herald::service::DescribeEffectiveConfig(options).c_str());
  return 0;
}

using herald::service::HeraldApp;

// SIGHUP: reads the flags, environment and config file again and applies
// the settings that can change at run time (log_level, log_format,
// log_refusals_per_sec); a config that no longer parses is logged and
// changes nothing. Then reloads the WebSocket certificate and key.
void Reload(const std::vector<std::string>& args, HeraldApp& app) {
  herald::service::ParsedOptions parsed =
      herald::service::ParseOptionsReportingAll(
          args, herald::service::ProcessEnvironment());
  if (!parsed.errors.empty()) {
    herald::Log(herald::LogLevel::kError, "reload",
                {{"msg", absl::StrCat("reload: config: ", parsed.errors[0],
                                      "; log settings unchanged")}});
  } else {
    const herald::service::HeraldOptions& o = parsed.options;
    herald::SetLogLevel(o.log_level);
    herald::SetLogFormat(o.log_format);
    herald::SetLogRefusalsPerSec(o.log_refusals_per_sec);
    herald::Log(
        herald::LogLevel::kInfo, "reload",
        {{"msg", absl::StrCat(
                     "reload: log_level=", herald::LogLevelName(o.log_level),
                     " log_format=",
                     o.log_format == herald::LogFormat::kJson ? "json" : "text",
                     " log_refusals_per_sec=", o.log_refusals_per_sec)}});
  }
  (void)app.Reload();  // logs what it did
}

// Waits for SIGTERM or SIGINT (returned), reloading on every SIGHUP.
int WaitForStop(const sigset_t& signals, const std::vector<std::string>& args,
                HeraldApp& app) {
  for (;;) {
    int received = 0;
    if (sigwait(&signals, &received) != 0) continue;
    if (received != SIGHUP) return received;
    Reload(args, app);
  }
}

// Keeps serving for `delay` after the health flip; a second SIGTERM or
// SIGINT ends the wait early, SIGHUP still reloads.
void WaitDrainDelay(const sigset_t& signals, std::chrono::milliseconds delay,
                    const std::vector<std::string>& args, HeraldApp& app) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point end = Clock::now() + delay;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(
        end - Clock::now());
    if (left.count() <= 0) return;
    const timespec timeout{
        .tv_sec = static_cast<time_t>(left.count() / 1000000000),
        .tv_nsec = static_cast<long>(left.count() % 1000000000)};
    const int received = sigtimedwait(&signals, nullptr, &timeout);
    if (received < 0) {
      if (errno == EAGAIN) return;
      continue;  // EINTR
    }
    if (received == SIGHUP) {
      Reload(args, app);
      continue;
    }
    herald::LogInfo("signal ", received, " (", strsignal(received),
                    ") again: ending the drain delay");
    return;
  }
}

// gRPC's own messages become records too, so that every stderr line has
// the chosen format.
void LogGrpcMessage(gpr_log_func_args* args) {
  const herald::LogLevel level =
      args->severity == GPR_LOG_SEVERITY_ERROR  ? herald::LogLevel::kError
      : args->severity == GPR_LOG_SEVERITY_INFO ? herald::LogLevel::kInfo
                                                : herald::LogLevel::kDebug;
  herald::Log(level, "grpc",
              {{"file", args->file != nullptr ? args->file : ""},
               {"line", args->line},
               {"msg", args->message != nullptr ? args->message : ""}});
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  herald::service::ParsedOptions parsed =
      herald::service::ParseOptionsReportingAll(
          args, herald::service::ProcessEnvironment());
  herald::service::HeraldOptions* options = &parsed.options;
  if (!parsed.errors.empty()) {
    // Serving: the first problem, one line; checking: all of them.
    if (!options->check_config) parsed.errors.resize(1);
    return Fail(parsed.errors);
  }
  if (options->help) {
    fputs(herald::service::Usage().c_str(), stdout);
    return 0;
  }
  if (options->version) {
    printf("herald %s\n", HERALD_VERSION);
    return 0;
  }
  if (options->check_config) return CheckConfig(*options);
  herald::SetLogLevel(options->log_level);
  herald::SetLogFormat(options->log_format);
  herald::SetLogRefusalsPerSec(options->log_refusals_per_sec);
  gpr_set_log_function(&LogGrpcMessage);

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
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto app = herald::service::HeraldApp::Start(*options);
  if (!app.ok()) {
    if (options->log_format == herald::LogFormat::kJson) {
      herald::Log(herald::LogLevel::kError, "start_failed",
                  {{"error", app.status().message()}});
    } else {
      fprintf(stderr, "herald: %s\n",
              std::string(app.status().message()).c_str());
    }
    return 2;
  }
  // Logged once serving: a failed start stays a one-line error.
  herald::LogInfo(herald::service::DescribeEffectiveConfig(*options));
  std::string ready = absl::StrCat("ready main_port=", (*app)->main_port(),
                                   " voice_port=", (*app)->voice_port(),
                                   " grpc_port=", (*app)->grpc_port());
  if ((*app)->admin_port() != 0) {
    absl::StrAppend(&ready, " admin_port=", (*app)->admin_port());
  }
  printf("%s\n", ready.c_str());
  fflush(stdout);

  const int received = WaitForStop(signals, args, **app);
  (*app)->BeginDrain();
  herald::Log(
      herald::LogLevel::kInfo, "signal",
      {{"signal", received == SIGINT ? "SIGINT" : "SIGTERM"},
       {"number", received},
       {"action", "draining"},
       {"drain_delay_ms", static_cast<int64_t>(options->drain_delay.count())}});
  WaitDrainDelay(signals, options->drain_delay, args, **app);
  (*app)->Shutdown();
  return 0;
}
