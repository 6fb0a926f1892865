/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Checks by programs that are not ours: python3-jwcrypto builds commands and key parts and
 * verifies receipts; curl exercises the HTTP error paths. */
#include "config.h"

#include <string.h>
#include <signal.h>
#include <unistd.h>
#include <sys/wait.h>

#include <glib/gstdio.h>

#include "softunit-test-util.h"

static TkeSoftunitService *
start_service (void)
{
  g_autoptr (GError) error = NULL;
  TkeSoftunitService *service = tke_softunit_service_new_ephemeral (2, 1, &error);

  g_assert_no_error (error);
  g_assert_true (tke_softunit_service_start (service, &error));
  g_assert_no_error (error);
  return service;
}

static void
test_jwcrypto (void)
{
  const char *source_root = g_getenv ("TKE_SOURCE_ROOT");
  g_autoptr (TkeSoftunitService) service = NULL;
  g_autofree char *script = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr (GError) error = NULL;
  int status = -1;

  if (source_root == NULL ||
      !g_spawn_command_line_sync ("/usr/bin/python3 -c 'import jwcrypto, cryptography'", NULL, NULL,
                                  &status, NULL) ||
      status != 0)
    {
      g_printerr ("SKIP: /usr/bin/python3 with python3-jwcrypto is not installed\n");
      g_test_skip ("SKIP: /usr/bin/python3 with python3-jwcrypto is not installed");
      return;
    }
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  script = g_build_filename (source_root, "tests", "softunit", "jwcrypto-check.py", NULL);
  service = start_service ();
  {
    const char *argv[] = { "/usr/bin/python3",
                           script,
                           tke_softunit_service_get_url (service),
                           tke_softunit_service_get_fingerprint (service),
                           tke_softunit_service_get_api_key (service),
                           NULL };
    g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out,
                                 &err, &status, &error));
  }
  g_assert_no_error (error);
  g_test_message ("%s%s", out, err);
  g_assert_true (g_spawn_check_wait_status (status, &error));
  g_assert_no_error (error);
  g_assert_nonnull (strstr (out, "2-signature JWS accepted"));
}

/* Runs curl; returns the HTTP status and the body. */
/* The peak resident memory of this process (VmHWM), in KiB. */
static gsize
peak_rss_kib (void)
{
  g_autofree char *status = NULL;
  const char *line;

  g_assert_true (g_file_get_contents ("/proc/self/status", &status, NULL, NULL));
  line = strstr (status, "VmHWM:");
  g_assert_nonnull (line);
  return g_ascii_strtoull (line + strlen ("VmHWM:"), NULL, 10);
}

static guint
curl (TkeSoftunitService *service, const char *const *extra, char **body)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autofree char *out = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *tmp = g_build_filename (g_get_tmp_dir (), "tke-curl-body-XXXXXX", NULL);
  g_autofree char *contents = NULL;
  int fd = g_mkstemp (tmp);
  int status = -1;

  g_assert_cmpint (fd, >=, 0);
  close (fd);
  g_ptr_array_add (argv, "curl");
  g_ptr_array_add (argv, "-sk");
  g_ptr_array_add (argv, "-o");
  g_ptr_array_add (argv, tmp);
  g_ptr_array_add (argv, "-w");
  g_ptr_array_add (argv, "%{http_code}");
  for (guint i = 0; extra[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) extra[i]);
  g_ptr_array_add (argv, NULL);
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                               &out, NULL, &status, &error));
  g_assert_no_error (error);
  g_file_get_contents (tmp, &contents, NULL, NULL);
  g_unlink (tmp);
  if (body != NULL)
    *body = g_steal_pointer (&contents);
  return (guint) g_ascii_strtoull (out, NULL, 10);
}

static void
test_curl_errors (void)
{
  g_autoptr (TkeSoftunitService) service = NULL;
  g_autofree char *auth = NULL;
  g_autofree char *instances = NULL;
  g_autofree char *unit_url = NULL;
  g_autofree char *commands = NULL;
  g_autofree char *big_path = NULL;
  g_autofree char *big_arg = NULL;
  g_autofree char *body = NULL;
  TkeSoftunitUnit *unit;
  int status = -1;

  g_autofree char *version = NULL;
  g_autofree char *version_err = NULL;

  if (!g_spawn_command_line_sync ("curl --version", &version, &version_err, &status, NULL) ||
      status != 0)
    {
      g_printerr ("SKIP: curl is not installed\n");
      g_test_skip ("SKIP: curl is not installed");
      return;
    }
  service = start_service ();
  unit = g_ptr_array_index (tke_softunit_service_get_units (service), 0);
  auth = g_strconcat ("Authorization: Bearer ", tke_softunit_service_get_api_key (service), NULL);
  instances = g_strconcat (tke_softunit_service_get_url (service), "/v1/instances", NULL);
  unit_url = g_strconcat (tke_softunit_service_get_url (service), "/v1/units/",
                          tke_softunit_unit_get_id (unit), NULL);
  commands = g_strconcat (unit_url, "/commands", NULL);

  {
    const char *argv[] = { instances, NULL };
    g_assert_cmpuint (curl (service, argv, &body), ==, 401);
    g_assert_nonnull (strstr (body, "\"UNAUTHORIZED\""));
    g_clear_pointer (&body, g_free);
  }
  {
    const char *argv[] = { "-H", "Authorization: Bearer wrong", instances, NULL };
    g_assert_cmpuint (curl (service, argv, NULL), ==, 401);
  }
  {
    const char *argv[] = { "-H", auth, instances, NULL };
    g_assert_cmpuint (curl (service, argv, &body), ==, 200);
    g_assert_nonnull (strstr (body, tke_softunit_unit_get_id (unit)));
    g_clear_pointer (&body, g_free);
  }
  {
    g_autofree char *missing = g_strconcat (tke_softunit_service_get_url (service),
                                            "/v1/units/00000000-0000-0000-0000-000000000000", NULL);
    const char *argv[] = { "-H", auth, missing, NULL };
    g_assert_cmpuint (curl (service, argv, &body), ==, 404);
    g_assert_nonnull (strstr (body, "\"NOT_FOUND\""));
    g_clear_pointer (&body, g_free);
  }
  {
    const char *argv[] = {
      "-H",     auth, "-H", "Content-Type: application/json", "--data-binary", "{\"payload\": ",
      commands, NULL
    };
    g_assert_cmpuint (curl (service, argv, &body), ==, 400);
    g_assert_nonnull (strstr (body, "\"MALFORMED\""));
    g_clear_pointer (&body, g_free);
  }
  {
    const char *argv[] = { "-H", auth, "--data-binary", "[1, 2, 3]", commands, NULL };
    g_assert_cmpuint (curl (service, argv, NULL), ==, 400);
  }

  /* 2 MiB: refused with 413, with and without a Content-Length. */
  big_path = g_build_filename (g_get_tmp_dir (), "tke-curl-big-XXXXXX", NULL);
  {
    int fd = g_mkstemp (big_path);
    g_autofree char *big = g_malloc (2 * 1024 * 1024);

    memset (big, ' ', 2 * 1024 * 1024);
    big[0] = '{';
    big[2 * 1024 * 1024 - 1] = '}';
    g_assert_cmpint (write (fd, big, 2 * 1024 * 1024), ==, 2 * 1024 * 1024);
    close (fd);
  }
  big_arg = g_strconcat ("@", big_path, NULL);
  {
    const char *argv[] = { "-H", auth, "--data-binary", big_arg, commands, NULL };
    g_assert_cmpuint (curl (service, argv, &body), ==, 413);
    g_assert_nonnull (strstr (body, "\"TOO_LARGE\""));
    g_clear_pointer (&body, g_free);
  }
  {
    const char *argv[] = { "-H",    auth,     "-H", "Transfer-Encoding: chunked", "--data-binary",
                           big_arg, commands, NULL };
    g_assert_cmpuint (curl (service, argv, NULL), ==, 413);
  }
  g_unlink (big_path);

  /* An endless chunked body is refused at 1 MiB, not buffered first: 128 MiB streamed at the
   * service raise this process's peak memory by far less than the body. */
  {
    gsize peak_before = peak_rss_kib ();
    g_autofree char *script = g_strdup_printf (
        "head -c 134217728 /dev/zero | curl -sk -o /dev/null -w '%%{http_code}' -H '%s' "
        "-H 'Transfer-Encoding: chunked' --data-binary @- %s",
        auth, commands);
    const char *argv[] = { "sh", "-c", script, NULL };
    g_autofree char *code = NULL;
    g_autoptr (GError) spawn_error = NULL;
    int sh_status = -1;
    gsize grown;

    g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &code,
                                 NULL, &sh_status, &spawn_error));
    g_assert_no_error (spawn_error);
    grown = peak_rss_kib () - peak_before;
    g_test_message ("128 MiB chunked body: answer %s, peak memory grew by %" G_GSIZE_FORMAT " KiB",
                    code, grown);
    g_assert_cmpuint (grown, <, 32 * 1024);
  }

  /* The service still answers afterwards. */
  {
    const char *argv[] = { "-H", auth, instances, NULL };
    g_assert_cmpuint (curl (service, argv, NULL), ==, 200);
  }

  /* None of it reached the unit's state. */
  g_assert_cmpint (tke_softunit_unit_get_counter (unit), ==, 0);
}

/* The service program speaks TLS 1.3 and nothing older. */
static void
test_tls13_only (void)
{
  const char *build_root = g_getenv ("TKE_BUILD_ROOT");
  g_autoptr (GError) error = NULL;
  g_autofree char *binary = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *instances = NULL;
  g_autofree char *out = NULL;
  TestProcess process = { 0 };
  int status = -1;

  if (build_root == NULL ||
      !g_spawn_command_line_sync ("curl --version", &out, NULL, &status, NULL) || status != 0)
    {
      g_printerr ("SKIP: needs curl and TKE_BUILD_ROOT (run under meson test)\n");
      g_test_skip ("SKIP: needs curl and TKE_BUILD_ROOT (run under meson test)");
      return;
    }
  binary = g_build_filename (build_root, "src", "softunit", "tke-softunit", NULL);
  dir = g_dir_make_tmp ("tke-softunit-tls-XXXXXX", &error);
  g_assert_true (test_spawn_service (binary, dir, 1, 0, &process));
  instances = g_strconcat (process.url, "/v1/instances", NULL);
  {
    const char *argv[] = { "--tlsv1.3", instances, NULL };
    g_assert_cmpuint (curl (NULL, argv, NULL), ==, 401);
  }
  {
    const char *argv[] = { "--tls-max", "1.2", instances, NULL };
    g_assert_cmpuint (curl (NULL, argv, NULL), ==, 0);
  }
  kill (process.pid, SIGTERM);
  waitpid (process.pid, NULL, 0);
  g_spawn_close_pid (process.pid);
  g_free (process.url);
  g_free (process.fingerprint);
  g_free (process.api_key);
  test_remove_tree (dir);
}

/* A random number generator that fails at first start gives a sentence and exit status 1, not a
 * crash, and leaves no API key behind. */
static void
test_random_fails (void)
{
  const char *build_root = g_getenv ("TKE_BUILD_ROOT");
  const char *shim = g_getenv ("TKE_RAND_FAILS");
  g_autoptr (GError) error = NULL;
  g_autofree char *binary = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *state = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *preload = NULL;
  g_auto (GStrv) envp = NULL;
  int status = -1;

  if (build_root == NULL || shim == NULL)
    {
      g_printerr ("SKIP: needs TKE_BUILD_ROOT and TKE_RAND_FAILS (run under meson test)\n");
      g_test_skip ("SKIP: needs TKE_BUILD_ROOT and TKE_RAND_FAILS (run under meson test)");
      return;
    }
  binary = g_build_filename (build_root, "src", "softunit", "tke-softunit", NULL);
  dir = g_dir_make_tmp ("tke-softunit-rand-XXXXXX", &error);
  g_assert_no_error (error);
  state = g_build_filename (dir, "state", NULL);
  envp = g_get_environ ();
  envp = g_environ_setenv (envp, "LD_PRELOAD", shim, TRUE);
  /* The sanitizer runtime wants to be first; the shim only replaces two symbols. */
  envp = g_environ_setenv (envp, "ASAN_OPTIONS", "detect_leaks=0:verify_asan_link_order=0", TRUE);
  {
    const char *argv[] = { binary, "--state-dir", state, "--listen", "127.0.0.1:0", NULL };

    g_assert_true (
        g_spawn_sync (NULL, (char **) argv, envp, 0, NULL, NULL, &out, &err, &status, &error));
  }
  g_assert_no_error (error);
  g_test_message ("tke-softunit without random numbers: %s", err);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 1);
  g_assert_nonnull (strstr (err, "random"));
  g_assert_null (strstr (out, "API key:"));
  test_remove_tree (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/softunit/independent/jwcrypto", test_jwcrypto);
  g_test_add_func ("/softunit/independent/curl", test_curl_errors);
  g_test_add_func ("/softunit/independent/tls13-only", test_tls13_only);
  g_test_add_func ("/softunit/independent/random-fails", test_random_fails);
  return g_test_run ();
}
