#pragma once

#include <openssl/bio.h>

#include <cstddef>

namespace herald::bench {

// An OpenSSL BIO that lets the worker do the socket reads itself: reads are
// served from a chunk of ciphertext the worker already read() (Feed), and
// report "retry" once it is used up; writes go straight to the socket with
// send(). So a wake-up costs one read() for any number of TLS records, and
// OpenSSL never issues the extra header/body/EAGAIN reads it would on a
// socket BIO. Partial records stay in OpenSSL's own record buffer.
//
// Thread ownership: a BIO belongs to its connection's worker thread; the
// method table is created once and shared read-only.
class FdBio {
 public:
  // A new BIO for `fd` (not owned: never closed by the BIO).
  static BIO* New(int fd);
  // Serves [p, p+n) to the next reads. The bytes must stay valid until the
  // SSL call using them returns (OpenSSL copies what it keeps).
  static void Feed(BIO* bio, const char* p, size_t n);

 private:
  struct State {
    int fd = -1;
    const char* p = nullptr;
    size_t n = 0;
  };

  static const BIO_METHOD* Method();
  static int Create(BIO* bio);
  static int Destroy(BIO* bio);
  static int Read(BIO* bio, char* out, int len);
  static int Write(BIO* bio, const char* in, int len);
  static long Ctrl(BIO* bio, int cmd, long num, void* ptr);
};

}  // namespace herald::bench
