/* test_transport.c: messages cross Noise records intact, in fragments when
 * large; damage, oversize and bad flags are refused. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "transport.h"

typedef struct pair {
  cairn_noise_cipher a_send, a_recv, b_send, b_recv;
} pair;

/* Runs an XX handshake between two fresh keys; a sends to b. */
static void handshake(pair *p) {
  uint8_t ska[32], skb[32], msg[256], pay[64];
  size_t n, pn;
  cairn_noise_handshake a, b;
  randombytes_buf(ska, sizeof ska);
  randombytes_buf(skb, sizeof skb);
  assert_int_equal(cairn_noise_handshake_init(&a, CAIRN_NOISE_XX, 1, (const uint8_t *)"t", 1, ska, NULL), 0);
  assert_int_equal(cairn_noise_handshake_init(&b, CAIRN_NOISE_XX, 0, (const uint8_t *)"t", 1, skb, NULL), 0);
  assert_int_equal(cairn_noise_write_message(&a, NULL, 0, msg, sizeof msg, &n), 0);
  assert_int_equal(cairn_noise_read_message(&b, msg, n, pay, sizeof pay, &pn), 0);
  assert_int_equal(cairn_noise_write_message(&b, NULL, 0, msg, sizeof msg, &n), 0);
  assert_int_equal(cairn_noise_read_message(&a, msg, n, pay, sizeof pay, &pn), 0);
  assert_int_equal(cairn_noise_write_message(&a, NULL, 0, msg, sizeof msg, &n), 0);
  assert_int_equal(cairn_noise_read_message(&b, msg, n, pay, sizeof pay, &pn), 0);
  assert_int_equal(cairn_noise_split(&a, &p->a_send, &p->a_recv), 0);
  assert_int_equal(cairn_noise_split(&b, &p->b_send, &p->b_recv), 0);
  cairn_noise_handshake_clear(&a);
  cairn_noise_handshake_clear(&b);
}

/* Feeds every record of wire to r; returns the number of whole messages. */
static int receive(cairn_transport_reader *r, cairn_noise_cipher *c, const msgpack_sbuffer *wire,
                   uint8_t *last, size_t *last_len) {
  size_t off = 0;
  int whole = 0;
  while (off < wire->size) {
    const uint8_t *body;
    size_t blen, used;
    int complete;
    assert_int_equal(cairn_transport_record((const uint8_t *)wire->data + off, wire->size - off,
                                            &body, &blen, &used), 0);
    assert_int_equal(cairn_transport_reader_open(r, c, body, blen, &complete), 0);
    if (complete) {
      whole++;
      memcpy(last, r->msg, r->len);
      *last_len = r->len;
    }
    off += used;
  }
  return whole;
}

static void test_small_and_large_messages(void **state) {
  (void)state;
  pair p;
  handshake(&p);
  size_t big = 300000; /* five records */
  uint8_t *msg = malloc(big), *got = malloc(big);
  randombytes_buf(msg, big);
  msgpack_sbuffer wire;
  msgpack_sbuffer_init(&wire);
  assert_int_equal(cairn_transport_seal(&p.a_send, msg, 10, &wire), 0);
  assert_int_equal(cairn_transport_seal(&p.a_send, msg, big, &wire), 0);
  /* each record: 2-byte length, flag byte, fragment, 16-byte tag */
  assert_int_equal(wire.size, (2 + 1 + 10 + 16) + 5 * (2 + 1 + 16) + big);
  cairn_transport_reader r;
  assert_int_equal(cairn_transport_reader_init(&r, 1 << 20), 0);
  size_t got_len = 0;
  assert_int_equal(receive(&r, &p.b_recv, &wire, got, &got_len), 2);
  assert_int_equal(got_len, big);
  assert_memory_equal(got, msg, big);
  cairn_transport_reader_free(&r);
  msgpack_sbuffer_destroy(&wire);
  free(msg);
  free(got);
}

/* An idle link holds no message buffer: released after a whole message,
 * kept while one is part-way, and the next message after a release is
 * whole and right (fragments decrypted in place, each record's flag byte
 * never left in the message). */
static void test_release_between_messages(void **state) {
  (void)state;
  pair p;
  handshake(&p);
  size_t big = 200000; /* four records */
  uint8_t *msg = malloc(big), *got = malloc(big);
  randombytes_buf(msg, big);
  msgpack_sbuffer wire;
  msgpack_sbuffer_init(&wire);
  assert_int_equal(cairn_transport_seal(&p.a_send, msg, big, &wire), 0);
  cairn_transport_reader r;
  assert_int_equal(cairn_transport_reader_init(&r, 1 << 20), 0);
  assert_null(r.msg); /* nothing allocated before the first record */
  const uint8_t *body;
  size_t blen, used, off = 0;
  int complete = 0;
  assert_int_equal(cairn_transport_record((const uint8_t *)wire.data, wire.size, &body, &blen, &used), 0);
  assert_int_equal(cairn_transport_reader_open(&r, &p.b_recv, body, blen, &complete), 0);
  assert_false(complete);
  cairn_transport_reader_release(&r); /* part-way: kept */
  assert_non_null(r.msg);
  off = used;
  while (!complete) {
    assert_int_equal(cairn_transport_record((const uint8_t *)wire.data + off, wire.size - off, &body,
                                            &blen, &used), 0);
    assert_int_equal(cairn_transport_reader_open(&r, &p.b_recv, body, blen, &complete), 0);
    off += used;
  }
  assert_int_equal(r.len, big);
  assert_memory_equal(r.msg, msg, big);
  cairn_transport_reader_release(&r);
  assert_null(r.msg);
  assert_int_equal(r.len, 0);
  /* the next, after the release: a small one, then the large one again */
  msgpack_sbuffer_clear(&wire);
  assert_int_equal(cairn_transport_seal(&p.a_send, msg + 7, 33, &wire), 0);
  assert_int_equal(cairn_transport_seal(&p.a_send, msg, big, &wire), 0);
  size_t got_len = 0;
  assert_int_equal(receive(&r, &p.b_recv, &wire, got, &got_len), 2);
  assert_int_equal(got_len, big);
  assert_memory_equal(got, msg, big);
  cairn_transport_reader_free(&r);
  msgpack_sbuffer_destroy(&wire);
  free(msg);
  free(got);
}

static void test_over_limit_and_damage_refused(void **state) {
  (void)state;
  pair p;
  handshake(&p);
  uint8_t msg[200000] = {0};
  msgpack_sbuffer wire;
  msgpack_sbuffer_init(&wire);
  assert_int_equal(cairn_transport_seal(&p.a_send, msg, sizeof msg, &wire), 0);
  cairn_transport_reader r;
  assert_int_equal(cairn_transport_reader_init(&r, 100000), 0);
  const uint8_t *body;
  size_t blen, used, off = 0;
  int complete, rc = 0;
  while (rc == 0 && off < wire.size) {
    assert_int_equal(cairn_transport_record((const uint8_t *)wire.data + off, wire.size - off,
                                            &body, &blen, &used), 0);
    rc = cairn_transport_reader_open(&r, &p.b_recv, body, blen, &complete);
    off += used;
  }
  assert_int_equal(rc, CAIRN_ETOOBIG);
  assert_true(r.cap <= 100000); /* never grew past the limit */
  cairn_transport_reader_free(&r);

  /* A flipped byte fails authentication. */
  pair q;
  handshake(&q);
  msgpack_sbuffer_clear(&wire);
  assert_int_equal(cairn_transport_seal(&q.a_send, msg, 100, &wire), 0);
  wire.data[10] ^= 1;
  assert_int_equal(cairn_transport_reader_init(&r, 1 << 20), 0);
  assert_int_equal(cairn_transport_record((const uint8_t *)wire.data, wire.size, &body, &blen, &used), 0);
  assert_int_equal(cairn_transport_reader_open(&r, &q.b_recv, body, blen, &complete), CAIRN_EBADSIG);
  cairn_transport_reader_free(&r);
  msgpack_sbuffer_destroy(&wire);
}

static void test_record_framing(void **state) {
  (void)state;
  const uint8_t *body;
  size_t blen, used;
  static const uint8_t zero[] = {0, 0, 1}, partial[] = {0, 5, 1, 2};
  assert_int_equal(cairn_transport_record(zero, sizeof zero, &body, &blen, &used), CAIRN_EMALFORMED);
  assert_int_equal(cairn_transport_record(partial, sizeof partial, &body, &blen, &used), CAIRN_EAGAIN);
  assert_int_equal(cairn_transport_record(partial, 1, &body, &blen, &used), CAIRN_EAGAIN);
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  assert_int_equal(cairn_transport_put_record(&sb, (const uint8_t *)"hello", 5), 0);
  assert_int_equal(cairn_transport_record((const uint8_t *)sb.data, sb.size, &body, &blen, &used), 0);
  assert_int_equal(blen, 5);
  assert_int_equal(used, 7);
  uint8_t huge[CAIRN_NOISE_MAX_MSG + 1];
  assert_int_equal(cairn_transport_put_record(&sb, huge, sizeof huge), CAIRN_ETOOBIG);
  msgpack_sbuffer_destroy(&sb);
}

static int setup(void **state) {
  (void)state;
  return sodium_init() < 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_small_and_large_messages),
      cmocka_unit_test(test_release_between_messages),
      cmocka_unit_test(test_over_limit_and_damage_refused),
      cmocka_unit_test(test_record_framing),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
