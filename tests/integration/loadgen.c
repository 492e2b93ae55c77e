/*
 * loadgen: writes N evidence entries for one milestone through libcairn,
 * pipelined, and prints the id of every entry cairnd acknowledged, one per
 * line, so that tests can check each one is still there later.
 * usage: loadgen DATA_DIR MILESTONE N
 * Exit status: 0 when all N were acknowledged, 1 otherwise (the ids printed
 * are still exactly the acknowledged ones).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn.h"

#define WINDOW 64

static void pack_str(msgpack_packer *pk, const char *s) {
  msgpack_pack_str(pk, strlen(s));
  msgpack_pack_str_body(pk, s, strlen(s));
}

int main(int argc, char **argv) {
  cairn_client *c;
  msgpack_sbuffer sb;
  msgpack_packer pk;
  long n, sent = 0, got = 0;
  int rc;

  if (argc != 4 || (n = strtol(argv[3], NULL, 10)) <= 0) {
    fprintf(stderr, "usage: loadgen DATA_DIR MILESTONE N\n");
    return 2;
  }
  if ((rc = cairn_client_open(&c, argv[1])) != 0) {
    fprintf(stderr, "loadgen: %s\n", cairn_strerror(rc));
    return 1;
  }
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  while (got < n) {
    cairn_reply *r;
    const msgpack_object *id;
    while (sent < n && sent - got < WINDOW) {
      msgpack_sbuffer_clear(&sb);
      msgpack_pack_map(&pk, 3);
      pack_str(&pk, "op");
      pack_str(&pk, "put");
      pack_str(&pk, "type");
      pack_str(&pk, "evidence");
      pack_str(&pk, "set");
      msgpack_pack_map(&pk, 4);
      pack_str(&pk, "milestone");
      pack_str(&pk, argv[2]);
      pack_str(&pk, "observed");
      pack_str(&pk, "2026-11-02");
      pack_str(&pk, "value");
      msgpack_pack_double(&pk, (double)(sent % 5));
      pack_str(&pk, "note");
      pack_str(&pk, "loadgen: a note of ordinary length, as teachers write them in class");
      if ((rc = cairn_client_send(c, sb.data, sb.size, 10000)) != 0)
        break;
      sent++;
    }
    if (rc != 0 || (rc = cairn_client_recv(c, 30000, &r)) != 0) {
      fprintf(stderr, "loadgen: after %ld acknowledged: %s\n", got, cairn_strerror(rc));
      break;
    }
    id = cairn_reply_get(r, "id");
    if (id != NULL && id->type == MSGPACK_OBJECT_STR)
      printf("%.*s\n", (int)id->via.str.size, id->via.str.ptr);
    cairn_reply_free(r);
    got++;
  }
  fflush(stdout);
  msgpack_sbuffer_destroy(&sb);
  cairn_client_close(c);
  return got == n ? 0 : 1;
}
