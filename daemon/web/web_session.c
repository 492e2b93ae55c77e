/* web_session.c: sign-in links, sessions and CSRF tokens, in memory. */
#include "web_int.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "error.h"
#include "text.h"

#define SECRET_BYTES 32

_Static_assert(CAIRN__WEB_SECRET_TEXT ==
                   sodium_base64_ENCODED_LEN(SECRET_BYTES, sodium_base64_VARIANT_URLSAFE_NO_PADDING),
               "a secret's text is 43 base64url characters");

/* A fresh secret's text, and the hash that is kept of it. */
static void secret_new(char text[CAIRN__WEB_SECRET_TEXT], uint8_t hash[32]) {
  uint8_t raw[SECRET_BYTES];

  randombytes_buf(raw, sizeof raw);
  sodium_bin2base64(text, CAIRN__WEB_SECRET_TEXT, raw, sizeof raw,
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  sodium_memzero(raw, sizeof raw);
  if (hash != NULL)
    crypto_generichash(hash, 32, (const uint8_t *)text, CAIRN__WEB_SECRET_TEXT - 1, NULL, 0);
}

/* The hash of a presented secret; 0, or -1 when it cannot be one. */
static int secret_hash(const char *text, size_t len, uint8_t hash[32]) {
  if (len != CAIRN__WEB_SECRET_TEXT - 1)
    return -1;
  crypto_generichash(hash, 32, (const uint8_t *)text, len, NULL, 0);
  return 0;
}

int cairn__web_name_check(const char *name, char *why, size_t whylen) {
  size_t len = strlen(name), blank = 0;

  if (len > CAIRN_WEB_NAME_MAX) {
    snprintf(why, whylen, "as: longer than %d bytes", CAIRN_WEB_NAME_MAX);
    return CAIRN_ETOOBIG;
  }
  if (!cairn_text_utf8_valid(name, len)) {
    snprintf(why, whylen, "as: invalid UTF-8");
    return CAIRN_EUTF8;
  }
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)name[i];
    if (c < 0x20 || c == 0x7f || (c == 0xc2 && i + 1 < len && (unsigned char)name[i + 1] < 0xa0)) {
      snprintf(why, whylen, "as: must not contain control characters");
      return CAIRN_EINVAL;
    }
    blank += c == ' ';
  }
  if (blank == len) {
    snprintf(why, whylen, "as: must name who signs in");
    return CAIRN_EINVAL;
  }
  return 0;
}

int cairn__web_link_new(cairn__web_sessions *ss, const char *name, int64_t now,
                        char token[CAIRN__WEB_SECRET_TEXT]) {
  cairn__web_link *slot = &ss->l[0];

  for (size_t i = 0; i < CAIRN__WEB_LINKS_MAX; i++) {
    cairn__web_link *l = &ss->l[i];
    if (l->expires <= now) { /* free or expired */
      slot = l;
      break;
    }
    if (l->expires < slot->expires)
      slot = l; /* the oldest so far */
  }
  secret_new(token, slot->hash);
  snprintf(slot->name, sizeof slot->name, "%s", name);
  slot->expires = now + CAIRN_WEB_LINK_SECONDS;
  return 0;
}

const cairn__web_session *cairn__web_link_redeem(cairn__web_sessions *ss, const char *token,
                                                 size_t len, int64_t now,
                                                 char cookie[CAIRN__WEB_SECRET_TEXT]) {
  uint8_t hash[32];
  cairn__web_link *link = NULL;
  cairn__web_session *slot = &ss->s[0];

  if (secret_hash(token, len, hash) != 0)
    return NULL;
  for (size_t i = 0; i < CAIRN__WEB_LINKS_MAX; i++) /* every slot: constant work */
    if (ss->l[i].expires > now && sodium_memcmp(ss->l[i].hash, hash, 32) == 0)
      link = &ss->l[i];
  if (link == NULL)
    return NULL;
  link->expires = 0; /* one use */
  for (size_t i = 0; i < CAIRN__WEB_SESSIONS_MAX; i++) {
    cairn__web_session *s = &ss->s[i];
    if (s->expires <= now) {
      slot = s;
      break;
    }
    if (s->expires < slot->expires)
      slot = s; /* ends soonest */
  }
  secret_new(cookie, slot->hash);
  secret_new(slot->csrf, NULL);
  memcpy(slot->name, link->name, sizeof slot->name);
  slot->expires = now + ss->lifetime;
  sodium_memzero(link, sizeof *link);
  return slot;
}

const cairn__web_session *cairn__web_session_find(cairn__web_sessions *ss, const char *cookie,
                                                  size_t len, int64_t now) {
  uint8_t hash[32];
  const cairn__web_session *found = NULL;

  if (secret_hash(cookie, len, hash) != 0)
    return NULL;
  for (size_t i = 0; i < CAIRN__WEB_SESSIONS_MAX; i++)
    if (ss->s[i].expires > now && sodium_memcmp(ss->s[i].hash, hash, 32) == 0)
      found = &ss->s[i];
  return found;
}

int cairn__web_csrf_ok(const cairn__web_session *session, const char *token, size_t len) {
  return len == CAIRN__WEB_SECRET_TEXT - 1 && sodium_memcmp(session->csrf, token, len) == 0;
}

void cairn__web_session_end(cairn__web_sessions *ss, const cairn__web_session *session) {
  ptrdiff_t i = session - ss->s;

  if (i >= 0 && i < CAIRN__WEB_SESSIONS_MAX)
    sodium_memzero(&ss->s[i], sizeof ss->s[i]);
}

size_t cairn__web_sessions_clear(cairn__web_sessions *ss, int64_t now) {
  size_t n = 0;

  for (size_t i = 0; i < CAIRN__WEB_SESSIONS_MAX; i++)
    n += ss->s[i].expires > now;
  sodium_memzero(ss->s, sizeof ss->s);
  sodium_memzero(ss->l, sizeof ss->l);
  return n;
}
