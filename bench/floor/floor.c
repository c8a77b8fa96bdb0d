// herald-floor: the raw-socket floor of herald's benchmark.
//
// The least work a WebSocket push server can do on this machine: one thread,
// epoll, non-blocking sockets. It accepts TCP, answers the WebSocket upgrade
// (101 with a correct Sec-WebSocket-Accept), remembers which servers each
// subscriber listens to, and serves POST /pub/<server> over keep-alive HTTP:
// the body is framed once as a WebSocket text frame and write()n to every
// subscriber of that server, one write() per delivery. Nothing else: no TLS,
// no queues, no pings, no authentication, no JSON.
//
// No queues means a delivery whose write() would block is not retried: it is
// counted as a drop (write() returned EAGAIN, nothing sent) or, if only part
// of the frame fitted, the stream can no longer be framed and the subscriber
// is closed (counted as cut). Both stay at 0 while subscribers keep up; the
// counters are served by GET /stats and printed on exit.
//
// --batch: the batched floor, the coalescing limit. Publishes are not sent
// as they are parsed: each is framed once into its server's batch buffer
// (shared by all its subscribers), and when every request read in this
// epoll round has been handled (or before any other request, to keep the
// order of replies and subscriptions), every subscriber of the servers
// published to gets ONE write() holding all its frames of the batch: the
// server's whole buffer, or, for a subscriber of several of the batch's
// servers, its frames copied in publish order into one scratch buffer. The
// publish replies follow. What a write() does not take (EAGAIN or a partial
// write) waits in the subscriber's own buffer, later frames behind it, and
// leaves in one write() on EPOLLOUT; a subscriber with more than 1 MiB
// waiting (herald's default --max_queue_bytes) is closed (cut). Deliveries
// are counted when their frame is written or waits; "queued" counts the
// frames that had to wait, "writes" the write() calls to subscribers (in
// both modes: deliveries ÷ writes is the frames one write carried).
//
//   herald-floor [--port=0] [--bind=127.0.0.1] [--batch]
//   subscribers: ws://HOST:PORT/sub/1,2,3   (or any path with ?servers=1,2,3)
//   publisher:   POST /pub/<server>, body = the event -> 200 "recipients=N"
//   GET /stats   -> {"connections":..,"subscribers":..,"published":..,
//                    "deliveries":..,"drops":..,"cut":..,"refused":..,
//                    "writes":..,"queued":..,"batches":..}
// Prints "ready port=N" on stdout once listening; SIGTERM/SIGINT exit 0.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

// ---------------------------------------------------------------- SHA-1 ---

typedef struct {
  uint32_t h[5];
  uint64_t len;
  uint8_t buf[64];
  size_t used;
} sha1_ctx;

static uint32_t rol(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

static void sha1_block(sha1_ctx *c, const uint8_t *p) {
  uint32_t w[80];
  for (int i = 0; i < 16; i++)
    w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 |
           p[4 * i + 3];
  for (int i = 16; i < 80; i++) w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
  uint32_t a = c->h[0], b = c->h[1], cc = c->h[2], d = c->h[3], e = c->h[4];
  for (int i = 0; i < 80; i++) {
    uint32_t f, k;
    if (i < 20) f = (b & cc) | (~b & d), k = 0x5A827999;
    else if (i < 40) f = b ^ cc ^ d, k = 0x6ED9EBA1;
    else if (i < 60) f = (b & cc) | (b & d) | (cc & d), k = 0x8F1BBCDC;
    else f = b ^ cc ^ d, k = 0xCA62C1D6;
    uint32_t t = rol(a, 5) + f + e + k + w[i];
    e = d, d = cc, cc = rol(b, 30), b = a, a = t;
  }
  c->h[0] += a, c->h[1] += b, c->h[2] += cc, c->h[3] += d, c->h[4] += e;
}

static void sha1(const void *data, size_t n, uint8_t out[20]) {
  sha1_ctx c = {{0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0}, 0, {0}, 0};
  const uint8_t *p = data;
  c.len = n;
  for (; n >= 64; n -= 64, p += 64) sha1_block(&c, p);
  memcpy(c.buf, p, n);
  c.used = n;
  c.buf[c.used++] = 0x80;
  if (c.used > 56) {
    memset(c.buf + c.used, 0, 64 - c.used);
    sha1_block(&c, c.buf);
    c.used = 0;
  }
  memset(c.buf + c.used, 0, 56 - c.used);
  uint64_t bits = c.len * 8;
  for (int i = 0; i < 8; i++) c.buf[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
  sha1_block(&c, c.buf);
  for (int i = 0; i < 5; i++)
    out[4 * i] = c.h[i] >> 24, out[4 * i + 1] = c.h[i] >> 16, out[4 * i + 2] = c.h[i] >> 8,
            out[4 * i + 3] = c.h[i];
}

static void base64(const uint8_t *in, size_t n, char *out) {
  static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t o = 0;
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
                 (i + 2 < n ? in[i + 2] : 0);
    out[o++] = t[v >> 18 & 63];
    out[o++] = t[v >> 12 & 63];
    out[o++] = i + 1 < n ? t[v >> 6 & 63] : '=';
    out[o++] = i + 2 < n ? t[v & 63] : '=';
  }
  out[o] = 0;
}

// ---------------------------------------------------------- connections ---

enum { HTTP, SUBSCRIBER };
#define INBUF 8192

typedef struct conn {
  int fd;
  int kind;
  // HTTP: request bytes not yet consumed.
  char *in;
  size_t in_len, in_cap;
  int want_out;
  // HTTP: response bytes not yet written (publisher replies are tiny).
  char *out;
  size_t out_len, out_cap;
  // SUBSCRIBER: servers and this connection's index in each topic.
  uint32_t nsub;
  uint32_t *servers;
  uint32_t *slots;
  // --batch: the batch that last wrote to this subscriber (or replied to
  // this publisher). A subscriber's c->out holds what its socket did not take.
  uint32_t seen;
} conn;

typedef struct {
  conn **v;
  uint32_t n, cap;
  // --batch: this batch's frames for this server (valid while epoch is the
  // current batch's), how many, and how many subscribers took them all.
  uint32_t epoch;
  uint8_t *buf;
  size_t len, cap_buf;
  uint32_t nframes;
  unsigned long long ok;
} topic;

static topic *topics;
static uint32_t ntopics;
static int ep;
static volatile sig_atomic_t stop;
static unsigned long long n_conns, n_subs, n_published, n_deliveries, n_drops, n_cut, n_refused;
static unsigned long long n_writes, n_queued, n_batches;
static int batch_mode;
#define QUEUE_MAX (1u << 20)

static void *xrealloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (!q) {
    perror("realloc");
    exit(1);
  }
  return q;
}

static topic *topic_get(uint32_t id) {
  if (id >= ntopics) {
    uint32_t n = ntopics ? ntopics : 1024;
    while (n <= id) n *= 2;
    topics = xrealloc(topics, n * sizeof *topics);
    memset(topics + ntopics, 0, (n - ntopics) * sizeof *topics);
    ntopics = n;
  }
  return &topics[id];
}

static void subscribe(conn *c, uint32_t server) {
  topic *t = topic_get(server);
  if (t->n == t->cap) {
    t->cap = t->cap ? t->cap * 2 : 8;
    t->v = xrealloc(t->v, t->cap * sizeof *t->v);
  }
  c->servers = xrealloc(c->servers, (c->nsub + 1) * sizeof *c->servers);
  c->slots = xrealloc(c->slots, (c->nsub + 1) * sizeof *c->slots);
  c->servers[c->nsub] = server;
  c->slots[c->nsub] = t->n;
  c->nsub++;
  t->v[t->n++] = c;
}

static void unsubscribe_all(conn *c) {
  for (uint32_t i = 0; i < c->nsub; i++) {
    topic *t = &topics[c->servers[i]];
    uint32_t at = c->slots[i];
    conn *last = t->v[--t->n];
    t->v[at] = last;
    if (last != c)
      for (uint32_t j = 0; j < last->nsub; j++)
        if (last->servers[j] == c->servers[i]) {
          last->slots[j] = at;
          break;
        }
  }
  c->nsub = 0;
}

// Closes are deferred to the end of an event batch: a publish may cut a
// subscriber whose own event is later in the same batch.
static conn **doomed;
static size_t ndoomed, doomed_cap;
static void doom(conn *c) {
  if (c->fd < 0) return;
  epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  c->fd = -1;
  if (ndoomed == doomed_cap) {
    doomed_cap = doomed_cap ? doomed_cap * 2 : 64;
    doomed = xrealloc(doomed, doomed_cap * sizeof *doomed);
  }
  doomed[ndoomed++] = c;
}
static void reap(void) {
  for (size_t i = 0; i < ndoomed; i++) {
    conn *c = doomed[i];
    if (c->kind == SUBSCRIBER) {
      unsubscribe_all(c);
      n_subs--;
    }
    n_conns--;
    free(c->in);
    free(c->out);
    free(c->servers);
    free(c->slots);
    free(c);
  }
  ndoomed = 0;
}

static void want_out(conn *c) {
  int want = c->out_len > 0;
  if (want != c->want_out) {
    struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0), .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
    c->want_out = want;
  }
}

static void append_out(conn *c, const void *p, size_t n) {
  if (c->out_len + n > c->out_cap) {
    c->out_cap = c->out_len + n + 1024;
    c->out = xrealloc(c->out, c->out_cap);
  }
  memcpy(c->out + c->out_len, p, n);
  c->out_len += n;
}

static void flush_out(conn *c) {
  while (c->out_len > 0) {
    if (c->kind == SUBSCRIBER) n_writes++;
    ssize_t w = write(c->fd, c->out, c->out_len);
    if (w < 0) {
      if (errno == EAGAIN || errno == EINTR) break;
      doom(c);
      return;
    }
    memmove(c->out, c->out + w, c->out_len - w);
    c->out_len -= w;
  }
  want_out(c);
}

static void reply(conn *c, const char *status, const char *body) {
  char buf[512];
  int n = snprintf(buf, sizeof buf,
                   "HTTP/1.1 %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n\r\n%s",
                   status, strlen(body), body);
  append_out(c, buf, n);
}

// Case-insensitive header lookup inside [hdr, end): the value, trimmed.
static const char *header(const char *hdr, const char *end, const char *name, size_t *vlen) {
  size_t nl = strlen(name);
  for (const char *p = hdr; p < end;) {
    const char *eol = memmem(p, end - p, "\r\n", 2);
    if (!eol) eol = end;
    if ((size_t)(eol - p) > nl && p[nl] == ':' && strncasecmp(p, name, nl) == 0) {
      const char *v = p + nl + 1;
      while (v < eol && (*v == ' ' || *v == '\t')) v++;
      const char *ve = eol;
      while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) ve--;
      *vlen = ve - v;
      return v;
    }
    p = eol + 2;
  }
  return NULL;
}

// Writes the text frame holding body[0, n) to frame (room for n + 10 bytes);
// returns its length.
static size_t frame_text(uint8_t *frame, const char *body, size_t n) {
  size_t hl = n < 126 ? 2 : n < 65536 ? 4 : 10;
  frame[0] = 0x81;
  if (n < 126) {
    frame[1] = (uint8_t)n;
  } else if (n < 65536) {
    frame[1] = 126, frame[2] = n >> 8, frame[3] = n & 255;
  } else {
    frame[1] = 127;
    for (int i = 0; i < 8; i++) frame[2 + i] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
  }
  memcpy(frame + hl, body, n);
  return hl + n;
}

static void publish(uint32_t server, const char *body, size_t n, unsigned long long *recipients) {
  // Frame once.
  static uint8_t *frame;
  static size_t frame_cap;
  if (n + 10 > frame_cap) {
    frame_cap = n + 10;
    frame = xrealloc(frame, frame_cap);
  }
  size_t len = frame_text(frame, body, n);
  n_published++;
  *recipients = 0;
  if (server >= ntopics) return;
  topic *t = &topics[server];
  // One write() per delivery.
  for (uint32_t i = 0; i < t->n; i++) {
    conn *s = t->v[i];
    if (s->fd < 0) continue;
    n_writes++;
    ssize_t w = write(s->fd, frame, len);
    if (w == (ssize_t)len) {
      n_deliveries++;
      (*recipients)++;
    } else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
      n_drops++;
    } else {
      if (w >= 0) n_cut++;
      doom(s);
    }
  }
}

// ------------------------------------------------------------ --batch ---

// One publish of the current batch: who asked (its reply waits for the
// flush), its server (has_topic: someone listened when it was read), where
// its frame is in that server's buffer, and the subscribers of several of
// the batch's servers that took it (the rest are its topic's ok).
typedef struct {
  conn *from;
  uint32_t server;
  int has_topic;
  size_t off, len;
  unsigned long long extra;
} pending;

static pending *pend;
static size_t npend, pend_cap;
static uint32_t *touched;  // servers published to in this batch
static size_t ntouched, touched_cap;
static uint32_t epoch = 1;

static void publish_batched(conn *from, uint32_t server, const char *body, size_t n) {
  n_published++;
  if (npend == pend_cap) {
    pend_cap = pend_cap ? pend_cap * 2 : 64;
    pend = xrealloc(pend, pend_cap * sizeof *pend);
  }
  pending *p = &pend[npend++];
  *p = (pending){.from = from, .server = server};
  if (server >= ntopics || topics[server].n == 0) return;
  topic *t = &topics[server];
  if (t->epoch != epoch) {
    t->epoch = epoch;
    t->len = 0;
    t->nframes = 0;
    t->ok = 0;
    if (ntouched == touched_cap) {
      touched_cap = touched_cap ? touched_cap * 2 : 64;
      touched = xrealloc(touched, touched_cap * sizeof *touched);
    }
    touched[ntouched++] = server;
  }
  if (t->len + n + 10 > t->cap_buf) {
    t->cap_buf = (t->len + n + 10) * 2;
    t->buf = xrealloc(t->buf, t->cap_buf);
  }
  p->has_topic = 1;
  p->off = t->len;
  p->len = frame_text(t->buf + t->len, body, n);
  t->len += p->len;
  t->nframes++;
}

// Hands `frames` frames in buf[0, len) to subscriber s in one write(), or
// behind what already waits for EPOLLOUT. Returns 1 if they were taken.
static int deliver(conn *s, const uint8_t *buf, size_t len, uint32_t frames) {
  size_t done = 0;
  if (s->out_len == 0) {
    n_writes++;
    ssize_t w = write(s->fd, buf, len);
    if (w == (ssize_t)len) {
      n_deliveries += frames;
      return 1;
    }
    if (w < 0 && errno != EAGAIN && errno != EINTR) {
      doom(s);
      return 0;
    }
    done = w < 0 ? 0 : (size_t)w;
  }
  if (s->out_len + (len - done) > QUEUE_MAX) {
    n_cut++;
    doom(s);
    return 0;
  }
  append_out(s, buf + done, len - done);
  want_out(s);
  n_queued += frames;
  n_deliveries += frames;
  return 1;
}

static int subscribed(const conn *s, uint32_t server) {
  for (uint32_t k = 0; k < s->nsub; k++)
    if (s->servers[k] == server) return 1;
  return 0;
}

// Writes the batch: one write() per subscriber of the servers published to,
// then the publish replies (recipients: the subscribers that took the frame).
static void flush_batch(void) {
  if (npend == 0) return;
  static uint8_t *scratch;
  static size_t scratch_cap;
  static size_t *sel;
  static size_t sel_cap;
  n_batches++;
  for (size_t i = 0; i < ntouched; i++) {
    topic *t = &topics[touched[i]];
    for (uint32_t j = 0; j < t->n; j++) {
      conn *s = t->v[j];
      if (s->fd < 0 || s->seen == epoch) continue;
      s->seen = epoch;
      uint32_t in = 0;
      for (uint32_t k = 0; k < s->nsub && in < 2; k++)
        if (topics[s->servers[k]].epoch == epoch) in++;
      if (in == 1) {
        if (deliver(s, t->buf, t->len, t->nframes)) t->ok++;
        continue;
      }
      // In several of the batch's servers: its frames in publish order.
      size_t len = 0, nsel = 0;
      if (sel_cap < npend) {
        sel_cap = npend;
        sel = xrealloc(sel, sel_cap * sizeof *sel);
      }
      for (size_t e = 0; e < npend; e++) {
        pending *p = &pend[e];
        if (!p->has_topic || !subscribed(s, p->server)) continue;
        if (len + p->len > scratch_cap) {
          scratch_cap = (len + p->len) * 2;
          scratch = xrealloc(scratch, scratch_cap);
        }
        memcpy(scratch + len, topics[p->server].buf + p->off, p->len);
        len += p->len;
        sel[nsel++] = e;
      }
      if (deliver(s, scratch, len, (uint32_t)nsel))
        for (size_t k = 0; k < nsel; k++) pend[sel[k]].extra++;
    }
  }
  for (size_t e = 0; e < npend; e++) {
    pending *p = &pend[e];
    if (p->from->fd < 0) continue;
    char body[64];
    snprintf(body, sizeof body, "recipients=%llu",
             (p->has_topic ? topics[p->server].ok : 0) + p->extra);
    reply(p->from, "200 OK", body);
  }
  for (size_t e = 0; e < npend; e++) {
    conn *c = pend[e].from;
    if (c->fd >= 0 && c->seen != epoch) {
      c->seen = epoch;
      flush_out(c);
    }
  }
  npend = ntouched = 0;
  if (++epoch == 0) epoch = 1;
}

static uint32_t parse_servers(const char *target, size_t tl, uint32_t *out, uint32_t max) {
  const char *list = NULL, *end = target + tl;
  const char *q = memchr(target, '?', tl);
  if (q) {
    for (const char *p = q + 1; p < end;) {
      const char *amp = memchr(p, '&', end - p);
      if (!amp) amp = end;
      if (amp - p > 8 && memcmp(p, "servers=", 8) == 0) {
        list = p + 8;
        end = amp;
        break;
      }
      p = amp + 1;
    }
  }
  if (!list && tl > 5 && memcmp(target, "/sub/", 5) == 0) {
    list = target + 5;
    end = q ? q : target + tl;
  }
  uint32_t n = 0;
  if (!list) return 0;
  for (const char *p = list; p < end && n < max;) {
    while (p < end && (*p == ',' || (*p == '%' && end - p >= 3 && p[1] == '2' &&
                                     (p[2] == 'C' || p[2] == 'c')))) p += (*p == ',') ? 1 : 3;
    if (p >= end || *p < '0' || *p > '9') break;
    uint32_t v = 0;
    while (p < end && *p >= '0' && *p <= '9') v = v * 10 + (*p++ - '0');
    out[n++] = v;
  }
  return n;
}

// Consumes complete requests from c->in. Returns 0 when the connection was
// closed or turned into a subscriber.
static int handle_http(conn *c) {
  for (;;) {
    char *hend = memmem(c->in, c->in_len, "\r\n\r\n", 4);
    if (!hend) {
      if (c->in_len >= INBUF) {
        doom(c);
        return 0;
      }
      return 1;
    }
    const char *eol = memmem(c->in, hend - c->in, "\r\n", 2);
    if (!eol) eol = hend;
    const char *sp1 = memchr(c->in, ' ', eol - c->in);
    const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', eol - sp1 - 1) : NULL;
    if (!sp1 || !sp2) {
      doom(c);
      return 0;
    }
    const char *target = sp1 + 1;
    size_t tl = sp2 - target;
    const char *hdr = eol + 2;
    size_t clen = 0, vl;
    const char *v = header(hdr, hend + 2, "Content-Length", &vl);
    if (v) clen = strtoul(v, NULL, 10);
    size_t total = (hend + 4 - c->in) + clen;
    if (clen > INBUF * 8) {
      doom(c);
      return 0;
    }
    if (c->in_len < total) return 1;
    int is_pub = sp1 - c->in == 4 && memcmp(c->in, "POST", 4) == 0 && tl > 5 &&
                 memcmp(target, "/pub/", 5) == 0;
    // A batch ends before any other request: replies stay in order, and a
    // subscriber gets only what was published after it subscribed.
    if (!is_pub) flush_batch();
    const char *key = header(hdr, hend + 2, "Sec-WebSocket-Key", &vl);
    if (sp1 - c->in == 3 && memcmp(c->in, "GET", 3) == 0 && key) {
      char cat[128];
      if (vl > 64) {
        doom(c);
        return 0;
      }
      memcpy(cat, key, vl);
      memcpy(cat + vl, "258EAFA5-E914-47DA-95CA-C5AB0DC85B11", 36);
      uint8_t dig[20];
      sha1(cat, vl + 36, dig);
      char acc[32];
      base64(dig, 20, acc);
      char resp[256];
      int n = snprintf(resp, sizeof resp,
                       "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                       "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                       acc);
      if (write(c->fd, resp, n) != n) {  // fits any fresh socket buffer
        doom(c);
        return 0;
      }
      uint32_t servers[256];
      uint32_t ns = parse_servers(target, tl, servers, 256);
      c->kind = SUBSCRIBER;
      n_subs++;
      for (uint32_t i = 0; i < ns; i++) subscribe(c, servers[i]);
      free(c->in);
      c->in = NULL;
      c->in_len = c->in_cap = 0;
      return 0;
    }
    if (is_pub && batch_mode) {
      publish_batched(c, (uint32_t)strtoul(target + 5, NULL, 10), hend + 4, clen);
    } else if (is_pub) {
      uint32_t server = (uint32_t)strtoul(target + 5, NULL, 10);
      unsigned long long r;
      publish(server, hend + 4, clen, &r);
      char body[64];
      snprintf(body, sizeof body, "recipients=%llu", r);
      reply(c, "200 OK", body);
    } else if (sp1 - c->in == 3 && memcmp(c->in, "GET", 3) == 0 && tl == 6 &&
               memcmp(target, "/stats", 6) == 0) {
      char body[400];
      snprintf(body, sizeof body,
               "{\"connections\":%llu,\"subscribers\":%llu,\"published\":%llu,"
               "\"deliveries\":%llu,\"drops\":%llu,\"cut\":%llu,\"refused\":%llu,"
               "\"writes\":%llu,\"queued\":%llu,\"batches\":%llu}",
               n_conns, n_subs, n_published, n_deliveries, n_drops, n_cut, n_refused, n_writes,
               n_queued, n_batches);
      reply(c, "200 OK", body);
    } else {
      reply(c, "404 Not Found", "");
    }
    memmove(c->in, c->in + total, c->in_len - total);
    c->in_len -= total;
    if (c->fd < 0) return 0;
  }
}

static void on_readable(conn *c) {
  if (c->kind == SUBSCRIBER) {
    // Client frames are not part of the protocol: read and discard, except
    // a close frame (answered with an empty close, then the socket closes);
    // EOF or an error ends the subscriber.
    char buf[4096];
    for (;;) {
      ssize_t r = read(c->fd, buf, sizeof buf);
      if (r > 0 && (uint8_t)buf[0] == 0x88) {
        if (write(c->fd, "\x88\x00", 2) < 0) {
        }
        doom(c);
        return;
      }
      if (r > 0) continue;
      if (r < 0 && (errno == EAGAIN || errno == EINTR)) return;
      doom(c);
      return;
    }
  }
  for (;;) {
    if (c->in_cap - c->in_len < 4096) {
      c->in_cap = c->in_cap ? c->in_cap * 2 : INBUF;
      c->in = xrealloc(c->in, c->in_cap);
    }
    ssize_t r = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
      doom(c);
      return;
    }
    if (r < 0) break;
    c->in_len += r;
    if (!handle_http(c)) return;
  }
  flush_out(c);
}

static void on_signal(int sig) { stop = 1; }

int main(int argc, char **argv) {
  int port = 0;
  const char *bind_addr = "127.0.0.1";
  for (int i = 1; i < argc; i++) {
    if (strncmp(argv[i], "--port=", 7) == 0) port = atoi(argv[i] + 7);
    else if (strncmp(argv[i], "--bind=", 7) == 0) bind_addr = argv[i] + 7;
    else if (strcmp(argv[i], "--batch") == 0) batch_mode = 1;
    else {
      fprintf(stderr, "usage: herald-floor [--port=0] [--bind=127.0.0.1] [--batch]\n");
      return 2;
    }
  }
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  signal(SIGPIPE, SIG_IGN);
  struct sigaction sa = {.sa_handler = on_signal};
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);

  int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  if (inet_pton(AF_INET, bind_addr, &a.sin_addr) != 1 || bind(ls, (void *)&a, sizeof a) < 0 ||
      listen(ls, 65535) < 0) {
    fprintf(stderr, "herald-floor: cannot listen on %s:%d: %s\n", bind_addr, port,
            strerror(errno));
    return 2;
  }
  socklen_t al = sizeof a;
  getsockname(ls, (void *)&a, &al);
  ep = epoll_create1(0);
  struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
  epoll_ctl(ep, EPOLL_CTL_ADD, ls, &lev);
  printf("ready port=%d\n", ntohs(a.sin_port));
  fflush(stdout);

  int reserve = open("/dev/null", O_RDONLY | O_CLOEXEC);
  struct epoll_event evs[512];
  while (!stop) {
    int n = epoll_wait(ep, evs, 512, 1000);
    if (n < 0 && errno != EINTR) {
      perror("herald-floor: epoll_wait");
      break;
    }
    for (int i = 0; i < n; i++) {
      conn *c = evs[i].data.ptr;
      if (!c) {
        for (;;) {
          int fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (fd < 0 && (errno == EMFILE || errno == ENFILE) && reserve >= 0) {
            // Out of descriptors: refuse this one (accept and close with the
            // reserved descriptor) rather than spin on a readable listener.
            close(reserve);
            fd = accept(ls, NULL, NULL);
            if (fd >= 0) close(fd);
            reserve = open("/dev/null", O_RDONLY | O_CLOEXEC);
            n_refused++;
            continue;
          }
          if (fd < 0) break;
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          conn *nc = calloc(1, sizeof *nc);
          nc->fd = fd;
          nc->kind = HTTP;
          n_conns++;
          struct epoll_event ev = {.events = EPOLLIN, .data.ptr = nc};
          epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
        }
        continue;
      }
      if (c->fd < 0) continue;
      if (evs[i].events & EPOLLOUT) flush_out(c);
      if (c->fd >= 0 && (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) on_readable(c);
    }
    flush_batch();  // --batch: everything read in this round, one write per subscriber
    reap();
  }
  fprintf(stderr,
          "herald-floor: connections=%llu subscribers=%llu published=%llu deliveries=%llu "
          "drops=%llu cut=%llu refused=%llu writes=%llu queued=%llu batches=%llu\n",
          n_conns, n_subs, n_published, n_deliveries, n_drops, n_cut, n_refused, n_writes,
          n_queued, n_batches);
  return 0;
}
