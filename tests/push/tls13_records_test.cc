#include "push/tls13_records.h"

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "push/tls13_secrets.h"

namespace herald::push {
namespace {

// An OpenSSL client and an OpenSSL server joined by memory BIOs. After the
// handshake the server's records are handed to Tls13Records, and the test
// plays the server's socket by moving bytes by hand.
class Tls13RecordsTest : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    server_ctx_ = SSL_CTX_new(TLS_server_method());
    client_ctx_ = SSL_CTX_new(TLS_client_method());
    ASSERT_NE(server_ctx_, nullptr);
    ASSERT_NE(client_ctx_, nullptr);
    EVP_PKEY* key = EVP_EC_gen("P-256");
    ASSERT_NE(key, nullptr);
    X509* cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(
        name, "CN", MBSTRING_ASC,
        reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
    X509_set_issuer_name(cert, name);
    ASSERT_GT(X509_sign(cert, key, EVP_sha256()), 0);
    ASSERT_EQ(SSL_CTX_use_certificate(server_ctx_, cert), 1);
    ASSERT_EQ(SSL_CTX_use_PrivateKey(server_ctx_, key), 1);
    X509_free(cert);
    EVP_PKEY_free(key);
    SSL_CTX_set_num_tickets(server_ctx_, 0);
    ASSERT_TRUE(Tls13Secrets::Install(server_ctx_));
    ASSERT_EQ(SSL_CTX_set_ciphersuites(client_ctx_, GetParam()), 1);
    SSL_CTX_set_min_proto_version(client_ctx_, TLS1_3_VERSION);

    server_ = SSL_new(server_ctx_);
    client_ = SSL_new(client_ctx_);
    server_in_ = BIO_new(BIO_s_mem());
    server_out_ = BIO_new(BIO_s_mem());
    client_in_ = BIO_new(BIO_s_mem());
    client_out_ = BIO_new(BIO_s_mem());
    SSL_set_bio(server_, server_in_, server_out_);
    SSL_set_bio(client_, client_in_, client_out_);
    SSL_set_accept_state(server_);
    SSL_set_connect_state(client_);
    Tls13Secrets::Attach(server_, &secrets_);

    for (int i = 0; i < 10; ++i) {
      SSL_do_handshake(client_);
      Move(client_out_, server_in_);
      SSL_do_handshake(server_);
      Move(server_out_, client_in_);
    }
    ASSERT_EQ(SSL_is_init_finished(server_), 1);
    ASSERT_EQ(SSL_is_init_finished(client_), 1);
    ASSERT_EQ(SSL_version(server_), TLS1_3_VERSION);
    ASSERT_EQ(BIO_ctrl_pending(server_out_), 0u);  // no tickets, nothing owed
    records_ = Tls13Records::Create(SSL_get_current_cipher(server_), secrets_);
    ASSERT_NE(records_, nullptr);
    // The client's side played by hand, from the same secrets swapped.
    Tls13Secrets swapped;
    swapped.client = secrets_.server;
    swapped.client_size = secrets_.server_size;
    swapped.server = secrets_.client;
    swapped.server_size = secrets_.client_size;
    crafter_ = Tls13Records::Create(
        static_cast<uint16_t>(
            SSL_CIPHER_get_id(SSL_get_current_cipher(server_)) & 0xffff),
        swapped);
    ASSERT_NE(crafter_, nullptr);
  }

  void TearDown() override {
    SSL_free(server_);
    SSL_free(client_);
    SSL_CTX_free(server_ctx_);
    SSL_CTX_free(client_ctx_);
  }

  static void Move(BIO* from, BIO* to) {
    char buf[4096];
    int n;
    while ((n = BIO_read(from, buf, sizeof(buf))) > 0) BIO_write(to, buf, n);
  }

  // What the client sent since the last call.
  std::string ClientBytes() {
    std::string out;
    char buf[4096];
    int n;
    while ((n = BIO_read(client_out_, buf, sizeof(buf))) > 0)
      out.append(buf, n);
    return out;
  }

  // Delivers server records to the client and returns what it reads.
  std::string ClientReads(const std::string& records) {
    BIO_write(client_in_, records.data(), static_cast<int>(records.size()));
    std::string out;
    char buf[4096];
    int n;
    while ((n = SSL_read(client_, buf, sizeof(buf))) > 0) out.append(buf, n);
    return out;
  }

  Tls13Records::OpenStatus Open(const std::string& bytes, size_t& consumed,
                                std::string& plain) {
    return records_->Open(reinterpret_cast<const uint8_t*>(bytes.data()),
                          bytes.size(), consumed, plain);
  }

  // One record the client could send: TLSInnerPlaintext `content`, `type`
  // and `padding` zeros, sealed under the client's current key.
  std::string Craft(const std::string& content, uint8_t type,
                    size_t padding = 0) {
    std::string inner = content;
    inner.push_back(static_cast<char>(type));
    inner.append(padding, '\0');
    std::string out;
    EXPECT_TRUE(crafter_->SealInnerForTest(
        reinterpret_cast<const uint8_t*>(inner.data()), inner.size(), out));
    return out;
  }
  std::string CraftKeyUpdate(bool request) {
    std::string out;
    EXPECT_TRUE(crafter_->SealKeyUpdate(request, out));
    return out;
  }

  // Opens `bytes` and expects them to fail with `alert`.
  void ExpectAlert(const std::string& bytes, Tls13Records::Alert alert) {
    size_t consumed = 0;
    std::string plain;
    EXPECT_EQ(Open(bytes, consumed, plain), Tls13Records::OpenStatus::kError);
    EXPECT_EQ(static_cast<int>(records_->alert()), static_cast<int>(alert));
  }

  SSL_CTX* server_ctx_ = nullptr;
  SSL_CTX* client_ctx_ = nullptr;
  SSL* server_ = nullptr;
  SSL* client_ = nullptr;
  BIO* server_in_ = nullptr;
  BIO* server_out_ = nullptr;
  BIO* client_in_ = nullptr;
  BIO* client_out_ = nullptr;
  Tls13Secrets secrets_;
  std::unique_ptr<Tls13Records> records_;
  std::unique_ptr<Tls13Records> crafter_;
};

using Alert = Tls13Records::Alert;
constexpr uint8_t kAppData = 23, kAlertType = 21, kHandshakeType = 22;

TEST_P(Tls13RecordsTest, ClientReadsSealedData) {
  std::string records;
  ASSERT_TRUE(records_->SealAppData("hello", 5, records));
  EXPECT_EQ(records.size(), 5u + 5 + 1 + 16);  // header, data, type, tag
  EXPECT_EQ(ClientReads(records), "hello");
}

TEST_P(Tls13RecordsTest, LargeWritesSplitIntoFullRecords) {
  const std::string big(40000, 'x');
  std::string records;
  ASSERT_TRUE(records_->SealAppData(big.data(), big.size(), records));
  EXPECT_EQ(records_->write_sequence(), 3u);  // 16384 + 16384 + 7232
  EXPECT_EQ(ClientReads(records), big);
}

TEST_P(Tls13RecordsTest, SealsScatteredPiecesAcrossRecords) {
  // Frames as the connection hands them over: pieces of any size, some
  // empty, that records must cut across.
  const std::string a(10, 'a'), b(20000, 'b'), c(5, 'c'), d(30000, 'd');
  const std::vector<boost::asio::const_buffer> pieces = {
      {nullptr, 0},         {a.data(), a.size()}, {b.data(), b.size()},
      {c.data(), c.size()}, {nullptr, 0},         {d.data(), d.size()}};
  const size_t size = a.size() + b.size() + c.size() + d.size();
  std::string records;
  ASSERT_TRUE(records_->SealAppData(pieces, size, records));
  EXPECT_EQ(records_->write_sequence(), 4u);  // 50015 bytes: 3 full + 1
  EXPECT_EQ(ClientReads(records), a + b + c + d);
}

TEST_P(Tls13RecordsTest, OpensClientData) {
  ASSERT_EQ(SSL_write(client_, "ping", 4), 4);
  ASSERT_EQ(SSL_write(client_, "pong", 4), 4);
  const std::string bytes = ClientBytes();
  size_t consumed = 0;
  std::string plain;
  EXPECT_EQ(Open(bytes, consumed, plain), Tls13Records::OpenStatus::kOk);
  EXPECT_EQ(consumed, bytes.size());
  EXPECT_EQ(plain, "pingpong");
  EXPECT_FALSE(records_->key_update_owed());
}

TEST_P(Tls13RecordsTest, IncompleteRecordWaitsForTheRest) {
  const std::string big(20000, 'y');
  ASSERT_EQ(SSL_write(client_, big.data(), static_cast<int>(big.size())),
            static_cast<int>(big.size()));
  const std::string bytes = ClientBytes();
  std::string plain, pending;
  size_t consumed = 0;
  // One byte at a time: nothing opens until a record is whole.
  for (char c : bytes) {
    pending.push_back(c);
    ASSERT_EQ(Open(pending, consumed, plain), Tls13Records::OpenStatus::kOk);
    pending.erase(0, consumed);
  }
  EXPECT_TRUE(pending.empty());
  EXPECT_EQ(plain, big);
}

TEST_P(Tls13RecordsTest, AnswersRequestedKeyUpdate) {
  ASSERT_EQ(SSL_key_update(client_, SSL_KEY_UPDATE_REQUESTED), 1);
  ASSERT_EQ(SSL_write(client_, "after", 5), 5);
  size_t consumed = 0;
  std::string plain, reply;
  EXPECT_EQ(Open(ClientBytes(), consumed, plain),
            Tls13Records::OpenStatus::kOk);
  EXPECT_EQ(plain, "after");
  ASSERT_TRUE(records_->key_update_owed());
  ASSERT_TRUE(records_->AnswerKeyUpdate(reply));  // under the old key
  EXPECT_EQ(reply.size(), 5u + 5 + 1 + 16);
  EXPECT_FALSE(records_->key_update_owed());
  ASSERT_TRUE(records_->SealAppData("post", 4, reply));  // under the new one
  EXPECT_EQ(ClientReads(reply), "post");
  // Both directions keep working on the new keys.
  ASSERT_EQ(SSL_write(client_, "again", 5), 5);
  plain.clear();
  EXPECT_EQ(Open(ClientBytes(), consumed, plain),
            Tls13Records::OpenStatus::kOk);
  EXPECT_EQ(plain, "again");
  EXPECT_FALSE(records_->key_update_owed());
}

TEST_P(Tls13RecordsTest, KeyUpdateNotRequestedNeedsNoAnswer) {
  ASSERT_EQ(SSL_key_update(client_, SSL_KEY_UPDATE_NOT_REQUESTED), 1);
  ASSERT_EQ(SSL_write(client_, "x", 1), 1);
  size_t consumed = 0;
  std::string plain;
  EXPECT_EQ(Open(ClientBytes(), consumed, plain),
            Tls13Records::OpenStatus::kOk);
  EXPECT_EQ(plain, "x");
  EXPECT_FALSE(records_->key_update_owed());
  std::string records;
  ASSERT_TRUE(records_->SealAppData("y", 1, records));
  EXPECT_EQ(ClientReads(records), "y");
}

TEST_P(Tls13RecordsTest, RotatesItsKeyBeforeTheUsageLimit) {
  records_->set_records_per_key_for_test(2);
  std::string records;
  ASSERT_TRUE(records_->SealAppData("a", 1, records));
  ASSERT_TRUE(records_->SealAppData("b", 1, records));
  EXPECT_EQ(records_->write_sequence(), 2u);
  ASSERT_TRUE(records_->SealAppData("rotated", 7, records));
  EXPECT_EQ(records_->write_sequence(), 1u);  // a fresh key, one record on it
  // The client reads it only through a real key change: the KeyUpdate under
  // the old key, then the data under the next one.
  EXPECT_EQ(ClientReads(records), "abrotated");
}

TEST_P(Tls13RecordsTest, CloseNotifyBothWays) {
  ASSERT_GE(SSL_shutdown(client_), 0);
  size_t consumed = 0;
  std::string plain;
  EXPECT_EQ(Open(ClientBytes(), consumed, plain),
            Tls13Records::OpenStatus::kPeerClosed);
  std::string records;
  ASSERT_TRUE(records_->SealCloseNotify(records));
  BIO_write(client_in_, records.data(), static_cast<int>(records.size()));
  char buf[8];
  const int r = SSL_read(client_, buf, sizeof(buf));
  EXPECT_EQ(SSL_get_error(client_, r), SSL_ERROR_ZERO_RETURN);
}

TEST_P(Tls13RecordsTest, RejectsTamperedRecord) {
  ASSERT_EQ(SSL_write(client_, "secret", 6), 6);
  std::string bytes = ClientBytes();
  bytes[bytes.size() - 3] ^= 0x01;  // inside the tag
  size_t consumed = 0;
  std::string plain;
  EXPECT_EQ(Open(bytes, consumed, plain), Tls13Records::OpenStatus::kError);
  EXPECT_EQ(records_->alert(), Alert::kBadRecordMac);
  EXPECT_TRUE(plain.empty());
}

TEST_P(Tls13RecordsTest, RejectsReplayedRecord) {
  ASSERT_EQ(SSL_write(client_, "once", 4), 4);
  const std::string bytes = ClientBytes();
  size_t consumed = 0;
  std::string plain;
  ASSERT_EQ(Open(bytes, consumed, plain), Tls13Records::OpenStatus::kOk);
  EXPECT_EQ(Open(bytes, consumed, plain),  // sequence moved on
            Tls13Records::OpenStatus::kError);
  EXPECT_EQ(records_->alert(), Alert::kBadRecordMac);
  EXPECT_EQ(plain, "once");
}

TEST_P(Tls13RecordsTest, RejectsUnprotectedAndOversizedRecords) {
  // A plaintext alert after the handshake.
  ExpectAlert(std::string("\x15\x03\x03\x00\x02\x01\x00", 7),
              Alert::kUnexpectedMessage);
  // A header announcing more than 2^14 + 256 bytes is refused before the
  // body arrives, so no buffer grows for it.
  ExpectAlert(std::string("\x17\x03\x03\x41\x01", 5), Alert::kRecordOverflow);
  // Too short to hold a tag.
  ExpectAlert(std::string("\x17\x03\x03\x00\x05zzzzz", 10),
              Alert::kBadRecordMac);
}

TEST_P(Tls13RecordsTest, InnerPlaintextLimitCountsPadding) {
  // 2^14 bytes of content and the type byte: the largest allowed.
  const std::string full(1 << 14, 'f');
  size_t consumed = 0;
  std::string plain;
  ASSERT_EQ(Open(Craft(full, kAppData), consumed, plain),
            Tls13Records::OpenStatus::kOk);
  EXPECT_EQ(plain, full);
  // Padding counts (RFC 8446 §5.4): one zero more is too long, although
  // the content alone would fit once the zeros are stripped.
  ExpectAlert(Craft(full, kAppData, 1), Alert::kRecordOverflow);
}

TEST_P(Tls13RecordsTest, PaddingUpToTheLimitIsStripped) {
  const size_t padding = (1 << 14) - 2;  // 2 + type + padding = 2^14 + 1
  size_t consumed = 0;
  std::string plain;
  std::string bytes = Craft("ab", kAppData, padding);
  bytes += Craft("cd", kAppData, 1);  // each sealed in turn: += sequences them
  ASSERT_EQ(Open(bytes, consumed, plain), Tls13Records::OpenStatus::kOk);
  EXPECT_EQ(plain, "abcd");
}

TEST_P(Tls13RecordsTest, WrongInnerTypesAreUnexpected) {
  ExpectAlert(Craft("", 0, 40), Alert::kUnexpectedMessage);  // all zeros
}

TEST_P(Tls13RecordsTest, ChangeCipherSpecInsideIsUnexpected) {
  ExpectAlert(Craft("\x01", 20), Alert::kUnexpectedMessage);
}

TEST_P(Tls13RecordsTest, UnknownInnerTypeIsUnexpected) {
  ExpectAlert(Craft("x", 99), Alert::kUnexpectedMessage);
}

TEST_P(Tls13RecordsTest, OtherHandshakeMessageIsUnexpected) {
  // A NewSessionTicket, which only a server sends.
  ExpectAlert(Craft(std::string("\x04\x00\x00\x01\x00", 5), kHandshakeType),
              Alert::kUnexpectedMessage);
}

TEST_P(Tls13RecordsTest, ShortKeyUpdateIsADecodeError) {
  ExpectAlert(Craft(std::string("\x18\x00\x00", 3), kHandshakeType),
              Alert::kDecodeError);
}

TEST_P(Tls13RecordsTest, KeyUpdateWithWrongLengthIsADecodeError) {
  ExpectAlert(Craft(std::string("\x18\x00\x00\x02\x01\x00", 6), kHandshakeType),
              Alert::kDecodeError);
}

TEST_P(Tls13RecordsTest, KeyUpdateWithUnknownRequestIsIllegal) {
  ExpectAlert(Craft(std::string("\x18\x00\x00\x01\x02", 5), kHandshakeType),
              Alert::kIllegalParameter);
}

TEST_P(Tls13RecordsTest, MalformedAlertIsADecodeError) {
  ExpectAlert(Craft(std::string("\x01\x00\x00", 3), kAlertType),
              Alert::kDecodeError);
}

TEST_P(Tls13RecordsTest, PeerFatalAlertEndsWithoutAnswer) {
  size_t consumed = 0;
  std::string plain;
  std::string bytes = Craft("data", kAppData);
  bytes += Craft(std::string("\x02\x28", 2), kAlertType);
  EXPECT_EQ(Open(bytes, consumed, plain), Tls13Records::OpenStatus::kPeerAlert);
  EXPECT_EQ(static_cast<int>(records_->alert()), 40);  // handshake_failure
  EXPECT_EQ(plain, "data");
}

TEST_P(Tls13RecordsTest, OneAnswerCoversSeveralKeyUpdateRequests) {
  size_t consumed = 0;
  std::string plain;
  std::string bytes = CraftKeyUpdate(true);
  bytes += CraftKeyUpdate(true);
  bytes += CraftKeyUpdate(true);
  bytes += Craft("data", kAppData);
  ASSERT_EQ(Open(bytes, consumed, plain), Tls13Records::OpenStatus::kOk);
  EXPECT_EQ(plain, "data");
  EXPECT_TRUE(records_->key_update_owed());
  // The next write carries one KeyUpdate (27 bytes) ahead of its record.
  std::string records;
  ASSERT_TRUE(records_->SealAppData("post", 4, records));
  EXPECT_EQ(records.size(), 27u + 5 + 4 + 1 + 16);
  EXPECT_FALSE(records_->key_update_owed());
  std::string nothing;
  ASSERT_TRUE(records_->AnswerKeyUpdate(nothing));
  EXPECT_TRUE(nothing.empty());  // already answered
  EXPECT_EQ(ClientReads(records), "post");
  // A request after the answer is owed again.
  ASSERT_EQ(Open(CraftKeyUpdate(true), consumed, plain),
            Tls13Records::OpenStatus::kOk);
  EXPECT_TRUE(records_->key_update_owed());
  ASSERT_TRUE(records_->AnswerKeyUpdate(records));
  EXPECT_FALSE(records_->key_update_owed());
}

TEST_P(Tls13RecordsTest, CapsKeyUpdatesWithoutData) {
  std::string bytes;
  for (int i = 0; i < Tls13Records::kMaxKeyUpdates; ++i) {
    bytes += CraftKeyUpdate(i % 2 == 0);
  }
  size_t consumed = 0;
  std::string plain;
  ASSERT_EQ(Open(bytes, consumed, plain), Tls13Records::OpenStatus::kOk);
  // Application data resets the count; empty records do not.
  bytes = Craft("x", kAppData);
  bytes += Craft("", kAppData);
  for (int i = 0; i < Tls13Records::kMaxKeyUpdates; ++i) {
    bytes += CraftKeyUpdate(false);
  }
  ASSERT_EQ(Open(bytes, consumed, plain), Tls13Records::OpenStatus::kOk);
  EXPECT_EQ(plain, "x");
  ExpectAlert(CraftKeyUpdate(true), Alert::kUnexpectedMessage);
}

TEST_P(Tls13RecordsTest, CapsEmptyRecordsInARow) {
  std::string bytes;
  for (int i = 0; i < Tls13Records::kMaxEmptyRecords; ++i) {
    bytes += Craft("", kAppData, i % 3);
  }
  bytes += Craft("y", kAppData);  // resets the count
  for (int i = 0; i < Tls13Records::kMaxEmptyRecords; ++i) {
    bytes += Craft("", kAppData);
  }
  size_t consumed = 0;
  std::string plain;
  ASSERT_EQ(Open(bytes, consumed, plain), Tls13Records::OpenStatus::kOk);
  EXPECT_EQ(plain, "y");
  ExpectAlert(Craft("", kAppData), Alert::kUnexpectedMessage);
}

TEST_P(Tls13RecordsTest, CapsWarningAlertsInARow) {
  std::string bytes;
  for (int i = 0; i < Tls13Records::kMaxWarningAlerts; ++i) {
    bytes += Craft(std::string("\x01\x5a", 2), kAlertType);
  }
  bytes += Craft("z", kAppData);  // resets the count
  for (int i = 0; i < Tls13Records::kMaxWarningAlerts; ++i) {
    bytes += Craft(std::string("\x01\x5a", 2), kAlertType);
  }
  size_t consumed = 0;
  std::string plain;
  ASSERT_EQ(Open(bytes, consumed, plain), Tls13Records::OpenStatus::kOk);
  EXPECT_EQ(plain, "z");
  ExpectAlert(Craft(std::string("\x01\x5a", 2), kAlertType),
              Alert::kUnexpectedMessage);
}

TEST_P(Tls13RecordsTest, OpenSslClientReadsOurFatalAlert) {
  std::string records;
  ASSERT_TRUE(records_->SealFatalAlert(Alert::kRecordOverflow, records));
  BIO_write(client_in_, records.data(), static_cast<int>(records.size()));
  char buf[8];
  ERR_clear_error();
  const int r = SSL_read(client_, buf, sizeof(buf));
  EXPECT_EQ(SSL_get_error(client_, r), SSL_ERROR_SSL);
  // OpenSSL names the alert it received: "tlsv1 alert record overflow".
  EXPECT_EQ(ERR_GET_REASON(ERR_peek_last_error()),
            SSL_AD_REASON_OFFSET + SSL_AD_RECORD_OVERFLOW);
}

INSTANTIATE_TEST_SUITE_P(Suites, Tls13RecordsTest,
                         ::testing::Values("TLS_AES_128_GCM_SHA256",
                                           "TLS_AES_256_GCM_SHA384",
                                           "TLS_CHACHA20_POLY1305_SHA256"));

TEST(Tls13RecordsCreateTest, NeedsBothSecrets) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_method());
  const SSL_CIPHER* cipher = nullptr;
  STACK_OF(SSL_CIPHER)* ciphers = SSL_CTX_get_ciphers(ctx);
  for (int i = 0; i < sk_SSL_CIPHER_num(ciphers); ++i) {
    const SSL_CIPHER* c = sk_SSL_CIPHER_value(ciphers, i);
    if ((SSL_CIPHER_get_id(c) & 0xffff) == 0x1301) cipher = c;
  }
  ASSERT_NE(cipher, nullptr);
  Tls13Secrets secrets;
  secrets.client_size = 32;
  EXPECT_EQ(Tls13Records::Create(cipher, secrets), nullptr);
  secrets.server_size = 48;  // wrong size for SHA-256
  EXPECT_EQ(Tls13Records::Create(cipher, secrets), nullptr);
  secrets.server_size = 32;
  EXPECT_NE(Tls13Records::Create(cipher, secrets), nullptr);
  SSL_CTX_free(ctx);
}

}  // namespace
}  // namespace herald::push
