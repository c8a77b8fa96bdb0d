#include "tests/service/redis_server_fixture.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "service/redis/hiredis_reply.h"

namespace herald::testing {
namespace {

using service::redis::RedisReply;
constexpr char kRedisServer[] = "/usr/bin/redis-server";

// A port nobody listens on right now (the kernel's pick for port 0).
absl::StatusOr<uint16_t> FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError(strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::string why = strerror(errno);
    close(fd);
    return absl::InternalError(why);
  }
  close(fd);
  return ntohs(addr.sin_port);
}

std::string PercentEscape(const std::string& in) {
  std::string out;
  for (char c : in) {
    if (absl::ascii_isalnum(c)) {
      out.push_back(c);
    } else {
      out += absl::StrFormat("%%%02X", static_cast<unsigned char>(c));
    }
  }
  return out;
}

bool Exited(pid_t pid) {
  int status = 0;
  return waitpid(pid, &status, WNOHANG) == pid;
}

}  // namespace

RedisServer::RedisServer(RedisServerOptions options, std::string dir)
    : options_(std::move(options)), dir_(std::move(dir)) {
  if (options_.unix_socket) socket_path_ = dir_ + "/redis.sock";
}

absl::StatusOr<std::unique_ptr<RedisServer>> RedisServer::Start(
    RedisServerOptions options) {
  std::string tmpl = "/tmp/herald-redis-XXXXXX";  // short: socket paths
  if (mkdtemp(tmpl.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("mkdtemp: ", strerror(errno)));
  }
  std::unique_ptr<RedisServer> server(
      new RedisServer(std::move(options), tmpl));
  absl::Status last = absl::UnknownError("no attempt");
  for (int attempt = 0; attempt < 8; ++attempt) {
    absl::StatusOr<uint16_t> port = FreePort();
    if (!port.ok()) return port.status();
    server->port_ = *port;
    last = server->Launch();
    if (last.ok()) return server;
    // Most likely someone took the port between FreePort() and bind().
  }
  return last;
}

RedisServer::~RedisServer() {
  if (running()) Kill().IgnoreError();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

absl::Status RedisServer::Restart() {
  if (running()) return absl::FailedPreconditionError("still running");
  absl::Status last;
  for (int attempt = 0; attempt < 20; ++attempt) {
    last = Launch();
    if (last.ok()) return last;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return last;
}

absl::Status RedisServer::Launch() {
  std::vector<std::string> args = {kRedisServer,
                                   "--port",
                                   absl::StrCat(port_),
                                   "--bind",
                                   host_,
                                   "--save",
                                   "",
                                   "--appendonly",
                                   "no",
                                   "--dir",
                                   dir_,
                                   "--logfile",
                                   dir_ + "/redis.log",
                                   "--daemonize",
                                   "no",
                                   "--enable-debug-command",
                                   "yes"};
  if (!socket_path_.empty()) {
    args.insert(args.end(),
                {"--unixsocket", socket_path_, "--unixsocketperm", "700"});
  }
  if (!options_.password.empty()) {
    args.insert(args.end(), {"--requirepass", options_.password});
  }
  args.insert(args.end(), options_.extra_args.begin(),
              options_.extra_args.end());
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", errno));
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    int null_fd = open("/dev/null", O_RDWR);
    dup2(null_fd, 0);
    dup2(null_fd, 1);
    dup2(null_fd, 2);
    execv(kRedisServer, argv.data());
    _exit(127);
  }
  // Ready once it answers INFO as this very process (not another server
  // that got the port).
  std::string me = absl::StrCat("process_id:", pid, "\r\n");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (Exited(pid)) {
      return absl::UnavailableError(absl::StrCat("redis-server on port ", port_,
                                                 " exited: ", LogTail(500)));
    }
    absl::StatusOr<RedisReply> info =
        Command({"INFO", "server"}, std::chrono::milliseconds(200));
    if (info.ok() && absl::StrContains(info->str, me)) {
      pid_ = pid;
      return absl::OkStatus();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  return absl::DeadlineExceededError(
      absl::StrCat("redis-server on port ", port_, " did not answer"));
}

absl::Status RedisServer::Signal(int signal) {
  if (!running()) return absl::FailedPreconditionError("not running");
  kill(pid_, signal);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!Exited(pid_)) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      pid_ = -1;
      return absl::DeadlineExceededError("redis-server ignored the signal");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  pid_ = -1;
  return absl::OkStatus();
}

absl::Status RedisServer::Stop() { return Signal(SIGTERM); }

absl::Status RedisServer::Kill() { return Signal(SIGKILL); }

std::string RedisServer::Url() const {
  std::string auth =
      options_.password.empty()
          ? ""
          : absl::StrCat(":", PercentEscape(options_.password), "@");
  return absl::StrCat("redis://", auth, host_, ":", port_);
}

std::string RedisServer::UnixUrl() const {
  std::string auth =
      options_.password.empty()
          ? ""
          : absl::StrCat(":", PercentEscape(options_.password), "@");
  return absl::StrCat("unix://", auth, socket_path_);
}

std::string RedisServer::LogTail(size_t max_bytes) const {
  std::ifstream in(dir_ + "/redis.log");
  std::stringstream text;
  text << in.rdbuf();
  std::string all = text.str();
  return all.size() > max_bytes ? all.substr(all.size() - max_bytes) : all;
}

absl::StatusOr<RedisReply> RedisServer::Command(
    const std::vector<std::string>& argv,
    std::chrono::milliseconds timeout) const {
  timeval tv{};
  tv.tv_sec = timeout.count() / 1000;
  tv.tv_usec = (timeout.count() % 1000) * 1000;
  redisContext* c = redisConnectWithTimeout(host_.c_str(), port_, tv);
  if (c == nullptr) return absl::InternalError("redisConnect: out of memory");
  auto run =
      [&](const std::vector<std::string>& args) -> absl::StatusOr<RedisReply> {
    std::vector<const char*> ptrs;
    std::vector<size_t> lens;
    for (const std::string& arg : args) {
      ptrs.push_back(arg.data());
      lens.push_back(arg.size());
    }
    auto* reply = static_cast<redisReply*>(redisCommandArgv(
        c, static_cast<int>(args.size()), ptrs.data(), lens.data()));
    if (reply == nullptr) {
      return absl::UnavailableError(
          absl::StrCat("redis ", host_, ":", port_, ": ", c->errstr));
    }
    RedisReply out = service::redis::CopyHiredisReply(*reply);
    freeReplyObject(reply);
    return out;
  };
  absl::StatusOr<RedisReply> result = RedisReply{};
  if (c->err != 0) {
    result = absl::UnavailableError(
        absl::StrCat("redis ", host_, ":", port_, ": ", c->errstr));
  } else {
    redisSetTimeout(c, tv);
    if (!options_.password.empty()) result = run({"AUTH", options_.password});
    if (result.ok()) result = run(argv);
  }
  redisFree(c);
  return result;
}

}  // namespace herald::testing
