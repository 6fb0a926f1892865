/* SPDX-License-Identifier: GPL-3.0-or-later */
/* tkectl's frame: the command table, common options, exit codes, Ctrl+C as a cancel, and the
 * helpers the commands share (units listing, unit states, running a ceremony operation). */
#include "config.h"

#include "tke-cli-private.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "tke-error.h"
#include "tke-files-dir.h"
#include "tke-journal.h"
#include "tke-pcsc-reader.h"
#include "tke-secmem.h"
#include "tke-unit-client.h"
#include "tke-unit-error.h"

/* A password line longer than this is not a password. */
#define MAX_PASSWORD 1024

static const TkeCliCommand *const command_tables[] = {
  tke_cli_unit_commands,
  tke_cli_card_commands,
  tke_cli_file_commands,
};

/* Exit codes -------------------------------------------------------------------------------- */

TkeCliExit
tke_cli_exit_for_error (const GError *error)
{
  if (error == NULL)
    return TKE_CLI_EXIT_OK;
  if (error->domain == G_OPTION_ERROR)
    return TKE_CLI_EXIT_BAD_INPUT;
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return TKE_CLI_EXIT_CANCELLED;
  if (error->domain == G_FILE_ERROR)
    return TKE_CLI_EXIT_BAD_INPUT;
  /* A unit's refusal, or one the engine foresaw from the units' states: refused. What the
   * service's HTTP layer answers (a wrong API key, a body too large, its own failure) is not. */
  if (error->domain == TKE_UNIT_ERROR)
    switch ((TkeUnitErrorCode) error->code)
      {
        case TKE_UNIT_ERROR_UNAUTHORIZED:
        case TKE_UNIT_ERROR_TOO_LARGE:
        case TKE_UNIT_ERROR_INTERNAL:
        case TKE_UNIT_ERROR_UNKNOWN_CODE:
          return TKE_CLI_EXIT_FAILED;
        default:
          return TKE_CLI_EXIT_REFUSED;
      }
  if (error->domain != TKE_ERROR)
    return TKE_CLI_EXIT_FAILED;

  switch ((TkeError) error->code)
    {
      case TKE_ERROR_INVALID_ARGUMENT:
        return TKE_CLI_EXIT_BAD_INPUT;
      case TKE_ERROR_NO_READER:
      case TKE_ERROR_NO_CARD:
      case TKE_ERROR_CARD_REMOVED:
      case TKE_ERROR_SHARING_VIOLATION:
      case TKE_ERROR_READER_GONE:
      case TKE_ERROR_TRANSMIT_FAILED:
      case TKE_ERROR_CARD_STATUS:
      case TKE_ERROR_PIN_WRONG:
      case TKE_ERROR_PIN_BLOCKED:
      case TKE_ERROR_NOT_FOUND:
      case TKE_ERROR_NO_SPACE:
        return TKE_CLI_EXIT_CARD;
      case TKE_ERROR_UNIT_REFUSED:
        return TKE_CLI_EXIT_REFUSED;
      case TKE_ERROR_UNIT_UNREACHABLE:
      case TKE_ERROR_UNIT_CERTIFICATE:
      case TKE_ERROR_UNIT_IDENTITY:
        return TKE_CLI_EXIT_UNREACHABLE;
      case TKE_ERROR_WRONG_PASSWORD:
      case TKE_ERROR_CORRUPT_FILE:
        return TKE_CLI_EXIT_KEY_FILE;
      case TKE_ERROR_FAILED:
      case TKE_ERROR_MALFORMED:
      case TKE_ERROR_SECURE_MEMORY:
      case TKE_ERROR_CRYPTO:
      default:
        return TKE_CLI_EXIT_FAILED;
    }
}

/* Common options --------------------------------------------------------------------------- */

gboolean
tke_cli_parse (TkeCli *cli, const GOptionEntry *entries, const char *parameters,
               const char *description, TkeCliOptions options, int *argc, char ***argv,
               GError **error)
{
  const GOptionEntry json_entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &cli->json, "Print JSON instead of a table", NULL },
    { NULL },
  };
  const GOptionEntry pin_entries[] = {
    { "pin-file", 0, 0, G_OPTION_ARG_FILENAME, &cli->pin_file,
      "Take PINs and PUKs from FILE, one a line, in the order asked", "FILE" },
    { "card-timeout", 0, 0, G_OPTION_ARG_INT, &cli->card_timeout,
      "Give up when a card asked for is not there after SECONDS (0: wait forever)", "SECONDS" },
    { NULL },
  };
  const GOptionEntry reader_entries[] = {
    { "reader1", 0, 0, G_OPTION_ARG_STRING, &cli->reader1,
      "Reader 1, for administrator cards (default: the configured one, else the first reader)",
      "NAME" },
    { "reader2", 0, 0, G_OPTION_ARG_STRING, &cli->reader2,
      "Reader 2, for key part cards and cards being written (default: the configured one, else "
      "the second reader)",
      "NAME" },
    { NULL },
  };
  const GOptionEntry yes_entries[] = {
    { "yes", 'y', 0, G_OPTION_ARG_NONE, &cli->yes, "Answer yes to confirmations", NULL },
    { NULL },
  };
  const GOptionEntry password_entries[] = {
    { "password-file", 0, 0, G_OPTION_ARG_FILENAME, &cli->password_file,
      "Take the password from the first line of FILE (- for standard input)", "FILE" },
    { NULL },
  };
  const GOptionEntry files_entries[] = {
    { "files-dir", 0, 0, G_OPTION_ARG_FILENAME, &cli->files_dir,
      "Key files directory (default: $TKE_FILES, else the XDG data dir's opentke/files)", "DIR" },
    { NULL },
  };
  g_autofree char *usage = g_strdup_printf ("%s%s%s", cli->command, parameters != NULL ? " " : "",
                                            parameters != NULL ? parameters : "");
  g_autoptr (GOptionContext) context = g_option_context_new (NULL);
  g_autofree char *prog = NULL;

  /* GOption shows "tkectl COMMAND [OPTION…] PARAMETERS" through the program name. */
  prog = g_strdup_printf ("tkectl %s", usage);
  g_set_prgname (prog);
  g_option_context_set_summary (context, description);
  g_option_context_add_main_entries (context, entries, NULL);
  if (options & TKE_CLI_OPT_JSON)
    g_option_context_add_main_entries (context, json_entries, NULL);
  if (options & TKE_CLI_OPT_PINS)
    g_option_context_add_main_entries (context, pin_entries, NULL);
  if (options & TKE_CLI_OPT_READERS)
    g_option_context_add_main_entries (context, reader_entries, NULL);
  if (options & TKE_CLI_OPT_YES)
    g_option_context_add_main_entries (context, yes_entries, NULL);
  if (options & TKE_CLI_OPT_PASSWORD)
    g_option_context_add_main_entries (context, password_entries, NULL);
  if (options & TKE_CLI_OPT_FILES)
    g_option_context_add_main_entries (context, files_entries, NULL);
  g_option_context_set_description (context,
                                    "Exit codes: 0 done, 1 failed, 2 bad input, 3 refused by a "
                                    "crypto unit, 4 card or reader problem, 5 cancelled, 6 service "
                                    "unreachable, 7 key file problem, 8 units differ.");

  if (!g_option_context_parse (context, argc, argv, error))
    {
      g_prefix_error (error, "%s: ", cli->command);
      g_set_prgname ("tkectl");
      return FALSE;
    }
  g_set_prgname ("tkectl");

  if (cli->card_timeout < 0)
    return tke_cli_bad_input (cli, error, "--card-timeout takes a number of seconds, 0 or more.");
  if (cli->reader1 == NULL && cli->config->reader1 != NULL)
    cli->reader1 = g_strdup (cli->config->reader1);
  if (cli->reader2 == NULL && cli->config->reader2 != NULL)
    cli->reader2 = g_strdup (cli->config->reader2);

  cli->prompter = tke_terminal_prompter_new (cli->interactive);
  tke_terminal_prompter_set_assume_yes (cli->prompter, cli->yes);
  tke_terminal_prompter_set_card_timeout (cli->prompter, (guint) cli->card_timeout,
                                          cli->cancellable);
  if (cli->pin_file != NULL)
    {
      GStatBuf st;

      if (!tke_terminal_prompter_set_pin_file (cli->prompter, cli->pin_file, error))
        return FALSE;
      if (g_stat (cli->pin_file, &st) == 0 && S_ISREG (st.st_mode) && (st.st_mode & 0077) != 0)
        g_printerr ("tkectl: warning: others can read the PIN file %s: chmod 600 it, and remove "
                    "it after the ceremony.\n",
                    cli->pin_file);
    }
  return TRUE;
}

gboolean
tke_cli_bad_input (TkeCli *cli, GError **error, const char *format, ...)
{
  va_list args;
  g_autofree char *message = NULL;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT, "%s: %s (see tkectl %s --help)",
               cli->command, message, cli->command);
  return FALSE;
}

void
tke_cli_print_json (json_t *value)
{
  char *dumped = json_dumps (value, JSON_INDENT (2) | JSON_ENCODE_ANY);

  if (dumped != NULL)
    {
      printf ("%s\n", dumped);
      free (dumped);
    }
}

gboolean
tke_cli_save_config (TkeCli *cli, GError **error)
{
  return tke_cli_config_save (cli->config, error);
}

static TkeSecret *
first_line_secret (const char *data, gsize len, const char *name, GError **error)
{
  gsize end = 0;

  while (end < len && data[end] != '\n' && data[end] != '\r')
    end++;
  if (end == 0)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                   "The password file %s starts with an empty line: put the password on its first "
                   "line.",
                   name);
      return NULL;
    }
  if (end > MAX_PASSWORD)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                   "The first line of %s is longer than %u bytes: it is not a password.", name,
                   MAX_PASSWORD);
      return NULL;
    }
  return tke_secret_new_from ((const guint8 *) data, end, error);
}

static gboolean
load_password_lines (TkeCli *cli, GError **error)
{
  /* One buffer in the secure heap, of a fixed size, read into directly: no realloc leaves
   * unwiped copies of the passwords behind. */
  const gsize cap = 64 * MAX_PASSWORD;
  g_autoptr (TkeSecret) all = NULL;
  char *contents;
  gsize len = 0;
  gsize start = 0;
  gboolean from_stdin = g_str_equal (cli->password_file, "-");
  const char *name = from_stdin ? "standard input" : cli->password_file;
  int fd;

  cli->passwords = g_queue_new ();
  all = tke_secret_new (cap + 1, error);
  if (all == NULL)
    return FALSE;
  contents = (char *) tke_secret_data (all);
  fd = from_stdin ? STDIN_FILENO : g_open (cli->password_file, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                   "%s can't be opened: %s.", name, g_strerror (saved_errno));
      return FALSE;
    }
  for (;;)
    {
      gssize got = read (fd, contents + len, cap + 1 - len);

      if (got < 0 && errno == EINTR)
        continue;
      if (got < 0)
        {
          int saved_errno = errno;

          if (!from_stdin)
            close (fd);
          g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                       "%s can't be read: %s.", name, g_strerror (saved_errno));
          return FALSE;
        }
      if (got == 0)
        break;
      len += got;
      if (len > cap)
        {
          if (!from_stdin)
            close (fd);
          g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                       "%s holds more than %" G_GSIZE_FORMAT " bytes: it is not a list of "
                       "passwords.",
                       name, cap);
          return FALSE;
        }
    }
  if (!from_stdin)
    close (fd);

  for (gsize i = 0; i <= len; i++)
    {
      gsize end = i;
      TkeSecret *secret;

      if (i < len && contents[i] != '\n')
        continue;
      if (end > start && contents[end - 1] == '\r')
        end--;
      if (end > start)
        {
          secret = first_line_secret (contents + start, end - start, name, error);
          if (secret == NULL)
            return FALSE;
          g_queue_push_tail (cli->passwords, secret);
        }
      start = i + 1;
    }
  return TRUE;
}

TkeSecret *
tke_cli_read_password (TkeCli *cli, const char *prompt, gboolean confirm, GError **error)
{
  if (cli->password_file != NULL)
    {
      if (cli->passwords == NULL && !load_password_lines (cli, error))
        return NULL;
      if (g_queue_is_empty (cli->passwords))
        {
          g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                       "%s has no line left for “%s”: give one password a line, in the order "
                       "the files are opened.",
                       g_str_equal (cli->password_file, "-") ? "Standard input"
                                                             : cli->password_file,
                       prompt);
          return NULL;
        }
      return g_queue_pop_head (cli->passwords);
    }
  g_printerr ("tkectl: %s\n", prompt);
  return tke_terminal_prompter_read_secret (cli->prompter, "Password: ", confirm, cli->cancellable,
                                            error);
}

char *
tke_cli_files_dir (TkeCli *cli, GError **error)
{
  g_autofree char *dir =
      cli->files_dir != NULL ? g_strdup (cli->files_dir) : tke_files_dir_get_default ();

  if (!tke_files_dir_ensure (dir, error))
    return NULL;
  return g_steal_pointer (&dir);
}

/* Units ------------------------------------------------------------------------------------- */

typedef struct
{
  guint *pending;
  GAsyncResult *result;
} Slot;

static void
on_slot_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Slot *slot = user_data;

  slot->result = g_object_ref (result);
  (*slot->pending)--;
}

static void
wait_for (guint *pending)
{
  while (*pending > 0)
    g_main_context_iteration (NULL, TRUE);
}

GPtrArray *
tke_cli_list_units (TkeCli *cli, GError **error)
{
  guint n = cli->config->services->len;
  g_autoptr (GPtrArray) clients = g_ptr_array_new_with_free_func (g_object_unref);
  g_autofree Slot *slots = g_new0 (Slot, MAX (n, 1));
  g_autoptr (GPtrArray) units =
      g_ptr_array_new_with_free_func ((GDestroyNotify) tke_ceremony_unit_free);
  guint pending = n;
  gboolean ok = TRUE;
  g_autoptr (TkeUnitPins) pins = tke_unit_pins_load (cli->config->dir, error);

  if (pins == NULL)
    return NULL;
  for (guint s = 0; s < n; s++)
    {
      TkeCliService *service = cli->config->services->pdata[s];
      TkeUnitClient *client =
          tke_unit_client_new (service->url, service->fingerprint, service->api_key);

      g_ptr_array_add (clients, client);
      slots[s].pending = &pending;
      tke_unit_client_list_units_async (client, cli->cancellable, on_slot_done, &slots[s]);
    }
  wait_for (&pending);

  for (guint s = 0; s < n; s++)
    {
      TkeCliService *service = cli->config->services->pdata[s];
      g_autoptr (GPtrArray) listed = NULL;
      g_autoptr (GError) local_error = NULL;

      listed = tke_unit_client_list_units_finish (clients->pdata[s], slots[s].result,
                                                  ok ? &local_error : NULL);
      g_clear_object (&slots[s].result);
      if (listed == NULL)
        {
          if (ok && local_error != NULL)
            g_propagate_error (error, g_steal_pointer (&local_error));
          ok = FALSE;
          continue;
        }
      for (guint i = 0; i < listed->len; i++)
        {
          TkeUnitInfo *info = listed->pdata[i];
          TkeCeremonyUnit *unit;

          info->num = units->len + 1;
          unit = tke_ceremony_unit_new_listed (info, service->url, service->fingerprint,
                                               service->api_key, pins);
          g_ptr_array_add (units, unit);
        }
    }
  if (!ok)
    return NULL;
  return g_steal_pointer (&units);
}

GPtrArray *
tke_cli_selected_units (TkeCli *cli, GError **error)
{
  g_autoptr (GPtrArray) all = NULL;
  g_autoptr (GPtrArray) selected =
      g_ptr_array_new_with_free_func ((GDestroyNotify) tke_ceremony_unit_free);

  if (cli->config->units->len == 0)
    {
      tke_cli_bad_input (cli, error,
                         "No crypto unit is selected: list them with “tkectl cryptounits” and "
                         "select with “tkectl cryptounit-add NUM...”");
      return NULL;
    }
  all = tke_cli_list_units (cli, error);
  if (all == NULL)
    return NULL;
  for (guint i = 0; i < all->len; i++)
    {
      TkeCeremonyUnit *unit = all->pdata[i];

      if (!tke_cli_config_has_unit (cli->config, unit->id))
        continue;
      /* Nothing is signed or encrypted for a unit that is not the one pinned. */
      if (unit->identity_error != NULL)
        {
          g_set_error (error, TKE_ERROR, TKE_ERROR_UNIT_IDENTITY, "%s", unit->identity_error);
          return NULL;
        }
      g_ptr_array_add (selected, tke_ceremony_unit_copy (unit));
    }
  if (selected->len < cli->config->units->len)
    g_printerr ("tkectl: warning: %u selected crypto unit(s) are no longer listed by any service; "
                "“tkectl cryptounits” shows what is there.\n",
                cli->config->units->len - selected->len);
  if (selected->len == 0)
    {
      tke_cli_bad_input (cli, error, "None of the selected crypto units is listed any more.");
      return NULL;
    }
  return g_steal_pointer (&selected);
}

GPtrArray *
tke_cli_unit_states (TkeCli *cli, GPtrArray *units, GError **error)
{
  g_autoptr (GPtrArray) clients = g_ptr_array_new_with_free_func (g_object_unref);
  g_autofree Slot *slots = g_new0 (Slot, MAX (units->len, 1));
  g_autoptr (GPtrArray) states = g_ptr_array_new_with_free_func ((GDestroyNotify) json_decref);
  guint pending = units->len;
  gboolean ok = TRUE;

  for (guint i = 0; i < units->len; i++)
    {
      TkeCeremonyUnit *unit = units->pdata[i];
      TkeUnitClient *client =
          tke_unit_client_new (unit->service_url, unit->fingerprint, unit->api_key);

      g_ptr_array_add (clients, client);
      slots[i].pending = &pending;
      tke_unit_client_get_state_async (client, unit->id, cli->cancellable, on_slot_done, &slots[i]);
    }
  wait_for (&pending);

  for (guint i = 0; i < units->len; i++)
    {
      g_autoptr (GError) local_error = NULL;
      json_t *state =
          tke_unit_client_get_state_finish (clients->pdata[i], slots[i].result, &local_error);

      g_clear_object (&slots[i].result);
      if (state == NULL && ok)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          ok = FALSE;
        }
      g_ptr_array_add (states, state);
    }
  if (!ok)
    return NULL;
  return g_steal_pointer (&states);
}

/* Ceremony operations ---------------------------------------------------------------------- */

static json_t *
result_to_json (const TkeCeremonyResult *result)
{
  json_t *outcomes = json_array ();
  json_t *differences = json_array ();

  for (guint i = 0; i < result->outcomes->len; i++)
    {
      TkeUnitOutcome *outcome = result->outcomes->pdata[i];

      json_array_append_new (outcomes,
                             json_pack ("{s:i, s:s, s:b, s:s, s:s}", "num", (int) outcome->num,
                                        "id", outcome->id, "accepted", outcome->accepted, "code",
                                        outcome->code != NULL ? outcome->code : "", "message",
                                        outcome->message != NULL ? outcome->message : ""));
    }
  for (guint i = 0; i < result->differences->len; i++)
    json_array_append_new (differences, json_string (result->differences->pdata[i]));
  return json_pack ("{s:s, s:s, s:o, s:o}", "operation", tke_ceremony_op_to_string (result->op),
                    "summary", result->summary != NULL ? result->summary : "", "units", outcomes,
                    "differences", differences);
}

static void
print_result (TkeCli *cli, const TkeCeremonyResult *result)
{
  if (cli->json)
    {
      json_auto_t *json = result_to_json (result);

      tke_cli_print_json (json);
      return;
    }
  if (result->summary != NULL)
    printf ("%s\n", result->summary);
  if (result->outcomes->len > 0)
    {
      printf ("\n%-16s %-24s %s\n", "CRYPTO UNIT NUM", "RESULT", "MESSAGE");
      for (guint i = 0; i < result->outcomes->len; i++)
        {
          TkeUnitOutcome *outcome = result->outcomes->pdata[i];

          printf ("%-16u %-24s %s\n", outcome->num, outcome->accepted ? "accepted" : outcome->code,
                  outcome->message != NULL ? outcome->message : "");
        }
    }
  for (guint i = 0; i < result->differences->len; i++)
    printf ("Warning: %s\n", (const char *) result->differences->pdata[i]);
  fflush (stdout);
}

static gboolean result_error (const TkeCeremonyResult *result, GError **error);

gboolean
tke_cli_report_result (TkeCli *cli, const TkeCeremonyResult *result, GError **error)
{
  print_result (cli, result);
  return result_error (result, error);
}

static gboolean
result_error (const TkeCeremonyResult *result, GError **error)
{
  guint failed = 0, unreachable = 0;

  for (guint i = 0; i < result->outcomes->len; i++)
    {
      TkeUnitOutcome *outcome = result->outcomes->pdata[i];

      if (outcome->accepted)
        continue;
      failed++;
      if (g_strcmp0 (outcome->code, "UNREACHABLE") == 0)
        unreachable++;
    }
  if (failed == 0)
    return TRUE;
  g_set_error (error, TKE_ERROR,
               unreachable == failed ? TKE_ERROR_UNIT_UNREACHABLE : TKE_ERROR_UNIT_REFUSED,
               "%u of %u crypto units did not accept the command (%s)%s. Each unit's line above "
               "says where it stands; read the units again (tkectl cryptounits) before sending "
               "anything to those that failed.",
               failed, result->outcomes->len, unreachable == failed ? "unreachable" : "refused",
               failed < result->outcomes->len ? "; the others did" : "");
  return FALSE;
}

gboolean
tke_cli_run_ceremony (TkeCli *cli, TkeCeremonyOp op, json_t *params, GError **error)
{
  g_autoptr (TkeReaderManager) readers = NULL;
  g_autoptr (TkeJournal) journal = NULL;
  g_autoptr (TkeCeremony) ceremony = NULL;
  g_autoptr (TkeCeremonyResult) result = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autofree char *journal_path = NULL;

  if (g_mkdir_with_parents (cli->config->dir, 0700) != 0)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_FAILED,
                   "The configuration directory %s can't be made: %s.", cli->config->dir,
                   g_strerror (errno));
      return FALSE;
    }
  journal_path = g_build_filename (cli->config->dir, TKE_JOURNAL_FILE_NAME, NULL);
  journal = tke_journal_open (journal_path, error);
  if (journal == NULL)
    return FALSE;

  readers = tke_pcsc_reader_manager_new ();
  tke_terminal_prompter_set_reader_manager (cli->prompter, readers);
  ceremony = tke_ceremony_new (readers, TKE_PROMPTER (cli->prompter), journal);
  tke_ceremony_set_reader_names (ceremony, cli->reader1, cli->reader2);
  if (tke_ceremony_op_uses_units (op))
    {
      g_autoptr (GPtrArray) units = tke_cli_selected_units (cli, error);

      if (units == NULL)
        return FALSE;
      tke_ceremony_set_units (ceremony, units);
    }

  result = tke_ceremony_run (ceremony, op, params, cli->cancellable, &local_error);
  while (result != NULL && tke_ceremony_result_get_n_failed (result) > 0 && cli->interactive &&
         !cli->json)
    {
      g_autoptr (TkeCeremonyResult) retried = NULL;

      print_result (cli, result);
      if (!tke_prompter_confirm (TKE_PROMPTER (cli->prompter), "Retry the units that failed?",
                                 "The command is signed again and sent to those units only.",
                                 cli->cancellable, NULL))
        break;
      retried = tke_ceremony_retry_failed (ceremony, result, cli->cancellable, &local_error);
      if (retried == NULL)
        break;
      g_clear_pointer (&result, tke_ceremony_result_free);
      result = g_steal_pointer (&retried);
    }

  if (tke_terminal_prompter_get_n_pins_left (cli->prompter) > 0)
    g_printerr ("tkectl: warning: %u PIN(s) of the PIN file were not asked for.\n",
                tke_terminal_prompter_get_n_pins_left (cli->prompter));

  if (result == NULL)
    {
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED) &&
          tke_terminal_prompter_get_card_timed_out (cli->prompter))
        {
          g_set_error (error, TKE_ERROR, TKE_ERROR_NO_CARD,
                       "The card asked for was not inserted within %d seconds: nothing was "
                       "changed.",
                       cli->card_timeout);
          return FALSE;
        }
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  print_result (cli, result);
  return result_error (result, error);
}

/* Main ------------------------------------------------------------------------------------- */

static gpointer
signal_thread (gpointer data)
{
  GCancellable *cancellable = data;
  sigset_t set;
  int sig;

  sigemptyset (&set);
  sigaddset (&set, SIGINT);
  sigaddset (&set, SIGTERM);
  sigaddset (&set, SIGHUP);
  /* The first signal cancels, so that no card or unit is left half-written; a second one
   * ends at once. */
  if (sigwait (&set, &sig) == 0)
    g_cancellable_cancel (cancellable);
  if (sigwait (&set, &sig) == 0)
    _exit (128 + sig);
  return NULL;
}

static void
print_usage (FILE *out)
{
  fprintf (out, "Usage: tkectl COMMAND [OPTION…] [ARGUMENT…]\n\n"
                "Open TKE on the command line: crypto units, administrators, thresholds, master "
                "keys, smart cards and key files.\n"
                "Each command has --help. Commands:\n");
  for (guint t = 0; t < G_N_ELEMENTS (command_tables); t++)
    for (const TkeCliCommand *c = command_tables[t]; c->name != NULL; c++)
      fprintf (out, "  %-24s %s\n", c->name, c->summary);
  fprintf (out, "\nState: $TKE_CONFIG_DIR (default: ~/.config/opentke); key files: $TKE_FILES.\n"
                "Exit codes: 0 done, 1 failed, 2 bad input, 3 refused by a crypto unit, 4 card "
                "or reader problem, 5 cancelled, 6 service unreachable, 7 key file problem, 8 "
                "units differ.\n");
}

static const TkeCliCommand *
find_command (const char *name)
{
  for (guint t = 0; t < G_N_ELEMENTS (command_tables); t++)
    for (const TkeCliCommand *c = command_tables[t]; c->name != NULL; c++)
      if (g_str_equal (c->name, name))
        return c;
  return NULL;
}

int
tke_cli_main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autofree char *config_dir = NULL;
  const TkeCliCommand *command;
  TkeCli cli = { 0 };
  sigset_t set;
  gboolean ok;
  TkeCliExit code;

  setlocale (LC_ALL, "");
  g_set_prgname ("tkectl");

  /* Signals go to one thread that turns them into a cancel; block them before any thread. */
  sigemptyset (&set);
  sigaddset (&set, SIGINT);
  sigaddset (&set, SIGTERM);
  sigaddset (&set, SIGHUP);
  pthread_sigmask (SIG_BLOCK, &set, NULL);
  g_thread_unref (g_thread_new ("tkectl-signals", signal_thread, g_object_ref (cancellable)));

  if (argc < 2 || g_str_equal (argv[1], "--help") || g_str_equal (argv[1], "-h") ||
      g_str_equal (argv[1], "help"))
    {
      print_usage (argc < 2 ? stderr : stdout);
      return argc < 2 ? TKE_CLI_EXIT_BAD_INPUT : TKE_CLI_EXIT_OK;
    }
  if (g_str_equal (argv[1], "--version"))
    {
      printf ("tkectl %s\n", PACKAGE_VERSION);
      return TKE_CLI_EXIT_OK;
    }
  command = find_command (argv[1]);
  if (command == NULL)
    {
      g_printerr ("tkectl: “%s” is not a command; “tkectl --help” lists them.\n", argv[1]);
      return TKE_CLI_EXIT_BAD_INPUT;
    }

  if (!tke_secmem_init (&error))
    {
      g_printerr ("tkectl: %s\n", error->message);
      return TKE_CLI_EXIT_FAILED;
    }

  config_dir = tke_cli_config_get_default_dir ();
  cli.config = tke_cli_config_load (config_dir, &error);
  if (cli.config == NULL)
    {
      g_printerr ("tkectl: %s\n", error->message);
      return tke_cli_exit_for_error (error);
    }
  cli.command = command->name;
  cli.cancellable = cancellable;
  /* Questions go to the terminal only when a person sits at it: scripts get errors instead. */
  cli.interactive = isatty (STDIN_FILENO);

  ok = command->func (&cli, argc - 1, argv + 1, &error);
  if (ok)
    code = cli.exit_code;
  else if (error != NULL)
    {
      if (error->domain == TKE_UNIT_ERROR)
        g_printerr ("tkectl: %s (%s)\n", error->message,
                    tke_unit_error_code_to_string ((TkeUnitErrorCode) error->code));
      else
        g_printerr ("tkectl: %s\n", tke_error_describe (error));
      code = tke_cli_exit_for_error (error);
    }
  else
    code = TKE_CLI_EXIT_FAILED;

  g_clear_object (&cli.prompter);
  tke_cli_config_free (cli.config);
  g_free (cli.pin_file);
  g_free (cli.password_file);
  g_free (cli.reader1);
  g_free (cli.reader2);
  g_free (cli.files_dir);
  if (cli.passwords != NULL)
    g_queue_free_full (cli.passwords, (GDestroyNotify) tke_secret_free);
  return code;
}
