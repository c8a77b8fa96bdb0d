#include "service/config_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "service/config_sources.h"
#include "service/options.h"

namespace herald::service {
namespace {

// A file in the test's temporary directory holding `text`.
std::string WriteFile(const std::string& name, const std::string& text) {
  const std::string path = testing::TempDir() + "/" + name;
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  return path;
}

// The errors of parsing `args` over `env`.
std::vector<std::string> Errors(const std::vector<std::string>& args,
                                const Environment& env = {}) {
  return ParseOptionsReportingAll(args, env).errors;
}

std::string OneError(const std::vector<std::string>& args,
                     const Environment& env = {}) {
  std::vector<std::string> errors = Errors(args, env);
  EXPECT_EQ(errors.size(), 1u);
  return errors.empty() ? "" : errors.front();
}

TEST(ConfigFileTest, PrecedenceIsFlagThenEnvThenFileThenDefault) {
  const std::string path = WriteFile("precedence.toml", "main_port = 1000\n");
  const std::string config = "--config=" + path;
  const Environment env = {{"HERALD_MAIN_PORT", "2000"}};

  auto flag = ParseOptions({config, "--main_port=3000"}, env);
  ASSERT_TRUE(flag.ok()) << flag.status();
  EXPECT_EQ(flag->push.main_port, 3000);
  EXPECT_EQ(flag->given.at("main_port").source, "flag");

  auto from_env = ParseOptions({config}, env);
  ASSERT_TRUE(from_env.ok()) << from_env.status();
  EXPECT_EQ(from_env->push.main_port, 2000);
  EXPECT_EQ(from_env->given.at("main_port").source, "env HERALD_MAIN_PORT");

  auto file = ParseOptions({config}, {});
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->push.main_port, 1000);
  EXPECT_EQ(file->given.at("main_port").source, "file " + path + ":1");
  EXPECT_EQ(file->config_file, path);

  auto none = ParseOptions({}, {});
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(none->push.main_port, 444);
  EXPECT_TRUE(none->given.empty());
}

TEST(ConfigFileTest, EveryTomlTypeMapsToTheFlagsValueText) {
  const std::string path = WriteFile("types.toml", R"(# every type
main_port = 0
voice_port = 4445
plain = true
tls_own_records = false
state = "/var/lib/herald/herald.db"
allowed_origins = ["https://a.example", "https://b.example:8443"]
ping_interval_ms = 1500
tls_ticket_rotation_s = 3600
max_connections = 500
)");
  auto o = ParseOptions({"--config=" + path}, {});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->push.main_port, 0);
  EXPECT_EQ(o->push.voice_port, 4445);
  EXPECT_TRUE(o->push.plain);
  EXPECT_FALSE(o->push.tls_own_records);
  EXPECT_EQ(o->state, "/var/lib/herald/herald.db");
  EXPECT_EQ(o->push.allowed_origins,
            (std::vector<std::string>{"https://a.example",
                                      "https://b.example:8443"}));
  EXPECT_EQ(o->push.ping_interval, std::chrono::milliseconds(1500));
  EXPECT_EQ(o->push.tls_ticket_rotation, std::chrono::seconds(3600));
  EXPECT_EQ(o->push.max_connections, 500u);
  EXPECT_TRUE(o->max_connections_given);  // a file setting is given too
  EXPECT_EQ(o->given.at("allowed_origins").value,
            "https://a.example,https://b.example:8443");
  EXPECT_EQ(o->given.at("plain").source, "file " + path + ":4");
  EXPECT_EQ(o->given.at("tls_own_records").value, "false");
}

TEST(ConfigFileTest, OriginsAlsoAsACommaStringAndEmpty) {
  auto comma = ParseOptions(
      {"--config=" +
       WriteFile("comma.toml", "allowed_origins = \"https://a, https://b\"\n")},
      {});
  ASSERT_TRUE(comma.ok()) << comma.status();
  EXPECT_EQ(comma->push.allowed_origins,
            (std::vector<std::string>{"https://a", "https://b"}));
  auto empty = ParseOptions(
      {"--config=" + WriteFile("empty.toml", "allowed_origins = []\n")}, {});
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_TRUE(empty->push.allowed_origins.empty());
}

TEST(ConfigFileTest, UnknownKeyNamesTheKeyAndLine) {
  const std::string path =
      WriteFile("unknown.toml", "main_port = 0\n\nmian_port = 1\n");
  EXPECT_EQ(OneError({"--config=" + path}),
            path +
                ":3: unknown key 'mian_port' (keys are the flag names, see "
                "herald --help)");
}

TEST(ConfigFileTest, WrongTypesNameTheLine) {
  const std::string path = WriteFile("types_bad.toml", R"(main_port = "444"
plain = "yes"
state = 5
allowed_origins = [1]
threads = 1.5
verbose = 1
allowed_origins_x = 1
)");
  EXPECT_EQ(Errors({"--config=" + path}),
            (std::vector<std::string>{
                path + ":1: main_port: expected an integer",
                path + ":2: plain: expected true or false",
                path + ":3: state: expected a string",
                path + ":4: allowed_origins: expected an array of strings or a "
                       "comma-separated string",
                path + ":5: threads: expected an integer",
                path + ":6: verbose: expected true or false",
                path + ":7: unknown key 'allowed_origins_x' (keys are the flag "
                       "names, see herald --help)",
            }));
}

TEST(ConfigFileTest, ACommaInsideAnArrayElementIsRefused) {
  const std::string path = WriteFile(
      "comma_in_array.toml", "allowed_origins = [\"https://a,https://b\"]\n");
  EXPECT_EQ(OneError({"--config=" + path}),
            path +
                ":1: allowed_origins: expected an array of strings or a "
                "comma-separated string");
}

TEST(ConfigFileTest, ValuesGoThroughTheFlagsValidation) {
  const std::string path =
      WriteFile("range.toml", "\n\nmain_port = 70000\nstate = \"\"\n");
  EXPECT_EQ(Errors({"--config=" + path}),
            (std::vector<std::string>{
                path + ":3: invalid value '70000' for --main_port: expected an "
                       "integer from 0 to 65535",
                path + ":4: invalid value '' for --state: expected a non-empty "
                       "value",
            }));
  const std::string neg = WriteFile("neg.toml", "threads = -1\n");
  EXPECT_EQ(OneError({"--config=" + neg}),
            neg +
                ":1: invalid value '-1' for --threads: expected an integer "
                "from 0 to 256");
}

TEST(ConfigFileTest, SyntaxErrorNamesLineAndColumn) {
  const std::string path =
      WriteFile("syntax.toml", "main_port = 0\nplain = tru\n");
  const std::string e = OneError({"--config=" + path});
  EXPECT_EQ(e, path +
                   ":2:12: Error while parsing boolean: expected 'true', saw "
                   "'tru\\n'");
  const std::string eof = WriteFile("eof.toml", "main_port = ");
  EXPECT_EQ(OneError({"--config=" + eof}),
            eof +
                ":1:13: Error while parsing key-value pair: encountered "
                "end-of-file");
  const std::string dup =
      WriteFile("dup.toml", "plain = true\nplain = false\n");
  const std::string d = OneError({"--config=" + dup});
  EXPECT_EQ(d.rfind(dup + ":2:", 0), 0u) << d;
}

TEST(ConfigFileTest, TablesAndCommandLineOnlyKeysAreRefused) {
  const std::string path = WriteFile(
      "tables.toml",
      "config = \"/etc/other.toml\"\n[server]\nmain_port = 1\nhelp = true\n");
  EXPECT_EQ(
      Errors({"--config=" + path}),
      (std::vector<std::string>{
          path + ":1: config: only on the command line (--config=FILE) or "
                 "as HERALD_CONFIG",
          path + ":2: server: tables are not supported (keys are the flag "
                 "names, at the top level)",
      }));
  const std::string inline_table =
      WriteFile("inline.toml", "main_port = { port = 1 }\n");
  EXPECT_EQ(OneError({"--config=" + inline_table}),
            inline_table + ":1: main_port: expected an integer");
}

TEST(ConfigFileTest, OversizedFileIsRefusedUnread) {
  // Exactly at the limit: fine.
  std::string text = "plain = true\n";
  text.append(kMaxConfigFileBytes - text.size() - 1, '#');
  text += "\n";
  ASSERT_EQ(text.size(), kMaxConfigFileBytes);
  auto at = ParseOptions({"--config=" + WriteFile("at_limit.toml", text)}, {});
  ASSERT_TRUE(at.ok()) << at.status();
  EXPECT_TRUE(at->push.plain);
  const std::string big = WriteFile("big.toml", text + "\n");
  EXPECT_EQ(OneError({"--config=" + big}),
            big + ": config file larger than 1048576 bytes");
}

TEST(ConfigFileTest, MissingOrUnusableFile) {
  const std::string missing = testing::TempDir() + "/no-such.toml";
  EXPECT_EQ(OneError({"--config=" + missing}),
            missing + ": cannot read config file: No such file or directory");
  EXPECT_EQ(OneError({"--config=" + testing::TempDir()}),
            testing::TempDir() + ": config file is not a regular file");
  const std::string fifo = testing::TempDir() + "/config.fifo";
  unlink(fifo.c_str());
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_EQ(OneError({"--config=" + fifo}),  // and does not hang
            fifo + ": config file is not a regular file");
  unlink(fifo.c_str());
  EXPECT_EQ(OneError({"--config"}),
            "flag --config needs a value: --config=FILE");
}

TEST(ConfigFileTest, BadUtf8IsASyntaxError) {
  const std::string path = WriteFile("utf8.toml", "state = \"\xff\xfe\"\n");
  const std::string e = OneError({"--config=" + path});
  EXPECT_EQ(e.rfind(path + ":1:", 0), 0u) << e;
}

TEST(ConfigFileTest, EnvironmentMapping) {
  EXPECT_EQ(EnvVarName("main_port"), "HERALD_MAIN_PORT");
  EXPECT_EQ(EnvVarName("max_new_connections_per_ip_per_sec"),
            "HERALD_MAX_NEW_CONNECTIONS_PER_IP_PER_SEC");
  const Environment env = {
      {"HERALD_PLAIN", "true"},
      {"HERALD_ALLOWED_ORIGINS", "https://a,https://b"},
      {"HERALD_STATE", "/tmp/x.db"},
      // Not settings: ignored, whatever their values.
      {"HERALD_BIN", "/usr/bin/false"},
      {"HERALD_SANITIZER", "asan"},
      {"HERALD_BUILD_DIR", "not a flag"},
      {"HERALD_HELP", "1"},
      {"HERALD_main_port", "1"},  // names are upper case
  };
  auto o = ParseOptions({}, env);
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_TRUE(o->push.plain);
  EXPECT_FALSE(o->help);
  EXPECT_EQ(o->push.main_port, 444);
  EXPECT_EQ(o->state, "/tmp/x.db");
  EXPECT_EQ(o->push.allowed_origins,
            (std::vector<std::string>{"https://a", "https://b"}));
  EXPECT_EQ(o->given.size(), 3u);
  EXPECT_EQ(o->given.at("plain").source, "env HERALD_PLAIN");

  EXPECT_EQ(OneError({}, {{"HERALD_MAIN_PORT", "x"}}),
            "HERALD_MAIN_PORT: invalid value 'x' for --main_port: expected an "
            "integer from 0 to 65535");
}

TEST(ConfigFileTest, ConfigFromEnvironmentAndFlagOverridesIt) {
  const std::string a = WriteFile("env_a.toml", "main_port = 1001\n");
  const std::string b = WriteFile("env_b.toml", "main_port = 1002\n");
  auto from_env = ParseOptions({}, {{"HERALD_CONFIG", a}});
  ASSERT_TRUE(from_env.ok()) << from_env.status();
  EXPECT_EQ(from_env->push.main_port, 1001);
  auto flag = ParseOptions({"--config=" + b}, {{"HERALD_CONFIG", a}});
  ASSERT_TRUE(flag.ok()) << flag.status();
  EXPECT_EQ(flag->push.main_port, 1002);
  auto off = ParseOptions({"--config="}, {{"HERALD_CONFIG", a}});
  ASSERT_TRUE(off.ok()) << off.status();
  EXPECT_EQ(off->push.main_port, 444);
}

TEST(ConfigFileTest, HelpAndVersionIgnoreFileAndEnvironment) {
  const std::string missing = testing::TempDir() + "/absent.toml";
  for (const char* flag : {"--help", "--version"}) {
    auto o = ParseOptions({flag, "--config=" + missing},
                          {{"HERALD_MAIN_PORT", "bad"}});
    ASSERT_TRUE(o.ok()) << flag << ": " << o.status();
  }
}

TEST(ConfigFileTest, CombinationsAreCheckedOnTheMergedSettings) {
  const std::string path =
      WriteFile("combo.toml", "tls_cert = \"/etc/herald/cert.pem\"\n");
  EXPECT_EQ(OneError({"--config=" + path}),
            "--tls_cert and --tls_key go together: give both or neither");
  auto ok =
      ParseOptions({"--config=" + path, "--tls_key=/etc/herald/k.pem"}, {});
  EXPECT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(OneError({"--main_port=5000"}, {{"HERALD_VOICE_PORT", "5000"}}),
            "--main_port and --voice_port must differ");
}

TEST(ConfigFileTest, EveryProblemIsReported) {
  const std::string path = WriteFile("many.toml", "main_port = \"x\"\n");
  EXPECT_EQ(Errors({"--config=" + path, "--nope", "--threads=x"},
                   {{"HERALD_VOICE_PORT", "y"}}),
            (std::vector<std::string>{
                "unknown flag --nope (see --help)",
                path + ":1: main_port: expected an integer",
                "HERALD_VOICE_PORT: invalid value 'y' for --voice_port: "
                "expected an integer from 0 to 65535",
                "invalid value 'x' for --threads: expected an integer from 0 "
                "to 256",
            }));
}

TEST(ConfigFileTest, DescribeEffectiveConfig) {
  EXPECT_EQ(DescribeEffectiveConfig(*ParseOptions({}, {})),
            "config: all settings default");
  const std::string token = WriteFile("token", "s3cret-token\n");
  chmod(token.c_str(), 0600);
  const std::string path =
      WriteFile("describe.toml",
                "main_port = 444\nallowed_origins = \"https://a, "
                "https://b\"\ngrpc_token_file = \"" +
                    token + "\"\n");
  auto o = ParseOptions({"--config=" + path, "--verbose"},
                        {{"HERALD_PLAIN", "true"}});
  ASSERT_TRUE(o.ok()) << o.status();
  const std::string line = DescribeEffectiveConfig(*o);
  EXPECT_EQ(line, "config: allowed_origins=\"https://a, https://b\" (file " +
                      path + ":2), grpc_token_file=" + token + " (file " +
                      path + ":3), main_port=444 (file " + path +
                      ":1), plain=true (env HERALD_PLAIN), verbose=true "
                      "(flag); other settings default");
  EXPECT_EQ(line.find("s3cret"), std::string::npos);
  // The --redis password is never printed.
  auto redis = ParseOptions({"--redis=redis://app:s3cret@10.0.0.5:6379/1"}, {});
  ASSERT_TRUE(redis.ok()) << redis.status();
  EXPECT_EQ(DescribeEffectiveConfig(*redis),
            "config: redis=redis://***@10.0.0.5:6379/1 (flag); other settings "
            "default");
  // Unprintable bytes cannot break the one-line log.
  auto nl = ParseOptions({"--state=a\nb"}, {});
  ASSERT_TRUE(nl.ok()) << nl.status();
  EXPECT_EQ(DescribeEffectiveConfig(*nl),
            "config: state=\"a\\nb\" (flag); other settings default");
}

// The example config, every `# key = value` line uncommented, is a valid
// config: its keys are flags and its values pass their validation.
TEST(ConfigFileTest, ExampleConfigIsValid) {
  std::ifstream in(HERALD_SOURCE_DIR "/deploy/herald.toml");
  ASSERT_TRUE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  const std::string uncommented = std::regex_replace(
      text.str(), std::regex("^# ([a-z_]+ = )", std::regex::multiline), "$1");
  const std::string path = WriteFile("example.toml", uncommented);
  ParsedOptions parsed = ParseOptionsReportingAll({"--config=" + path}, {});
  std::vector<std::string> errors;
  for (const std::string& e : parsed.errors) {
    // Until the admin port's flag is in the flag table.
    if (!FindFlagType("admin_address") &&
        e.find("unknown key 'admin_address'") != std::string::npos) {
      continue;
    }
    errors.push_back(e);
  }
  EXPECT_EQ(errors, std::vector<std::string>{});
  EXPECT_GE(parsed.options.given.size(), 30u);
  EXPECT_EQ(parsed.options.state, "/var/lib/herald/herald.db");
}

}  // namespace
}  // namespace herald::service
