/* troff.c: escaping text for manual pages (troff.h). */
#include "troff.h"

void cairn_troff_text(FILE *out, const char *s) {
  int bol = 1;
  for (; *s != '\0'; s++) {
    if (bol && (*s == '.' || *s == '\''))
      fputs("\\&", out);
    bol = *s == '\n';
    if (*s == '\\')
      fputs("\\e", out);
    else if (*s == '-')
      fputs("\\-", out);
    else
      fputc(*s, out);
  }
}

void cairn_troff_block(FILE *out, const char *s) {
  fputs(".nf\n", out);
  cairn_troff_text(out, s);
  fputs(".fi\n", out);
}

int cairn_troff_write(const char *path, void (*fn)(FILE *out)) {
  FILE *out = fopen(path, "w");
  if (out == NULL) {
    perror(path);
    return 1;
  }
  fn(out);
  if (fclose(out) != 0) {
    perror(path);
    return 1;
  }
  return 0;
}
