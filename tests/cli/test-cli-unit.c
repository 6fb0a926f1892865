/* SPDX-License-Identifier: GPL-3.0-or-later */
/* tkectl's pieces alone: the configuration file (round trip, private modes, damage named), the
 * terminal prompter without a terminal (PIN file order, CRLF, errors that name the flag), and
 * the exit code of each kind of error. */
#include "config.h"

#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "tke-cli-config.h"
#include "tke-cli.h"
#include "tke-error.h"
#include "tke-terminal-prompter.h"
#include "tke-unit-error.h"

static char *
make_tmp_dir (void)
{
  g_autoptr (GError) error = NULL;
  char *dir = g_dir_make_tmp ("tke-cli-unit-XXXXXX", &error);

  g_assert_no_error (error);
  return dir;
}

static void
remove_dir (const char *dir)
{
  g_autoptr (GDir) handle = g_dir_open (dir, 0, NULL);
  const char *name;

  while (handle != NULL && (name = g_dir_read_name (handle)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);

      g_unlink (path);
    }
  g_rmdir (dir);
}

static void
test_config_round_trip (void)
{
  g_autofree char *top = make_tmp_dir ();
  g_autofree char *dir = g_build_filename (top, "opentke", NULL);
  g_autofree char *path = g_build_filename (dir, "config.json", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (TkeCliConfig) config = NULL;
  g_autoptr (TkeCliConfig) again = NULL;
  TkeCliService *service = g_new0 (TkeCliService, 1);
  struct stat st;

  /* No file yet: an empty configuration, and nothing written. */
  config = tke_cli_config_load (dir, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (config->services->len, ==, 0);
  g_assert_false (g_file_test (dir, G_FILE_TEST_EXISTS));

  service->url = g_strdup ("https://127.0.0.1:8443");
  service->fingerprint = g_strdup ("ab12");
  service->api_key = g_strdup ("secret-key");
  g_ptr_array_add (config->services, service);
  g_ptr_array_add (config->units, g_strdup ("unit-a"));
  g_ptr_array_add (config->sigkeys, g_strdup ("/files/Alice.p12"));
  config->reader1 = g_strdup ("Reader One");
  g_assert_true (tke_cli_config_save (config, &error));
  g_assert_no_error (error);

  g_assert_cmpint (g_stat (dir, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  again = tke_cli_config_load (dir, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (again->services->len, ==, 1);
  g_assert_cmpstr (((TkeCliService *) again->services->pdata[0])->api_key, ==, "secret-key");
  g_assert_true (tke_cli_config_has_unit (again, "unit-a"));
  g_assert_false (tke_cli_config_has_unit (again, "unit-b"));
  g_assert_cmpstr (again->sigkeys->pdata[0], ==, "/files/Alice.p12");
  g_assert_cmpstr (again->reader1, ==, "Reader One");
  g_assert_null (again->reader2);

  remove_dir (dir);
  g_rmdir (top);
}

static void
test_config_damaged (void)
{
  g_autofree char *dir = make_tmp_dir ();
  g_autofree char *path = g_build_filename (dir, "config.json", NULL);
  static const char *const damaged[] = {
    "{\"services\": [",
    "[1, 2]",
    "{\"services\": [{\"url\": \"https://x\"}]}",
    "{\"units\": [1]}",
  };

  for (guint i = 0; i < G_N_ELEMENTS (damaged); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (TkeCliConfig) config = NULL;

      g_assert_true (g_file_set_contents (path, damaged[i], -1, NULL));
      config = tke_cli_config_load (dir, &error);
      g_assert_null (config);
      g_assert_error (error, TKE_ERROR, TKE_ERROR_CORRUPT_FILE);
      g_assert_nonnull (strstr (error->message, path));
    }
  remove_dir (dir);
}

static TkeSecret *
ask (TkeTerminalPrompter *prompter, TkePinKind kind, GError **error)
{
  TkePinRequest request = { kind, "Reader", "card 1", "testing", 3 };

  return tke_prompter_ask_pin (TKE_PROMPTER (prompter), &request, NULL, error);
}

static void
test_prompter_pin_file (void)
{
  g_autofree char *dir = make_tmp_dir ();
  g_autofree char *path = g_build_filename (dir, "pins", NULL);
  g_autoptr (TkeTerminalPrompter) prompter = tke_terminal_prompter_new (FALSE);
  g_autoptr (GError) error = NULL;
  static const char *const expected[] = { "123456", "13572468", "12345678" };

  /* CRLF, an empty line and no final newline: three PINs, in order. */
  g_assert_true (g_file_set_contents (path, "123456\r\n\n13572468\n12345678", -1, NULL));
  g_assert_true (tke_terminal_prompter_set_pin_file (prompter, path, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (tke_terminal_prompter_get_n_pins_left (prompter), ==, 3);

  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      g_autoptr (TkeSecret) pin = ask (prompter, TKE_PIN_KIND_PIN, &error);

      g_assert_no_error (error);
      g_assert_cmpmem (tke_secret_peek (pin), tke_secret_len (pin), expected[i],
                       strlen (expected[i]));
    }

  /* A fourth question has no answer without a terminal: the error says what to add. */
  {
    g_autoptr (TkeSecret) none = ask (prompter, TKE_PIN_KIND_PIN, &error);

    g_assert_null (none);
    g_assert_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT);
    g_assert_nonnull (strstr (error->message, "--pin-file"));
    g_assert_cmpint (tke_cli_exit_for_error (error), ==, TKE_CLI_EXIT_BAD_INPUT);
  }
  g_unlink (path);
  g_rmdir (dir);
}

static void
test_prompter_without_terminal (void)
{
  g_autoptr (TkeTerminalPrompter) prompter = tke_terminal_prompter_new (FALSE);
  g_autoptr (GError) error = NULL;
  static const char *const choices[] = { "one", "two", NULL };
  guint number = 0, choice = 7;
  char *text;

  g_assert_false (
      tke_prompter_confirm (TKE_PROMPTER (prompter), "Go?", "Something goes.", NULL, &error));
  g_assert_nonnull (strstr (error->message, "--yes"));
  g_clear_error (&error);

  text = tke_prompter_ask_text (TKE_PROMPTER (prompter), "Card description", "", NULL, NULL, NULL,
                                &error);
  g_assert_null (text);
  g_assert_nonnull (strstr (error->message, "card description"));
  g_clear_error (&error);

  g_assert_false (tke_prompter_ask_number (TKE_PROMPTER (prompter), "Number of key parts", NULL, 2,
                                           3, &number, NULL, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* Two choices can't be made without a terminal; one needs no choosing. */
  g_assert_false (
      tke_prompter_choose (TKE_PROMPTER (prompter), "Part", choices, &choice, NULL, &error));
  g_clear_error (&error);
  g_assert_true (
      tke_prompter_choose (TKE_PROMPTER (prompter), "Part", choices + 1, &choice, NULL, &error));
  g_assert_cmpuint (choice, ==, 0);

  tke_terminal_prompter_set_assume_yes (prompter, TRUE);
  g_assert_true (
      tke_prompter_confirm (TKE_PROMPTER (prompter), "Go?", "Something goes.", NULL, &error));
  g_assert_no_error (error);
}

static void
test_exit_codes (void)
{
  static const struct
  {
    GQuark domain;
    int code;
    TkeCliExit exit;
  } cases[] = {
    { 0, TKE_ERROR_INVALID_ARGUMENT, TKE_CLI_EXIT_BAD_INPUT },
    { 0, TKE_ERROR_UNIT_REFUSED, TKE_CLI_EXIT_REFUSED },
    { 0, TKE_ERROR_NO_CARD, TKE_CLI_EXIT_CARD },
    { 0, TKE_ERROR_PIN_WRONG, TKE_CLI_EXIT_CARD },
    { 0, TKE_ERROR_PIN_BLOCKED, TKE_CLI_EXIT_CARD },
    { 0, TKE_ERROR_NO_READER, TKE_CLI_EXIT_CARD },
    { 0, TKE_ERROR_UNIT_UNREACHABLE, TKE_CLI_EXIT_UNREACHABLE },
    { 0, TKE_ERROR_UNIT_CERTIFICATE, TKE_CLI_EXIT_UNREACHABLE },
    { 0, TKE_ERROR_WRONG_PASSWORD, TKE_CLI_EXIT_KEY_FILE },
    { 0, TKE_ERROR_CORRUPT_FILE, TKE_CLI_EXIT_KEY_FILE },
    { 0, TKE_ERROR_CRYPTO, TKE_CLI_EXIT_FAILED },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = g_error_new_literal (TKE_ERROR, cases[i].code, "x");

      g_assert_cmpint (tke_cli_exit_for_error (error), ==, cases[i].exit);
    }
  {
    g_autoptr (GError) cancelled = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, "x");
    g_autoptr (GError) option = g_error_new_literal (G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "x");
    /* A refusal the engine foresees exits like the units' own refusal. */
    g_autoptr (GError) foreseen =
        g_error_new_literal (TKE_UNIT_ERROR, TKE_UNIT_ERROR_IMPRINT_MODE, "x");
    /* What the service's HTTP layer answers is no refusal of the command. */
    g_autoptr (GError) unauthorized =
        g_error_new_literal (TKE_UNIT_ERROR, TKE_UNIT_ERROR_UNAUTHORIZED, "x");

    g_assert_cmpint (tke_cli_exit_for_error (cancelled), ==, TKE_CLI_EXIT_CANCELLED);
    g_assert_cmpint (tke_cli_exit_for_error (option), ==, TKE_CLI_EXIT_BAD_INPUT);
    g_assert_cmpint (tke_cli_exit_for_error (foreseen), ==, TKE_CLI_EXIT_REFUSED);
    g_assert_cmpint (tke_cli_exit_for_error (unauthorized), ==, TKE_CLI_EXIT_FAILED);
    g_assert_cmpint (tke_cli_exit_for_error (NULL), ==, TKE_CLI_EXIT_OK);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_assert_true (tke_secmem_init (NULL));
  g_test_add_func ("/cli/config/round-trip", test_config_round_trip);
  g_test_add_func ("/cli/config/damaged", test_config_damaged);
  g_test_add_func ("/cli/prompter/pin-file", test_prompter_pin_file);
  g_test_add_func ("/cli/prompter/without-terminal", test_prompter_without_terminal);
  g_test_add_func ("/cli/exit-codes", test_exit_codes);
  return g_test_run ();
}
