/* text.c: validation of UTF-8, control characters, dates and ids. */
#include "text.h"

#include <stdio.h>

#include <string.h>
#include <time.h>

#include "error.h"

int cairn_text_utf8_valid(const char *s, size_t len) {
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0;

  while (i < len) {
    unsigned char c;
    unsigned char lo = 0x80, hi = 0xbf; /* allowed range of the 2nd byte */
    size_t n;                           /* bytes in the sequence */
    uint64_t w;

    /* Fast path: 8 bytes of ASCII with no NUL among them. */
    if (len - i >= 8) {
      memcpy(&w, p + i, 8);
      if (((w | ((w - 0x0101010101010101ull) & ~w)) & 0x8080808080808080ull) == 0) {
        i += 8;
        continue;
      }
    }
    c = p[i];
    if (c == 0)
      return 0;
    if (c < 0x80) {
      i++;
      continue;
    }
    /* Unicode 15, table 3-7: the second byte's range excludes overlongs
     * (E0, F0), surrogates (ED) and code points above U+10FFFF (F4). */
    if (c >= 0xc2 && c <= 0xdf)
      n = 2;
    else if (c >= 0xe0 && c <= 0xef) {
      n = 3;
      if (c == 0xe0)
        lo = 0xa0;
      else if (c == 0xed)
        hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 4;
      if (c == 0xf0)
        lo = 0x90;
      else if (c == 0xf4)
        hi = 0x8f;
    } else
      return 0; /* continuation byte, C0/C1 overlong lead, or F5..FF */
    if (len - i < n)
      return 0; /* truncated sequence */
    if (p[i + 1] < lo || p[i + 1] > hi)
      return 0;
    for (size_t k = 2; k < n; k++)
      if (p[i + k] < 0x80 || p[i + k] > 0xbf)
        return 0;
    i += n;
  }
  return 1;
}

/* Returns the first control character of valid UTF-8 s[0..len) that
 * multiline text does not allow (or single-line text, with one_line), or
 * -1. C1 controls are U+0080..U+009F, encoded C2 80..C2 9F. */
static int32_t first_control(const unsigned char *s, size_t len, int one_line) {
  for (size_t i = 0; i < len; i++) {
    unsigned char c = s[i];
    if (c < 0x20 || c == 0x7f) {
      if (one_line || (c != '\t' && c != '\n'))
        return c;
    } else if (c == 0xc2 && i + 1 < len && s[i + 1] <= 0x9f) {
      return s[i + 1];
    }
  }
  return -1;
}

int cairn_text_check(const char *field, const char *s, size_t len, int multiline, char *why,
                     size_t whylen) {
  int32_t c;

  if (!cairn_text_utf8_valid(s, len)) {
    snprintf(why, whylen, "%s: invalid UTF-8", field);
    return CAIRN_EUTF8;
  }
  if ((c = first_control((const unsigned char *)s, len, !multiline)) < 0)
    return 0;
  if (c == '\t' || c == '\n')
    snprintf(why, whylen, "%s: must be one line (U+%04X): no line breaks or tabs", field,
             (unsigned)c);
  else
    snprintf(why, whylen, "%s: contains a control character (U+%04X), which cairn does not store",
             field, (unsigned)c);
  return CAIRN_EINVAL;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil; exact for any year, no libc involved). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = (unsigned)(y - era * 400);
  unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

/* The inverse: civil date of a day number. */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  unsigned doe = (unsigned)(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int is_leap(unsigned y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static unsigned days_in_month(unsigned y, unsigned m) {
  static const unsigned char dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* Reads n ASCII digits at s; returns -1 if any is not a digit. */
static int read_digits(const char *s, unsigned n) {
  int v = 0;
  for (unsigned i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

int cairn_text_date_parse(const char *s, size_t len, int32_t *day) {
  int y, m, d;

  if (len != 10 || s[4] != '-' || s[7] != '-')
    return CAIRN_EDATE;
  y = read_digits(s, 4);
  m = read_digits(s + 5, 2);
  d = read_digits(s + 8, 2);
  if (y < 0 || m < 1 || m > 12 || d < 1 || (unsigned)d > days_in_month((unsigned)y, (unsigned)m))
    return CAIRN_EDATE;
  if (y < CAIRN_TEXT_YEAR_MIN || y > CAIRN_TEXT_YEAR_MAX)
    return CAIRN_ERANGE;
  *day = (int32_t)days_from_civil(y, (unsigned)m, (unsigned)d);
  return 0;
}

static void write_digits(char *out, unsigned v, unsigned n) {
  while (n-- > 0) {
    out[n] = (char)('0' + v % 10);
    v /= 10;
  }
}

void cairn_text_date_format(int32_t day, char out[11]) {
  static const int32_t first = -719528; /* 0000-01-01 */
  static const int32_t last = 2932896;  /* 9999-12-31 */
  int64_t y;
  unsigned m, d;

  civil_from_days(day < first ? first : day > last ? last : day, &y, &m, &d);
  write_digits(out, (unsigned)y, 4);
  out[4] = '-';
  write_digits(out + 5, m, 2);
  out[7] = '-';
  write_digits(out + 8, d, 2);
  out[10] = '\0';
}

int32_t cairn_text_today(void) {
  time_t now = time(NULL);
  struct tm tm;

  if (localtime_r(&now, &tm) == NULL)
    return (int32_t)(now / 86400); /* no usable local time: UTC */
  return (int32_t)days_from_civil((int64_t)tm.tm_year + 1900, (unsigned)tm.tm_mon + 1, (unsigned)tm.tm_mday);
}

int cairn_text_id_logged(const char *s, size_t len) {
  if (len < 1 || len > CAIRN_TEXT_ID_MAX)
    return 0;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
          c == '-'))
      return 0;
  }
  return 1;
}

int cairn_text_id_valid(const char *s, size_t len) {
  return cairn_text_id_logged(s, len) && s[0] != '-' && s[0] != '.';
}

int cairn_text_id_check(const char *field, const char *s, size_t len, char *why, size_t whylen) {
  char shown[CAIRN_TEXT_SHOWN_MAX];

  if (cairn_text_id_valid(s, len))
    return 0;
  if (len > CAIRN_TEXT_ID_MAX) {
    snprintf(why, whylen, "%s: longer than %d bytes", field, CAIRN_TEXT_ID_MAX);
    return CAIRN_ETOOBIG;
  }
  cairn_text_shown(shown, s, len);
  snprintf(why, whylen, "%s: '%s' is not an id (%s)", field, shown, CAIRN_TEXT_ID_RULE);
  return CAIRN_EINVAL;
}

void cairn_text_shown(char out[CAIRN_TEXT_SHOWN_MAX], const char *s, size_t len) {
  size_t n = len < 32 ? len : 32, i;

  for (i = 0; i < n; i++)
    out[i] = (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '\'') ? s[i] : '?';
  strcpy(out + i, len > 32 ? "..." : "");
}

void cairn_text_duration(int64_t ms, char out[CAIRN_TEXT_DURATION_MAX]) {
  static const struct {
    const char *unit;
    int64_t ms;
  } units[] = {{"year", 365LL * 86400000},
               {"day", 86400000},
               {"hour", 3600000},
               {"minute", 60000},
               {"second", 1000}};
  uint64_t m = ms < 0 ? (uint64_t)0 - (uint64_t)ms : (uint64_t)ms;
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
    uint64_t unit = (uint64_t)units[i].ms, n = (m + unit / 2) / unit; /* to the nearest */
    if (m >= unit - unit / 20 || i + 1 == sizeof units / sizeof units[0]) {
      snprintf(out, CAIRN_TEXT_DURATION_MAX, "%llu %s%s", (unsigned long long)n, units[i].unit,
               n == 1 ? "" : "s");
      return;
    }
  }
}

void cairn_text_printable(char *out, const char *s, size_t len) {
  for (size_t i = 0; i < len; i++) {
    unsigned char ch = (unsigned char)s[i];
    out[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
  }
  out[len] = '\0';
}
