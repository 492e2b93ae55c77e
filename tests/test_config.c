/* test_config.c: DATA/cairn.conf defaults, load, save and refusals. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "error.h"

typedef struct fixture {
  char dir[64];
  char conf[128];
} fixture;

static int setup(void **state) {
  fixture *fx = calloc(1, sizeof *fx);
  if (!fx)
    return -1;
  strcpy(fx->dir, "/tmp/cairn-config-XXXXXX");
  if (!mkdtemp(fx->dir)) {
    free(fx);
    return -1;
  }
  snprintf(fx->conf, sizeof fx->conf, "%s/cairn.conf", fx->dir);
  *state = fx;
  return 0;
}

/* Removes every file in the directory (save's temp files included). */
static int teardown(void **state) {
  fixture *fx = *state;
  DIR *d = opendir(fx->dir);
  struct dirent *e;
  char path[400];
  while (d && (e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    snprintf(path, sizeof path, "%s/%s", fx->dir, e->d_name);
    unlink(path);
  }
  if (d)
    closedir(d);
  rmdir(fx->dir);
  free(fx);
  return 0;
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  assert_int_equal(fputs(text, f) >= 0, 1);
  assert_int_equal(fclose(f), 0);
}

static char why[512];

static void test_defaults(void **state) {
  cairn_config c;
  (void)state;
  cairn_config_defaults(&c);
  assert_int_equal(c.role, CAIRN_ROLE_CLASSROOM);
  assert_int_equal(c.log_level, CAIRN_LOG_INFO);
  assert_int_equal(c.map_size_mb, 64);
  assert_int_equal(c.clock_offset_ms, 0);
  assert_string_equal(c.campus, "");
  assert_string_equal(c.classroom, "");
  assert_string_equal(c.name, "");
}

static void test_empty_file_gives_defaults(void **state) {
  fixture *fx = *state;
  cairn_config c;
  write_file(fx->conf, "# nothing set\n");
  assert_int_equal(cairn_config_load(fx->conf, &c, why, sizeof why), 0);
  assert_int_equal(c.role, CAIRN_ROLE_CLASSROOM);
  assert_int_equal(c.map_size_mb, 64);
}

static void test_round_trip(void **state) {
  fixture *fx = *state;
  cairn_config c, back;
  struct stat st;
  char text[8192];
  size_t n;
  FILE *f;

  cairn_config_defaults(&c);
  c.role = CAIRN_ROLE_HUB;
  strcpy(c.campus, "lincoln-ms");
  strcpy(c.classroom, "B12");
  strcpy(c.name, "Library hub, Lincoln Middle School");
  c.log_level = CAIRN_LOG_DEBUG;
  c.map_size_mb = 1048576;
  c.clock_offset_ms = -3600000;
  c.clock_tolerance_s = 60;
  c.handshakes_per_address = 5;
  strcpy(c.web, "10.0.0.5:8443");
  strcpy(c.web_host, "room12.north.example:8443");
  c.web_session_hours = 8;
  strcpy(c.web_tls_cert, "/etc/cairn/web.pem");
  strcpy(c.web_tls_key, "/etc/cairn/web.key");
  strcpy(c.backup_public_key, "FADne2prymjyRR3442qiyUDIDr1bqmxcNba2SOCV9RY=");
  strcpy(c.postgres, "postgresql:///cairn?host=/run/postgresql&passfile=/etc/cairn/pgpass");
  assert_int_equal(cairn_config_save(fx->conf, &c), 0);

  assert_int_equal(stat(fx->conf, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0640);
  assert_int_equal(cairn_config_load(fx->conf, &back, why, sizeof why), 0);
  assert_int_equal(back.role, CAIRN_ROLE_HUB);
  assert_string_equal(back.campus, "lincoln-ms");
  assert_string_equal(back.classroom, "B12");
  assert_string_equal(back.name, "Library hub, Lincoln Middle School");
  assert_int_equal(back.log_level, CAIRN_LOG_DEBUG);
  assert_int_equal(back.map_size_mb, 1048576);
  assert_int_equal(back.clock_offset_ms, -3600000);
  assert_int_equal(back.clock_tolerance_s, 60);
  assert_int_equal(back.handshakes_per_address, 5);
  assert_string_equal(back.web, "10.0.0.5:8443");
  assert_string_equal(back.web_host, "room12.north.example:8443");
  assert_int_equal(back.web_session_hours, 8);
  assert_string_equal(back.web_tls_cert, "/etc/cairn/web.pem");
  assert_string_equal(back.web_tls_key, "/etc/cairn/web.key");
  assert_string_equal(back.backup_public_key, "FADne2prymjyRR3442qiyUDIDr1bqmxcNba2SOCV9RY=");
  assert_string_equal(back.postgres,
                      "postgresql:///cairn?host=/run/postgresql&passfile=/etc/cairn/pgpass");

  /* Each option is preceded by its help; the test option says so. */
  f = fopen(fx->conf, "r");
  assert_non_null(f);
  n = fread(text, 1, sizeof text - 1, f);
  fclose(f);
  text[n] = '\0';
  assert_non_null(strstr(text, "[device]\n# "));
  assert_non_null(strstr(text, "\nmap_size_mb = 1048576\n"));
  assert_non_null(strstr(text, "[test]\n# TEST ONLY"));
  const char *prev = "";
  int options = 0;
  char *save = NULL;
  for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    if (line[0] != '#' && line[0] != '[') {
      assert_true(strncmp(prev, "# ", 2) == 0);
      options++;
    }
    prev = line;
  }
  assert_int_equal(options, 22); /* one line per row of the option table */
}

/* The web page: on by default on a classroom only; "off" turns it off. */
static void test_web_address(void **state) {
  cairn_config c;
  (void)state;
  cairn_config_defaults(&c);
  assert_int_equal(c.web_session_hours, 12);
  assert_string_equal(cairn_config_web_address(&c), "127.0.0.1:7421");
  c.role = CAIRN_ROLE_HUB;
  assert_null(cairn_config_web_address(&c));
  c.role = CAIRN_ROLE_CENTRAL;
  assert_null(cairn_config_web_address(&c));
  strcpy(c.web, "127.0.0.1:9000");
  assert_string_equal(cairn_config_web_address(&c), "127.0.0.1:9000");
  c.role = CAIRN_ROLE_CLASSROOM;
  strcpy(c.web, "off");
  assert_null(cairn_config_web_address(&c));
}

static void test_defaults_round_trip(void **state) {
  fixture *fx = *state;
  cairn_config c, back;
  cairn_config_defaults(&c);
  assert_int_equal(cairn_config_save(fx->conf, &c), 0);
  memset(&back, 0x55, sizeof back);
  assert_int_equal(cairn_config_load(fx->conf, &back, why, sizeof why), 0);
  assert_memory_equal(&back, &c, sizeof c);
}

static void test_save_refuses_what_would_not_read_back(void **state) {
  fixture *fx = *state;
  cairn_config c;
  cairn_config_defaults(&c);
  strcpy(c.name, "Room 12\nrole = central");
  assert_int_equal(cairn_config_save(fx->conf, &c), CAIRN_EINVAL);
  cairn_config_defaults(&c);
  strcpy(c.name, "Room 12 ; laptop");
  assert_int_equal(cairn_config_save(fx->conf, &c), CAIRN_EINVAL);
  cairn_config_defaults(&c);
  c.map_size_mb = 0;
  assert_int_equal(cairn_config_save(fx->conf, &c), CAIRN_EINVAL);
  assert_int_equal(access(fx->conf, F_OK), -1);
}

static void test_bad_value_names_line(void **state) {
  fixture *fx = *state;
  cairn_config c;
  write_file(fx->conf, "[device]\nrole = hub\n\n[daemon]\nlog_level = loud\n");
  assert_int_equal(cairn_config_load(fx->conf, &c, why, sizeof why), CAIRN_ECONFIG);
  assert_string_equal(why, "cairn.conf:5: log_level: must be one of error, warning, info, debug");

  write_file(fx->conf, "[daemon]\nmap_size_mb = 0\n");
  assert_int_equal(cairn_config_load(fx->conf, &c, why, sizeof why), CAIRN_ECONFIG);
  assert_string_equal(why, "cairn.conf:2: map_size_mb: must be a whole number from 1 to 1048576");

  write_file(fx->conf, "[daemon]\nmap_size_mb = 64MB\n");
  assert_int_equal(cairn_config_load(fx->conf, &c, why, sizeof why), CAIRN_ECONFIG);
  assert_string_equal(why, "cairn.conf:2: map_size_mb: must be a whole number from 1 to 1048576");

  write_file(fx->conf, "[device]\nrole = hub\nrole = central\n");
  assert_int_equal(cairn_config_load(fx->conf, &c, why, sizeof why), CAIRN_ECONFIG);
  assert_string_equal(why, "cairn.conf:3: role: set twice");
}

/* The one text check of cairn (text.h): no C0, DEL or C1 control. */
static void test_control_characters_refused(void **state) {
  fixture *fx = *state;
  cairn_config c;
  write_file(fx->conf, "[device]\nname = Room\x1b[2J 12\n");
  assert_int_equal(cairn_config_load(fx->conf, &c, why, sizeof why), CAIRN_ECONFIG);
  assert_string_equal(why, "cairn.conf:2: name: contains a control character (U+001B), which "
                           "cairn does not store");
  write_file(fx->conf, "[device]\ncampus = north\xc2\x9b\n");
  assert_int_equal(cairn_config_load(fx->conf, &c, why, sizeof why), CAIRN_ECONFIG);
  assert_string_equal(why, "cairn.conf:2: campus: contains a control character (U+009B), which "
                           "cairn does not store");
  cairn_config_defaults(&c);
  strcpy(c.classroom, "r\xc2\x85");
  assert_int_equal(cairn_config_check(&c, why, sizeof why), CAIRN_ECONFIG);
  assert_string_equal(why, "classroom: contains a control character (U+0085), which cairn does "
                           "not store");
  assert_int_equal(cairn_config_save(fx->conf, &c), CAIRN_EINVAL);
  cairn_config_defaults(&c);
  assert_int_equal(cairn_config_check(&c, why, sizeof why), 0);
}

static void test_unknown_key(void **state) {
  fixture *fx = *state;
  cairn_config c;
  write_file(fx->conf, "[device]\ncolour = blue\n");
  assert_int_equal(cairn_config_load(fx->conf, &c, why, sizeof why), CAIRN_ECONFIG);
  assert_string_equal(why, "cairn.conf:2: unknown option 'colour' in [device]");

  /* an option in the wrong section is unknown there */
  write_file(fx->conf, "[device]\nlog_level = info\n");
  assert_int_equal(cairn_config_load(fx->conf, &c, why, sizeof why), CAIRN_ECONFIG);
  assert_string_equal(why, "cairn.conf:2: unknown option 'log_level' in [device]");
}

static void test_syntax_and_long_lines(void **state) {
  fixture *fx = *state;
  cairn_config c;
  char text[400];
  write_file(fx->conf, "[device]\nrole hub\n");
  assert_int_equal(cairn_config_load(fx->conf, &c, why, sizeof why), CAIRN_ECONFIG);
  assert_string_equal(why, "cairn.conf:2: expected [section] or name = value");

  /* the first error wins, whichever kind it is */
  write_file(fx->conf, "[device]\nrole hub\nrole = nope\n");
  assert_int_equal(cairn_config_load(fx->conf, &c, why, sizeof why), CAIRN_ECONFIG);
  assert_string_equal(why, "cairn.conf:2: expected [section] or name = value");

  snprintf(text, sizeof text, "[device]\nname = %0300d\nrole = hub\n", 0);
  write_file(fx->conf, text);
  assert_int_equal(cairn_config_load(fx->conf, &c, why, sizeof why), CAIRN_ECONFIG);
  assert_non_null(strstr(why, "cairn.conf:2: line longer than"));
}

static void test_missing_file(void **state) {
  fixture *fx = *state;
  cairn_config c;
  assert_int_equal(cairn_config_load(fx->conf, &c, why, sizeof why), CAIRN_ENOTFOUND);
  assert_non_null(strstr(why, "cairn.conf"));
}

static void test_role_names(void **state) {
  cairn_role r;
  (void)state;
  assert_string_equal(cairn_config_role_name(CAIRN_ROLE_CENTRAL), "central");
  assert_int_equal(cairn_config_role_parse("hub", &r), 0);
  assert_int_equal(r, CAIRN_ROLE_HUB);
  assert_int_equal(cairn_config_role_parse("Hub", &r), CAIRN_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults),
      cmocka_unit_test(test_web_address),
      cmocka_unit_test_setup_teardown(test_empty_file_gives_defaults, setup, teardown),
      cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
      cmocka_unit_test_setup_teardown(test_defaults_round_trip, setup, teardown),
      cmocka_unit_test_setup_teardown(test_save_refuses_what_would_not_read_back, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_bad_value_names_line, setup, teardown),
      cmocka_unit_test_setup_teardown(test_control_characters_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_unknown_key, setup, teardown),
      cmocka_unit_test_setup_teardown(test_syntax_and_long_lines, setup, teardown),
      cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
      cmocka_unit_test(test_role_names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
