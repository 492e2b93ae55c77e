/*
 * tcpecho: the peer and the client that faultproxy_test.sh drives, so the test
 * needs neither nc, socat nor python. Loopback only.
 *
 *   tcpecho serve echo   listen on 127.0.0.1 (a free port), print
 *                        "listening 127.0.0.1:PORT", echo each connection
 *   tcpecho serve sink   the same, but discard the bytes and print
 *                        "received N eof" or "received N reset" per connection
 *   tcpecho client 127.0.0.1:PORT
 *                        copy stdin to the socket and the socket to stdout;
 *                        half-close after the end of stdin; exit 0 when the
 *                        peer closes, 1 on a reset or any other error
 *
 * Connections are served one at a time: the test runs one at a time.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_SIZE 65536

static void fail(const char *what)
{
  fprintf(stderr, "tcpecho: %s: %s\n", what, strerror(errno));
  exit(1);
}

/* Writes all of buf to a blocking fd. Returns 0, or -1 with errno set. */
static int write_all(int fd, const char *buf, size_t len)
{
  while (len > 0) {
    ssize_t n = write(fd, buf, len);

    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return -1;
    buf += n;
    len -= (size_t)n;
  }
  return 0;
}

static _Noreturn void serve(bool echo)
{
  struct sockaddr_in addr = {.sin_family = AF_INET};
  socklen_t len = sizeof addr;
  static char buf[BUF_SIZE];
  int one = 1;
  int lfd = socket(AF_INET, SOCK_STREAM, 0);

  if (lfd < 0)
    fail("socket");
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 ||
      listen(lfd, 16) < 0 ||
      getsockname(lfd, (struct sockaddr *)&addr, &len) < 0)
    fail("listen");
  printf("listening 127.0.0.1:%d\n", ntohs(addr.sin_port));
  fflush(stdout);

  for (;;) {
    int fd = accept(lfd, NULL, NULL);
    unsigned long long total = 0;
    const char *end = "eof";

    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED)
        continue;
      fail("accept");
    }
    for (;;) {
      ssize_t n = read(fd, buf, sizeof buf);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0) {
        if (n < 0)
          end = "reset";
        break;
      }
      total += (unsigned long long)n;
      if (echo && write_all(fd, buf, (size_t)n) < 0) {
        end = "reset";
        break;
      }
    }
    if (!echo) {
      printf("received %llu %s\n", total, end);
      fflush(stdout);
    }
    close(fd);
  }
}

static int client(const char *target)
{
  struct sockaddr_in addr = {.sin_family = AF_INET};
  static char out[BUF_SIZE], in[BUF_SIZE];
  size_t out_len = 0, out_off = 0;
  bool stdin_open = true;
  const char *colon = strrchr(target, ':');
  int fd;

  if (colon == NULL || strncmp(target, "127.0.0.1:", 10) != 0) {
    fprintf(stderr, "tcpecho: %s: only 127.0.0.1:PORT is allowed\n", target);
    return 2;
  }
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons((unsigned short)atoi(colon + 1));
  fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0)
    fail("connect");

  /* Read and write at once, so an echo peer can never deadlock us. */
  for (;;) {
    struct pollfd p[2] = {
        {.fd = fd, .events = POLLIN | (out_off < out_len ? POLLOUT : 0)},
        {.fd = stdin_open && out_off == out_len ? 0 : -1, .events = POLLIN},
    };

    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR)
        continue;
      fail("poll");
    }
    if (p[1].revents != 0) {
      ssize_t n = read(0, out, sizeof out);

      if (n < 0 && errno != EINTR)
        fail("stdin");
      if (n == 0) {
        stdin_open = false;
        shutdown(fd, SHUT_WR);
      } else if (n > 0) {
        out_len = (size_t)n;
        out_off = 0;
      }
    }
    if (p[0].revents & POLLOUT) {
      ssize_t n = send(fd, out + out_off, out_len - out_off,
                       MSG_DONTWAIT | MSG_NOSIGNAL);

      if (n < 0 && errno != EAGAIN && errno != EINTR)
        fail("send");
      if (n > 0)
        out_off += (size_t)n;
    }
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = recv(fd, in, sizeof in, MSG_DONTWAIT);

      if (n == 0)
        return 0;
      if (n < 0 && errno != EAGAIN && errno != EINTR)
        fail("recv");
      if (n > 0 && write_all(1, in, (size_t)n) < 0)
        fail("stdout");
    }
  }
}

int main(int argc, char **argv)
{
  signal(SIGPIPE, SIG_IGN);
  if (argc == 3 && strcmp(argv[1], "serve") == 0 &&
      (strcmp(argv[2], "echo") == 0 || strcmp(argv[2], "sink") == 0))
    serve(strcmp(argv[2], "echo") == 0);
  if (argc == 3 && strcmp(argv[1], "client") == 0)
    return client(argv[2]);
  fprintf(stderr, "usage: tcpecho serve echo|sink\n"
                  "       tcpecho client 127.0.0.1:PORT\n");
  return 2;
}
