/* test_noise.c: Noise_XX and Noise_IK (25519, ChaChaPoly, BLAKE2b) against the
 * cacophony vectors, then tampering, truncation and wrong keys. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "error.h"
#include "noise.h"

#define VECTOR_FILE CAIRN_VECTORS_DIR "/noise_25519_chachapoly_blake2b.txt"
#define MAX_MSGS 8
#define MAX_HEX 1024

struct bytes {
  uint8_t b[MAX_HEX];
  size_t len;
  int present;
};

struct vector {
  char name[96];
  struct bytes init_prologue, init_static, init_ephemeral, init_remote_static;
  struct bytes resp_prologue, resp_static, resp_ephemeral, resp_remote_static;
  struct bytes handshake_hash;
  struct bytes payload[MAX_MSGS], ciphertext[MAX_MSGS];
  size_t n_msgs;
};

static void parse_hex(struct bytes *out, const char *hex, size_t hex_len) {
  size_t len = 0;
  assert_int_equal(sodium_hex2bin(out->b, sizeof out->b, hex, hex_len, NULL, &len, NULL), 0);
  out->len = len;
  out->present = 1;
}

/* Loads the vector called name from VECTOR_FILE into v. */
static void load_vector(const char *name, struct vector *v) {
  static char line[4 * MAX_HEX];
  FILE *f = fopen(VECTOR_FILE, "r");
  int in_vector = 0, found = 0;

  assert_non_null(f);
  memset(v, 0, sizeof *v);
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\r\n")] = '\0';
    if (line[0] == '#')
      continue;
    if (line[0] == '\0') {
      in_vector = 0;
      continue;
    }
    char *eq = strchr(line, '=');
    assert_non_null(eq);
    *eq = '\0';
    const char *key = line, *val = eq + 1;
    if (strcmp(key, "name") == 0) {
      in_vector = strcmp(val, name) == 0;
      if (in_vector) {
        snprintf(v->name, sizeof v->name, "%s", val);
        found = 1;
      }
      continue;
    }
    if (!in_vector)
      continue;
    struct {
      const char *key;
      struct bytes *dst;
    } fields[] = {
        {"init_prologue", &v->init_prologue},   {"init_static", &v->init_static},
        {"init_ephemeral", &v->init_ephemeral}, {"init_remote_static", &v->init_remote_static},
        {"resp_prologue", &v->resp_prologue},   {"resp_static", &v->resp_static},
        {"resp_ephemeral", &v->resp_ephemeral}, {"resp_remote_static", &v->resp_remote_static},
        {"handshake_hash", &v->handshake_hash},
    };
    int known = 0;
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
      if (strcmp(key, fields[i].key) == 0) {
        parse_hex(fields[i].dst, val, strlen(val));
        known = 1;
      }
    }
    if (strcmp(key, "msg") == 0) {
      const char *sp = strchr(val, ' ');
      assert_non_null(sp);
      assert_true(v->n_msgs < MAX_MSGS);
      parse_hex(&v->payload[v->n_msgs], val, (size_t)(sp - val));
      parse_hex(&v->ciphertext[v->n_msgs], sp + 1, strlen(sp + 1));
      v->n_msgs++;
      known = 1;
    }
    assert_true(known);
  }
  fclose(f);
  assert_true(found);
}

static const uint8_t *opt(const struct bytes *b) {
  return b->present ? b->b : NULL;
}

static void public_key(uint8_t pub[CAIRN_NOISE_KEY_BYTES], const uint8_t priv[CAIRN_NOISE_KEY_BYTES]) {
  assert_int_equal(crypto_scalarmult_curve25519_base(pub, priv), 0);
}

/* Runs a whole vector: handshake with the fixed ephemerals, then transport.
 * Every ciphertext must match byte for byte and every payload come back. */
static void run_vector(const char *name, cairn_noise_pattern pattern) {
  static struct vector v;
  cairn_noise_handshake hs[2]; /* [0] initiator, [1] responder */
  cairn_noise_cipher send[2], recv[2];
  uint8_t out[CAIRN_NOISE_MAX_MSG], pt[CAIRN_NOISE_MAX_MSG];
  uint8_t init_pub[CAIRN_NOISE_KEY_BYTES], resp_pub[CAIRN_NOISE_KEY_BYTES];
  size_t len, i = 0;

  load_vector(name, &v);
  assert_true(v.n_msgs > 3);
  assert_int_equal(cairn_noise_handshake_init(&hs[0], pattern, 1, v.init_prologue.b, v.init_prologue.len,
                                              v.init_static.b, opt(&v.init_remote_static)),
                   0);
  assert_int_equal(cairn_noise_handshake_init(&hs[1], pattern, 0, v.resp_prologue.b, v.resp_prologue.len,
                                              v.resp_static.b, opt(&v.resp_remote_static)),
                   0);
  cairn_noise_handshake_set_ephemeral(&hs[0], v.init_ephemeral.b);
  cairn_noise_handshake_set_ephemeral(&hs[1], v.resp_ephemeral.b);

  for (; !cairn_noise_handshake_done(&hs[0]); i++) {
    cairn_noise_handshake *w = &hs[i % 2], *r = &hs[1 - i % 2];
    assert_false(cairn_noise_handshake_done(r));
    assert_int_equal(cairn_noise_write_message(w, v.payload[i].b, v.payload[i].len, out, sizeof out, &len), 0);
    assert_int_equal(len, v.ciphertext[i].len);
    assert_memory_equal(out, v.ciphertext[i].b, len);
    assert_int_equal(cairn_noise_read_message(r, out, len, pt, sizeof pt, &len), 0);
    assert_int_equal(len, v.payload[i].len);
    assert_memory_equal(pt, v.payload[i].b, len);
  }
  assert_int_equal(i, pattern == CAIRN_NOISE_XX ? 3 : 2);
  assert_true(cairn_noise_handshake_done(&hs[1]));

  public_key(init_pub, v.init_static.b);
  public_key(resp_pub, v.resp_static.b);
  assert_memory_equal(cairn_noise_remote_static(&hs[0]), resp_pub, CAIRN_NOISE_KEY_BYTES);
  assert_memory_equal(cairn_noise_remote_static(&hs[1]), init_pub, CAIRN_NOISE_KEY_BYTES);
  assert_memory_equal(cairn_noise_handshake_hash(&hs[0]), cairn_noise_handshake_hash(&hs[1]), CAIRN_NOISE_HASH_BYTES);
  if (v.handshake_hash.present)
    assert_memory_equal(cairn_noise_handshake_hash(&hs[0]), v.handshake_hash.b, CAIRN_NOISE_HASH_BYTES);

  assert_int_equal(cairn_noise_split(&hs[0], &send[0], &recv[0]), 0);
  assert_int_equal(cairn_noise_split(&hs[1], &send[1], &recv[1]), 0);
  for (; i < v.n_msgs; i++) {
    int s = (int)(i % 2); /* even: initiator sends */
    assert_int_equal(cairn_noise_encrypt(&send[s], NULL, 0, v.payload[i].b, v.payload[i].len, out), 0);
    len = v.payload[i].len + CAIRN_NOISE_TAG_BYTES;
    assert_int_equal(len, v.ciphertext[i].len);
    assert_memory_equal(out, v.ciphertext[i].b, len);
    assert_int_equal(cairn_noise_decrypt(&recv[1 - s], NULL, 0, out, len, pt), 0);
    assert_memory_equal(pt, v.payload[i].b, v.payload[i].len);
  }

  for (int k = 0; k < 2; k++) {
    cairn_noise_handshake_clear(&hs[k]);
    cairn_noise_cipher_clear(&send[k]);
    cairn_noise_cipher_clear(&recv[k]);
  }
}

static void test_vector_xx(void **state) {
  (void)state;
  run_vector("Noise_XX_25519_ChaChaPoly_BLAKE2b", CAIRN_NOISE_XX);
}

static void test_vector_ik(void **state) {
  (void)state;
  run_vector("Noise_IK_25519_ChaChaPoly_BLAKE2b", CAIRN_NOISE_IK);
}

/* ---- random keys ---------------------------------------------------------- */

struct peer {
  uint8_t priv[CAIRN_NOISE_KEY_BYTES], pub[CAIRN_NOISE_KEY_BYTES];
};

static void peer_new(struct peer *p) {
  randombytes_buf(p->priv, sizeof p->priv);
  public_key(p->pub, p->priv);
}

/* Initializes an initiator/responder pair; for IK the initiator is told
 * rs_for_ik as the responder's key. */
static void pair_init(cairn_noise_handshake *ini, cairn_noise_handshake *resp, cairn_noise_pattern pattern,
                      const struct peer *a, const struct peer *b, const uint8_t *rs_for_ik) {
  static const uint8_t prologue[] = "cairn test";
  assert_int_equal(cairn_noise_handshake_init(ini, pattern, 1, prologue, sizeof prologue, a->priv,
                                              pattern == CAIRN_NOISE_IK ? rs_for_ik : NULL),
                   0);
  assert_int_equal(cairn_noise_handshake_init(resp, pattern, 0, prologue, sizeof prologue, b->priv, NULL), 0);
}

/* Sends one handshake message from w to r with a short payload. */
static int step(cairn_noise_handshake *w, cairn_noise_handshake *r) {
  static const uint8_t payload[] = "hello";
  uint8_t msg[256], pt[64];
  size_t len, plen;

  assert_int_equal(cairn_noise_write_message(w, payload, sizeof payload, msg, sizeof msg, &len), 0);
  int rc = cairn_noise_read_message(r, msg, len, pt, sizeof pt, &plen);
  if (rc == 0) {
    assert_int_equal(plen, sizeof payload);
    assert_memory_equal(pt, payload, plen);
  }
  return rc;
}

static void exchange(cairn_noise_cipher *send, cairn_noise_cipher *recv, const char *text) {
  uint8_t ct[128], pt[128];
  size_t len = strlen(text);
  static const uint8_t ad[] = "frame 7";

  assert_int_equal(cairn_noise_encrypt(send, ad, sizeof ad, (const uint8_t *)text, len, ct), 0);
  assert_int_equal(cairn_noise_decrypt(recv, ad, sizeof ad, ct, len + CAIRN_NOISE_TAG_BYTES, pt), 0);
  assert_memory_equal(pt, text, len);
}

static void random_session(cairn_noise_pattern pattern) {
  struct peer a, b;
  cairn_noise_handshake ini, resp;
  cairn_noise_cipher is, ir, rsend, rrecv;

  peer_new(&a);
  peer_new(&b);
  pair_init(&ini, &resp, pattern, &a, &b, b.pub);
  if (pattern == CAIRN_NOISE_XX)
    assert_null(cairn_noise_remote_static(&ini));
  for (int i = 0; !cairn_noise_handshake_done(&ini); i++)
    assert_int_equal(i % 2 ? step(&resp, &ini) : step(&ini, &resp), 0);
  assert_true(cairn_noise_handshake_done(&resp));
  assert_memory_equal(cairn_noise_remote_static(&ini), b.pub, CAIRN_NOISE_KEY_BYTES);
  assert_memory_equal(cairn_noise_remote_static(&resp), a.pub, CAIRN_NOISE_KEY_BYTES);
  assert_memory_equal(cairn_noise_handshake_hash(&ini), cairn_noise_handshake_hash(&resp), CAIRN_NOISE_HASH_BYTES);

  assert_int_equal(cairn_noise_split(&ini, &is, &ir), 0);
  assert_int_equal(cairn_noise_split(&resp, &rsend, &rrecv), 0);
  assert_int_equal(cairn_noise_split(&ini, &is, &ir), CAIRN_EINVAL); /* only once */
  assert_non_null(cairn_noise_handshake_hash(&ini));                 /* still there for binding */
  for (int i = 0; i < 3; i++) {
    exchange(&is, &rrecv, "from the initiator");
    exchange(&rsend, &ir, "from the responder");
  }
  cairn_noise_handshake_clear(&ini);
  cairn_noise_handshake_clear(&resp);
  assert_null(cairn_noise_handshake_hash(&ini));
  cairn_noise_cipher_clear(&is);
  cairn_noise_cipher_clear(&ir);
  cairn_noise_cipher_clear(&rsend);
  cairn_noise_cipher_clear(&rrecv);
  assert_int_equal(cairn_noise_encrypt(&is, NULL, 0, (const uint8_t *)"x", 1, (uint8_t[32]){0}), CAIRN_EINVAL);
}

static void test_xx_random(void **state) {
  (void)state;
  random_session(CAIRN_NOISE_XX);
}

static void test_ik_random(void **state) {
  (void)state;
  random_session(CAIRN_NOISE_IK);
}

/* ---- failures ------------------------------------------------------------- */

/* A flipped bit in any authenticated handshake message is refused, and the
 * reader's handshake is dead afterwards. */
static void test_handshake_bitflip(void **state) {
  (void)state;
  struct peer a, b;
  cairn_noise_handshake ini, resp;
  uint8_t msg[256], pt[64];
  size_t len, plen;

  peer_new(&a);
  peer_new(&b);
  /* IK message 1: the flip lands in the encrypted static key or payload. */
  for (size_t bit = 32 * 8; bit < 120 * 8; bit += 61) {
    pair_init(&ini, &resp, CAIRN_NOISE_IK, &a, &b, b.pub);
    assert_int_equal(cairn_noise_write_message(&ini, (const uint8_t *)"hi", 2, msg, sizeof msg, &len), 0);
    assert_int_equal(len, 32 + 48 + 2 + 16);
    msg[bit / 8 % len] ^= (uint8_t)(1u << (bit % 8));
    assert_int_equal(cairn_noise_read_message(&resp, msg, len, pt, sizeof pt, &plen), CAIRN_EBADSIG);
    assert_false(cairn_noise_handshake_done(&resp));
    assert_null(cairn_noise_remote_static(&resp));
    assert_int_equal(cairn_noise_write_message(&resp, NULL, 0, msg, sizeof msg, &len), CAIRN_EINVAL);
    cairn_noise_handshake_clear(&ini);
  }

  /* XX message 2, and the ephemeral of IK message 1 (it feeds every key). */
  pair_init(&ini, &resp, CAIRN_NOISE_XX, &a, &b, NULL);
  assert_int_equal(step(&ini, &resp), 0);
  assert_int_equal(cairn_noise_write_message(&resp, NULL, 0, msg, sizeof msg, &len), 0);
  msg[len - 1] ^= 0x80;
  assert_int_equal(cairn_noise_read_message(&ini, msg, len, pt, sizeof pt, &plen), CAIRN_EBADSIG);
  msg[len - 1] ^= 0x80; /* even the genuine message is refused now */
  assert_int_equal(cairn_noise_read_message(&ini, msg, len, pt, sizeof pt, &plen), CAIRN_EINVAL);

  pair_init(&ini, &resp, CAIRN_NOISE_IK, &a, &b, b.pub);
  assert_int_equal(cairn_noise_write_message(&ini, NULL, 0, msg, sizeof msg, &len), 0);
  msg[0] ^= 0x01;
  assert_int_equal(cairn_noise_read_message(&resp, msg, len, pt, sizeof pt, &plen), CAIRN_EBADSIG);
  cairn_noise_handshake_clear(&ini);
}

static void test_transport_bitflip(void **state) {
  (void)state;
  struct peer a, b;
  cairn_noise_handshake ini, resp;
  cairn_noise_cipher is, ir, rsend, rrecv;
  uint8_t ct[64], pt[64] = {0};
  static const uint8_t secret[] = "attack at dawn";

  peer_new(&a);
  peer_new(&b);
  pair_init(&ini, &resp, CAIRN_NOISE_XX, &a, &b, NULL);
  assert_int_equal(step(&ini, &resp), 0);
  assert_int_equal(step(&resp, &ini), 0);
  assert_int_equal(step(&ini, &resp), 0);
  assert_int_equal(cairn_noise_split(&ini, &is, &ir), 0);
  assert_int_equal(cairn_noise_split(&resp, &rsend, &rrecv), 0);

  assert_int_equal(cairn_noise_encrypt(&is, NULL, 0, secret, sizeof secret, ct), 0);
  ct[3] ^= 0x04;
  assert_int_equal(cairn_noise_decrypt(&rrecv, NULL, 0, ct, sizeof secret + 16, pt), CAIRN_EBADSIG);
  assert_null(memchr(pt, 'a', sizeof pt)); /* no plaintext left behind */
  assert_false(rrecv.has_key);
  ct[3] ^= 0x04; /* the cipher stays dead even for the genuine message */
  assert_int_equal(cairn_noise_decrypt(&rrecv, NULL, 0, ct, sizeof secret + 16, pt), CAIRN_EINVAL);

  /* Wrong associated data fails the same way. */
  assert_int_equal(cairn_noise_encrypt(&rsend, (const uint8_t *)"a", 1, secret, sizeof secret, ct), 0);
  assert_int_equal(cairn_noise_decrypt(&ir, (const uint8_t *)"b", 1, ct, sizeof secret + 16, pt), CAIRN_EBADSIG);
}

static void test_short_messages(void **state) {
  (void)state;
  struct peer a, b;
  cairn_noise_handshake ini, resp;
  cairn_noise_cipher c;
  uint8_t msg[256], pt[64];
  size_t len, plen;

  peer_new(&a);
  peer_new(&b);
  /* XX message 1 needs the 32-byte ephemeral. */
  pair_init(&ini, &resp, CAIRN_NOISE_XX, &a, &b, NULL);
  assert_int_equal(cairn_noise_write_message(&ini, NULL, 0, msg, sizeof msg, &len), 0);
  assert_int_equal(len, 32);
  assert_int_equal(cairn_noise_read_message(&resp, msg, 31, pt, sizeof pt, &plen), CAIRN_EMALFORMED);
  assert_int_equal(cairn_noise_read_message(&resp, msg, 32, pt, sizeof pt, &plen), CAIRN_EINVAL);
  cairn_noise_handshake_clear(&ini);

  /* IK message 1 needs e, the encrypted s and a tag: one byte short. */
  pair_init(&ini, &resp, CAIRN_NOISE_IK, &a, &b, b.pub);
  assert_int_equal(cairn_noise_write_message(&ini, NULL, 0, msg, sizeof msg, &len), 0);
  assert_int_equal(len, 32 + 48 + 16);
  assert_int_equal(cairn_noise_read_message(&resp, msg, len - 1, pt, sizeof pt, &plen), CAIRN_EMALFORMED);
  cairn_noise_handshake_clear(&ini);

  /* A transport message shorter than its tag. */
  memset(&c, 0, sizeof c);
  c.has_key = 1;
  assert_int_equal(cairn_noise_decrypt(&c, NULL, 0, msg, CAIRN_NOISE_TAG_BYTES - 1, pt), CAIRN_EMALFORMED);
  assert_false(c.has_key);
}

static void test_ik_wrong_responder(void **state) {
  (void)state;
  struct peer a, b, other;
  cairn_noise_handshake ini, resp;

  peer_new(&a);
  peer_new(&b);
  peer_new(&other);
  pair_init(&ini, &resp, CAIRN_NOISE_IK, &a, &b, other.pub);
  assert_int_equal(step(&ini, &resp), CAIRN_EBADSIG);
  assert_false(cairn_noise_handshake_done(&resp));
  assert_null(cairn_noise_remote_static(&resp));
  cairn_noise_handshake_clear(&ini);
}

/* A peer ephemeral of small order (here zero) makes the DH output all zero;
 * the handshake refuses to go on instead of keying from it. */
static void test_small_order_key(void **state) {
  (void)state;
  struct peer a, b;
  cairn_noise_handshake ini, resp;
  uint8_t msg[256] = {0}, pt[64];
  size_t len, plen;

  peer_new(&a);
  peer_new(&b);
  pair_init(&ini, &resp, CAIRN_NOISE_XX, &a, &b, NULL);
  assert_int_equal(cairn_noise_read_message(&resp, msg, 32, pt, sizeof pt, &plen), 0);
  assert_int_equal(cairn_noise_write_message(&resp, NULL, 0, msg, sizeof msg, &len), CAIRN_EMALFORMED);
  assert_false(cairn_noise_handshake_done(&resp));
  cairn_noise_handshake_clear(&ini);
}

static void test_misuse(void **state) {
  (void)state;
  struct peer a, b;
  cairn_noise_handshake ini, resp;
  cairn_noise_cipher c1, c2;
  uint8_t msg[256], pt[64];
  size_t len, plen;

  peer_new(&a);
  peer_new(&b);
  /* rs is required exactly for the IK initiator. */
  assert_int_equal(cairn_noise_handshake_init(&ini, CAIRN_NOISE_IK, 1, NULL, 0, a.priv, NULL), CAIRN_EINVAL);
  assert_int_equal(cairn_noise_handshake_init(&ini, CAIRN_NOISE_XX, 1, NULL, 0, a.priv, b.pub), CAIRN_EINVAL);
  assert_int_equal(cairn_noise_handshake_init(&ini, CAIRN_NOISE_IK, 0, NULL, 0, a.priv, b.pub), CAIRN_EINVAL);
  assert_int_equal(cairn_noise_handshake_init(&ini, CAIRN_NOISE_XX, 1, NULL, 0, NULL, NULL), CAIRN_EINVAL);
  assert_int_equal(cairn_noise_write_message(&ini, NULL, 0, msg, sizeof msg, &len), CAIRN_EINVAL);

  /* Out of turn, split too early, buffer too small. */
  pair_init(&ini, &resp, CAIRN_NOISE_XX, &a, &b, NULL);
  assert_int_equal(cairn_noise_split(&ini, &c1, &c2), CAIRN_EINVAL);
  assert_null(cairn_noise_handshake_hash(&ini));
  assert_int_equal(cairn_noise_read_message(&ini, msg, 32, pt, sizeof pt, &plen), CAIRN_EINVAL);
  assert_int_equal(cairn_noise_write_message(&resp, NULL, 0, msg, sizeof msg, &len), CAIRN_EINVAL);
  pair_init(&ini, &resp, CAIRN_NOISE_XX, &a, &b, NULL);
  assert_int_equal(cairn_noise_write_message(&ini, NULL, 0, msg, 31, &len), CAIRN_ETOOBIG);

  /* A payload larger than the reader's buffer. */
  pair_init(&ini, &resp, CAIRN_NOISE_XX, &a, &b, NULL);
  assert_int_equal(cairn_noise_write_message(&ini, (const uint8_t *)"12345", 5, msg, sizeof msg, &len), 0);
  assert_int_equal(cairn_noise_read_message(&resp, msg, len, pt, 4, &plen), CAIRN_ETOOBIG);
  cairn_noise_handshake_clear(&ini);

  /* Destructors accept NULL. */
  cairn_noise_handshake_clear(NULL);
  cairn_noise_cipher_clear(NULL);
}

static void test_nonce_exhaustion(void **state) {
  (void)state;
  cairn_noise_cipher s, r;
  uint8_t ct[32], pt[16];

  memset(&s, 0, sizeof s);
  randombytes_buf(s.k, sizeof s.k);
  s.has_key = 1;
  r = s;
  s.n = r.n = UINT64_MAX - 1; /* the last usable nonce */
  assert_int_equal(cairn_noise_encrypt(&s, NULL, 0, (const uint8_t *)"x", 1, ct), 0);
  assert_int_equal(cairn_noise_decrypt(&r, NULL, 0, ct, 1 + CAIRN_NOISE_TAG_BYTES, pt), 0);
  assert_int_equal(cairn_noise_encrypt(&s, NULL, 0, (const uint8_t *)"x", 1, ct), CAIRN_ERANGE);
  assert_int_equal(cairn_noise_decrypt(&r, NULL, 0, ct, 1 + CAIRN_NOISE_TAG_BYTES, pt), CAIRN_ERANGE);
  cairn_noise_cipher_clear(&s);
}

int main(void) {
  if (sodium_init() < 0)
    return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_vector_xx),         cmocka_unit_test(test_vector_ik),
      cmocka_unit_test(test_xx_random),         cmocka_unit_test(test_ik_random),
      cmocka_unit_test(test_handshake_bitflip), cmocka_unit_test(test_transport_bitflip),
      cmocka_unit_test(test_short_messages),    cmocka_unit_test(test_ik_wrong_responder),
      cmocka_unit_test(test_small_order_key),   cmocka_unit_test(test_misuse),
      cmocka_unit_test(test_nonce_exhaustion),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
