#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "push/push_options.h"
#include "push/tls_ticket_keys.h"

namespace herald::push {

// The TLS context both WebSocket ports hand to new handshakes, replaceable
// while herald runs (SIGHUP). Each accepted socket takes Current() once;
// its handshake keeps that context alive, so a reload never touches a
// handshake in progress, and connections past the handshake no longer need
// it (herald's own TLS 1.3 records) or hold it through their SSL object.
// Reload re-reads the certificate chain and key from the same files; when
// either is missing, unreadable, not PEM, larger than kMaxPemBytes or the
// two do not match, it returns an error naming the file and keeps the
// current context. Every context gets the same ticket keys, so tickets
// issued before a reload still resume after it.
//
// Thread: Create and Reload from the controlling (main) thread; Current
// from any thread (the I/O workers, concurrently).
class TlsContextStore {
 public:
  static constexpr size_t kMaxPemBytes = 1 << 20;

  // Loads the first context from options.tls_cert_file/tls_key_file.
  // `ticket_keys` (may be null: no resumption) must outlive the store and
  // every handshake.
  static absl::StatusOr<std::unique_ptr<TlsContextStore>> Create(
      const PushOptions& options, TlsTicketKeys* ticket_keys);

  // The context for a new handshake.
  std::shared_ptr<SSL_CTX> Current() const;

  // Loads the files again and, if they are good, makes them current.
  // Returns a description of the certificate now served ("CN=..., expires
  // ...") or the error (nothing changed).
  absl::StatusOr<std::string> Reload();

  // The current certificate, as Reload describes it.
  std::string Describe() const;

 private:
  TlsContextStore(const PushOptions& options, TlsTicketKeys* ticket_keys);
  absl::StatusOr<std::shared_ptr<SSL_CTX>> Load() const;

  const std::string cert_file_;
  const std::string key_file_;
  const bool own_records_;
  TlsTicketKeys* const ticket_keys_;
  mutable absl::Mutex mu_;
  std::shared_ptr<SSL_CTX> current_ ABSL_GUARDED_BY(mu_);
};

}  // namespace herald::push
