#include "bench/loadgen/fd_bio.h"

#include <errno.h>
#include <sys/socket.h>

#include <cstring>

namespace herald::bench {

const BIO_METHOD* FdBio::Method() {
  static const BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
                                 "herald-loadgen fd");
    BIO_meth_set_create(m, Create);
    BIO_meth_set_destroy(m, Destroy);
    BIO_meth_set_read(m, Read);
    BIO_meth_set_write(m, Write);
    BIO_meth_set_ctrl(m, Ctrl);
    return m;
  }();
  return method;
}

BIO* FdBio::New(int fd) {
  BIO* bio = BIO_new(Method());
  if (bio != nullptr) static_cast<State*>(BIO_get_data(bio))->fd = fd;
  return bio;
}

void FdBio::Feed(BIO* bio, const char* p, size_t n) {
  auto* s = static_cast<State*>(BIO_get_data(bio));
  s->p = p;
  s->n = n;
}

int FdBio::Create(BIO* bio) {
  BIO_set_data(bio, new State);
  BIO_set_init(bio, 1);
  return 1;
}

int FdBio::Destroy(BIO* bio) {
  delete static_cast<State*>(BIO_get_data(bio));
  BIO_set_data(bio, nullptr);
  return 1;
}

int FdBio::Read(BIO* bio, char* out, int len) {
  auto* s = static_cast<State*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  if (s->n == 0) {
    BIO_set_retry_read(bio);
    return -1;
  }
  size_t take =
      s->n < static_cast<size_t>(len) ? s->n : static_cast<size_t>(len);
  memcpy(out, s->p, take);
  s->p += take;
  s->n -= take;
  return static_cast<int>(take);
}

int FdBio::Write(BIO* bio, const char* in, int len) {
  auto* s = static_cast<State*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  ssize_t w = send(s->fd, in, static_cast<size_t>(len), MSG_NOSIGNAL);
  if (w >= 0) return static_cast<int>(w);
  if (errno == EAGAIN || errno == EINTR) BIO_set_retry_write(bio);
  return -1;
}

long FdBio::Ctrl(BIO* bio, int cmd, long num, void* ptr) {
  switch (cmd) {
    case BIO_CTRL_FLUSH:
      return 1;
    default:
      return 0;
  }
}

}  // namespace herald::bench
