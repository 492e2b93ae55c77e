/*
 * transport.h: sync messages over Noise records (docs/PROTOCOL.md s.3).
 *
 * A record is a 2-byte big-endian length N (1..65535) then N bytes: a Noise
 * handshake message, or a transport message whose plaintext is one flag
 * byte (bit 0: more fragments follow) and a fragment of a sync message.
 * Pure functions; the reader's limit is checked before it grows.
 */
#ifndef CAIRN_TRANSPORT_H
#define CAIRN_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "noise.h"

#define CAIRN_TRANSPORT_HEADER 2
#define CAIRN_TRANSPORT_MORE 0x01
/* The largest fragment one record carries. */
#define CAIRN_TRANSPORT_FRAGMENT_MAX (CAIRN_NOISE_MAX_MSG - CAIRN_NOISE_TAG_BYTES - 1)

/* Finds one whole record at the front of buf. Returns 0 with *body (into
 * buf), *body_len and *consumed; CAIRN_EAGAIN when more bytes are needed
 * (nothing consumed); CAIRN_EMALFORMED for a zero length. */
int cairn_transport_record(const uint8_t *buf, size_t len, const uint8_t **body, size_t *body_len,
                           size_t *consumed) __attribute__((warn_unused_result));

/* Appends a record carrying p as it is (a handshake message, at most
 * CAIRN_NOISE_MAX_MSG bytes). Returns 0, CAIRN_ETOOBIG or CAIRN_ENOMEM. */
int cairn_transport_put_record(msgpack_sbuffer *out, const uint8_t *p, size_t len);

/* Encrypts a whole message with c into as many records as it needs,
 * appended to out. Returns 0, CAIRN_ENOMEM, or the cipher's error (nonce
 * exhausted); on error out is as it was. */
int cairn_transport_seal(cairn_noise_cipher *c, const uint8_t *msg, size_t len,
                         msgpack_sbuffer *out);

/* Reassembles messages from records. It holds no buffer between
 * messages once released (cairn_transport_reader_release), so an idle
 * connection costs only this struct. */
typedef struct cairn_transport_reader {
  uint8_t *msg;  /* the message so far; whole when complete (NULL: none) */
  size_t len;    /* its bytes so far */
  size_t cap;    /* bytes msg has room for */
  size_t max;    /* largest message accepted */
  int done;      /* msg is a whole message already handed out */
  uint8_t *buf;  /* the allocation: one byte, then msg */
  size_t hint;   /* the size of the last buffer released: where the next starts */
} cairn_transport_reader;

/* Prepares r for messages of at most max bytes. Allocates nothing.
 * Returns 0. */
int cairn_transport_reader_init(cairn_transport_reader *r, size_t max);

/* Decrypts one record body with c and appends its fragment (decrypted in
 * place, into the message). Sets *complete when the message is whole: it
 * is then r->msg[0..r->len), valid until the next call, which starts a
 * new message, or until cairn_transport_reader_release. Returns 0;
 * CAIRN_EBADSIG (forged or damaged: the connection must end),
 * CAIRN_ETOOBIG (over max, checked before anything grows),
 * CAIRN_EMALFORMED, CAIRN_ENOMEM. */
int cairn_transport_reader_open(cairn_transport_reader *r, cairn_noise_cipher *c,
                                const uint8_t *body, size_t len, int *complete)
    __attribute__((warn_unused_result));

/* Frees the buffer of a message already handed out (nothing while a
 * message is part-way): the next message allocates what it needs,
 * starting at the size freed. */
void cairn_transport_reader_release(cairn_transport_reader *r);

/* Frees the reader's buffer. Safe on a zeroed reader. */
void cairn_transport_reader_free(cairn_transport_reader *r);

#endif
