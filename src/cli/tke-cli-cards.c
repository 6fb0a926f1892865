/* SPDX-License-Identifier: GPL-3.0-or-later */
/* tkectl's smart card commands: readers and cards, the card operations of the ceremony engine,
 * PIN change and unblock, and copying key files onto cards. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "tke-card-profile.h"
#include "tke-cli-private.h"
#include "tke-error.h"
#include "tke-key-part-file.h"
#include "tke-pcsc-reader.h"
#include "tke-signature-key-file.h"

static gint
compare_status_names (gconstpointer a, gconstpointer b)
{
  const TkeReaderStatus *const *x = a;
  const TkeReaderStatus *const *y = b;

  return g_strcmp0 ((*x)->name, (*y)->name);
}

/* The reader of role 1 or 2: the one named by flag or configuration, else the first or second
 * in order of names (tke_reader_status_for_role, as the app and the engine pick them). */
static char *
reader_for_role (TkeCli *cli, GPtrArray *statuses, guint role, GError **error)
{
  const char *named = role == 1 ? cli->reader1 : cli->reader2;
  const TkeReaderStatus *chosen = tke_reader_status_for_role (statuses, role, named);

  if (chosen != NULL)
    return g_strdup (chosen->name);
  if (named != NULL && *named != '\0')
    g_set_error (error, TKE_ERROR, TKE_ERROR_NO_READER,
                 "There is no reader “%s”: “tkectl cards” lists the readers.", named);
  else
    g_set_error (error, TKE_ERROR, TKE_ERROR_NO_READER,
                 "Reader %u is missing: %u reader(s) are connected; connect another or name it "
                 "with --reader%u.",
                 role, statuses->len, role);
  return NULL;
}

GPtrArray *
tke_cli_list_readers (TkeReaderManager *readers, GError **error)
{
  GPtrArray *statuses = tke_reader_manager_list (readers, error);

  if (statuses != NULL)
    g_ptr_array_sort (statuses, compare_status_names);
  return statuses;
}

TkePivClient *
tke_cli_connect_card (TkeCli *cli, TkeReaderManager *readers, guint role, const char *wanted,
                      char **reader_name, GError **error)
{
  g_autoptr (GPtrArray) statuses = tke_cli_list_readers (readers, error);
  g_autofree char *reader = NULL;
  g_autoptr (TkeCardConnection) connection = NULL;
  g_autoptr (GError) local_error = NULL;

  if (statuses == NULL)
    return NULL;
  reader = reader_for_role (cli, statuses, role, error);
  if (reader == NULL)
    return NULL;
  connection = tke_reader_manager_connect (readers, reader, &local_error);
  if (connection == NULL && wanted == NULL &&
      g_error_matches (local_error, TKE_ERROR, TKE_ERROR_NO_CARD))
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_NO_CARD,
                   "There is no card in reader %u (%s): insert it and run the command again.", role,
                   reader);
      return NULL;
    }
  if (connection == NULL && g_error_matches (local_error, TKE_ERROR, TKE_ERROR_NO_CARD))
    {
      TkeCardRequest request = { (TkeReaderRole) role, reader, wanted };

      g_clear_error (&local_error);
      tke_terminal_prompter_set_reader_manager (cli->prompter, readers);
      tke_prompter_card_wait_begin (TKE_PROMPTER (cli->prompter), &request);
      tke_prompter_card_wait_end (TKE_PROMPTER (cli->prompter));
      if (g_cancellable_is_cancelled (cli->cancellable))
        {
          if (tke_terminal_prompter_get_card_timed_out (cli->prompter))
            g_set_error (error, TKE_ERROR, TKE_ERROR_NO_CARD,
                         "The card asked for was not inserted within %d seconds: nothing was "
                         "changed.",
                         cli->card_timeout);
          else
            g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, tke_error_cancelled ());
          return NULL;
        }
      connection = tke_reader_manager_connect (readers, reader, &local_error);
    }
  if (connection == NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  if (reader_name != NULL)
    *reader_name = g_steal_pointer (&reader);
  return tke_piv_client_new (connection);
}

static json_t *
card_info_to_json (const TkeCardInfo *info)
{
  json_t *parts = json_array ();
  json_t *json;

  for (guint i = 0; info->parts != NULL && i < info->parts->len; i++)
    {
      TkeKeyPartInfo *part = info->parts->pdata[i];
      g_autofree char *vp = tke_vp_to_hex (part->vp);

      json_array_append_new (parts, json_pack ("{s:i, s:s, s:I, s:s}", "id", (int) part->id,
                                               "description", part->description, "created",
                                               (json_int_t) part->created, "vp", vp));
    }
  json = json_pack ("{s:b, s:s?, s:s?, s:o, s:i}", "initialized", info->initialized, "description",
                    info->description, "admin", info->admin_name, "parts", parts, "pin_tries_left",
                    info->pin_tries_left);
  if (info->has_serial)
    json_object_set_new (json, "serial", json_integer (info->serial));
  if (info->pin_tries_left >= 0)
    json_object_set_new (json, "pin_blocked", json_boolean (info->pin_tries_left == 0));
  return json;
}

static void
print_card_info (const TkeCardInfo *info, const char *indent)
{
  if (info->has_serial)
    printf ("%sSerial:        %u\n", indent, info->serial);
  if (!info->initialized)
    {
      printf ("%sA blank PIV card: initialize it with “tkectl card-init”.\n", indent);
      return;
    }
  printf ("%sDescription:   %s\n", indent, info->description != NULL ? info->description : "");
  printf ("%sAdministrator: %s\n", indent,
          info->admin_name != NULL ? info->admin_name : "(no signature key)");
  if (info->pin_tries_left == 0)
    printf ("%sPIN tries:     0, blocked: unblock it with the PUK (tkectl card-unblock)\n", indent);
  else if (info->pin_tries_left > 0)
    printf ("%sPIN tries:     %d\n", indent, info->pin_tries_left);
  printf ("%sKey parts:     %u\n", indent, info->parts != NULL ? info->parts->len : 0);
  for (guint i = 0; info->parts != NULL && i < info->parts->len; i++)
    {
      TkeKeyPartInfo *part = info->parts->pdata[i];
      g_autofree char *vp = tke_vp_to_hex (part->vp);

      printf ("%s  %u. %s\n%s     VP %.32s\n%s        %.32s\n", indent, part->id, part->description,
              indent, vp, indent, vp + 32);
    }
}

static gboolean
cmd_cards (TkeCli *cli, int argc, char **argv, GError **error)
{
  const GOptionEntry entries[] = { { NULL } };
  g_autoptr (TkeReaderManager) readers = NULL;
  g_autoptr (GPtrArray) statuses = NULL;
  g_autofree char *reader1 = NULL, *reader2 = NULL;
  json_auto_t *json = json_array ();

  if (!tke_cli_parse (cli, entries, NULL, "Lists the readers and the cards in them.",
                      TKE_CLI_OPT_JSON | TKE_CLI_OPT_READERS, &argc, &argv, error))
    return FALSE;
  if (argc > 1)
    return tke_cli_bad_input (cli, error, "cards takes no argument.");
  readers = tke_pcsc_reader_manager_new ();
  statuses = tke_cli_list_readers (readers, error);
  if (statuses == NULL)
    return FALSE;
  reader1 = reader_for_role (cli, statuses, 1, NULL);
  reader2 = reader_for_role (cli, statuses, 2, NULL);

  if (statuses->len == 0 && !cli->json)
    printf ("No smart card reader is connected.\n");
  for (guint i = 0; i < statuses->len; i++)
    {
      TkeReaderStatus *status = statuses->pdata[i];
      int role = g_strcmp0 (status->name, reader1) == 0   ? 1
                 : g_strcmp0 (status->name, reader2) == 0 ? 2
                                                          : 0;
      g_autoptr (TkeCardInfo) info = NULL;
      g_autoptr (GError) card_error = NULL;

      if (status->card_present)
        {
          g_autoptr (TkeCardConnection) connection =
              tke_reader_manager_connect (readers, status->name, &card_error);

          if (connection != NULL)
            {
              g_autoptr (TkePivClient) piv = tke_piv_client_new (connection);

              info = tke_card_profile_read_info (piv, &card_error);
              tke_card_connection_disconnect (connection, FALSE);
            }
        }
      if (cli->json)
        {
          json_t *entry = json_pack ("{s:s, s:i, s:b}", "reader", status->name, "role", role,
                                     "card_present", status->card_present);

          if (info != NULL)
            json_object_set_new (entry, "card", card_info_to_json (info));
          else if (card_error != NULL)
            json_object_set_new (entry, "error", json_string (card_error->message));
          json_array_append_new (json, entry);
          continue;
        }
      printf ("%s%s%s\n", status->name,
              role == 1   ? " (reader 1: administrator cards)"
              : role == 2 ? " (reader 2: key part cards, cards being written)"
                          : "",
              status->card_present ? "" : ": no card");
      if (info != NULL)
        print_card_info (info, "  ");
      else if (card_error != NULL)
        printf ("  The card can't be read: %s\n", card_error->message);
    }
  if (cli->json)
    tke_cli_print_json (json);
  return TRUE;
}

static gboolean
parse_role (TkeCli *cli, gint role, GError **error)
{
  if (role != 1 && role != 2)
    return tke_cli_bad_input (cli, error, "--reader-role is 1 or 2.");
  return TRUE;
}

static gboolean
cmd_card_info (TkeCli *cli, int argc, char **argv, GError **error)
{
  gint role = 2;
  const GOptionEntry entries[] = {
    { "reader-role", 0, 0, G_OPTION_ARG_INT, &role, "Read the card in reader 1 or 2 (2)", "N" },
    { NULL },
  };
  g_autoptr (TkeReaderManager) readers = NULL;
  g_autoptr (TkePivClient) piv = NULL;
  g_autoptr (TkeCardInfo) info = NULL;

  if (!tke_cli_parse (cli, entries, NULL,
                      "Shows a card: serial, description, administrator, key parts with their "
                      "VPs, PIN tries left.",
                      TKE_CLI_OPT_JSON | TKE_CLI_OPT_READERS, &argc, &argv, error) ||
      !parse_role (cli, role, error))
    return FALSE;
  if (argc > 1)
    return tke_cli_bad_input (cli, error, "card-info takes no argument.");
  readers = tke_pcsc_reader_manager_new ();
  piv = tke_cli_connect_card (cli, readers, (guint) role, NULL, NULL, error);
  if (piv == NULL)
    return FALSE;
  info = tke_card_profile_read_info (piv, error);
  if (info == NULL)
    return FALSE;
  if (cli->json)
    {
      json_auto_t *json = card_info_to_json (info);

      tke_cli_print_json (json);
    }
  else
    print_card_info (info, "");
  return TRUE;
}

/* A card ceremony with one optional answer given as an option (--description, --name); what
 * is not given is asked. */
static gboolean
run_card_ceremony_with_text (TkeCli *cli, int argc, char **argv, TkeCeremonyOp op,
                             const char *command, const char *summary, const char *option,
                             const char *option_help, const char *arg_name, GError **error)
{
  g_autofree char *text = NULL;
  const GOptionEntry entries[] = {
    { option, 0, 0, G_OPTION_ARG_STRING, &text, option_help, arg_name },
    { NULL },
  };
  json_auto_t *params = json_object ();

  if (!tke_cli_parse (cli, entries, NULL, summary,
                      TKE_CLI_OPT_JSON | TKE_CLI_OPT_PINS | TKE_CLI_OPT_READERS | TKE_CLI_OPT_YES,
                      &argc, &argv, error))
    return FALSE;
  if (argc > 1)
    return tke_cli_bad_input (cli, error, "%s takes no argument.", command);
  if (text != NULL)
    json_object_set_new (params, option, json_string (text));
  return tke_cli_run_ceremony (cli, op, params, error);
}

static gboolean
cmd_card_init (TkeCli *cli, int argc, char **argv, GError **error)
{
  return run_card_ceremony_with_text (
      cli, argc, argv, TKE_CEREMONY_INITIALIZE_CARD, "card-init",
      "Makes the blank PIV card in reader 2 a TKE card: asks its present PIN, a new PIN (6 to 8 "
      "digits), its present PUK and a new PUK (8 digits), in that order.",
      "description", "What the card is for, who keeps it (1 to 64 characters)", "TEXT", error);
}

static gboolean
cmd_card_sigkey_gen (TkeCli *cli, int argc, char **argv, GError **error)
{
  return run_card_ceremony_with_text (
      cli, argc, argv, TKE_CEREMONY_GENERATE_SIGNATURE_KEY, "card-sigkey-gen",
      "Generates an administrator signature key on the TKE card in reader 2.", "name",
      "The administrator's name (1 to 30 characters)", "NAME", error);
}

static gboolean
cmd_card_keypart_gen (TkeCli *cli, int argc, char **argv, GError **error)
{
  return run_card_ceremony_with_text (
      cli, argc, argv, TKE_CEREMONY_GENERATE_KEY_PART, "card-keypart-gen",
      "Generates a random master key part on the TKE card in reader 2 and shows its VP.",
      "description", "The key part's description (1 to 64 characters)", "TEXT", error);
}

static gboolean
cmd_card_copy (TkeCli *cli, int argc, char **argv, GError **error)
{
  const GOptionEntry entries[] = { { NULL } };

  if (!tke_cli_parse (cli, entries, NULL,
                      "Copies the key parts of the card in reader 1 to the card in reader 2 "
                      "(a signature key made on a card can't leave it: make a second "
                      "administrator instead).",
                      TKE_CLI_OPT_JSON | TKE_CLI_OPT_PINS | TKE_CLI_OPT_READERS | TKE_CLI_OPT_YES,
                      &argc, &argv, error))
    return FALSE;
  if (argc > 1)
    return tke_cli_bad_input (cli, error, "card-copy takes no argument.");
  return tke_cli_run_ceremony (cli, TKE_CEREMONY_COPY_SMART_CARD, NULL, error);
}

static TkeSecret *
ask_pin (TkeCli *cli, const char *reader, const TkeCardInfo *info, TkePinKind kind,
         const char *purpose, GError **error)
{
  g_autofree char *label =
      info->has_serial
          ? g_strdup_printf ("card %u%s%s", info->serial, info->admin_name != NULL ? ", " : "",
                             info->admin_name != NULL ? info->admin_name : "")
          : g_strdup ("the card");
  TkePinRequest request = { kind, reader, label, purpose, info->pin_tries_left };

  return tke_prompter_ask_pin (TKE_PROMPTER (cli->prompter), &request, cli->cancellable, error);
}

/* Key files onto cards, the file opened with its password before the card is asked for. */
typedef enum
{
  IMPORT_SIGKEY,
  IMPORT_KEYPART,
} CardJob;

static gboolean
run_card_job (TkeCli *cli, CardJob job, guint role, const char *file, GError **error)
{
  g_autoptr (TkeReaderManager) readers = tke_pcsc_reader_manager_new ();
  g_autoptr (TkePivClient) piv = NULL;
  g_autoptr (TkeCardInfo) info = NULL;
  g_autoptr (TkeSecret) first = NULL;
  g_autoptr (TkeSecret) password = NULL;
  g_autoptr (TkeSecret) part = NULL;
  g_autoptr (TkeKeyPartFileInfo) part_info = NULL;
  g_autoptr (TkeSigner) signer = NULL;
  g_autoptr (EVP_PKEY) key = NULL;
  g_autoptr (GBytes) certificate = NULL;
  g_autofree char *reader = NULL;

  /* Files first: a wrong password costs nothing on the card. */
  if (job == IMPORT_SIGKEY || job == IMPORT_KEYPART)
    {
      g_autofree char *prompt = g_strdup_printf ("the password of %s", file);

      password = tke_cli_read_password (cli, prompt, FALSE, error);
      if (password == NULL)
        return FALSE;
      if (job == IMPORT_SIGKEY)
        signer = tke_signature_key_file_load (file, password, &key, &certificate, error);
      else
        part = tke_key_part_file_load (file, password, &part_info, error);
      if (signer == NULL && part == NULL)
        return FALSE;
    }

  piv =
      tke_cli_connect_card (cli, readers, role, "the TKE card to copy the file to", &reader, error);
  if (piv == NULL)
    return FALSE;
  info = tke_card_profile_read_info (piv, error);
  if (info == NULL)
    return FALSE;
  if (!info->initialized)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_CARD_STATUS,
                   "The card in reader %u is blank: initialize it with “tkectl card-init” first.",
                   role);
      return FALSE;
    }

  switch (job)
    {
      case IMPORT_SIGKEY:
        if (info->admin_name != NULL)
          {
            g_set_error (error, TKE_ERROR, TKE_ERROR_CARD_STATUS,
                         "The card in reader %u already holds the signature key of %s: use another "
                         "card.",
                         role, info->admin_name);
            return FALSE;
          }
        first = ask_pin (cli, reader, info, TKE_PIN_KIND_PIN, "Import the signature key", error);
        if (first == NULL || !tke_card_profile_import_signature_key (
                                 piv, first, key, tke_signer_get_name (signer), error))
          return FALSE;
        printf ("The signature key of %s (SKI %s) is on the card in %s now.\n",
                tke_signer_get_name (signer), tke_signer_get_ski (signer), reader);
        return TRUE;

      case IMPORT_KEYPART:
        {
          g_autoptr (TkeKeyPartInfo) stored = NULL;
          g_autofree char *vp = NULL;

          first = ask_pin (cli, reader, info, TKE_PIN_KIND_PIN, "Import the key part", error);
          if (first == NULL)
            return FALSE;
          stored = tke_card_profile_put_key_part (piv, first, part, part_info->description, error);
          if (stored == NULL)
            return FALSE;
          vp = tke_vp_to_hex (stored->vp);
          printf ("Key part “%s” is part %u of the card in %s now.\nVP %.32s\n   %.32s\n",
                  stored->description, stored->id, reader, vp, vp + 32);
          return TRUE;
        }
    }
  return TRUE;
}

/* Change PIN and Unblock PIN are the engine's, as in the app: the card in the reader of role. */
static gboolean
run_pin_ceremony (TkeCli *cli, TkeCeremonyOp op, gint role, GError **error)
{
  json_auto_t *params = json_pack ("{s:i}", "role", role);

  return tke_cli_run_ceremony (cli, op, params, error);
}

static gboolean
cmd_card_change_pin (TkeCli *cli, int argc, char **argv, GError **error)
{
  gint role = 2;
  const GOptionEntry entries[] = {
    { "reader-role", 0, 0, G_OPTION_ARG_INT, &role, "The card in reader 1 or 2 (2)", "N" },
    { NULL },
  };

  if (!tke_cli_parse (cli, entries, NULL,
                      "Changes the PIN of a card: asks the present PIN, then the new one.",
                      TKE_CLI_OPT_PINS | TKE_CLI_OPT_READERS, &argc, &argv, error) ||
      !parse_role (cli, role, error))
    return FALSE;
  if (argc > 1)
    return tke_cli_bad_input (cli, error, "card-change-pin takes no argument.");
  return run_pin_ceremony (cli, TKE_CEREMONY_CHANGE_PIN, role, error);
}

static gboolean
cmd_card_unblock (TkeCli *cli, int argc, char **argv, GError **error)
{
  gint role = 2;
  const GOptionEntry entries[] = {
    { "reader-role", 0, 0, G_OPTION_ARG_INT, &role, "The card in reader 1 or 2 (2)", "N" },
    { NULL },
  };

  if (!tke_cli_parse (cli, entries, NULL,
                      "Unblocks the PIN of a card with its PUK: asks the PUK, then a new PIN.",
                      TKE_CLI_OPT_PINS | TKE_CLI_OPT_READERS, &argc, &argv, error) ||
      !parse_role (cli, role, error))
    return FALSE;
  if (argc > 1)
    return tke_cli_bad_input (cli, error, "card-unblock takes no argument.");
  return run_pin_ceremony (cli, TKE_CEREMONY_UNBLOCK_PIN, role, error);
}

static gboolean
cmd_card_import_sigkey (TkeCli *cli, int argc, char **argv, GError **error)
{
  const GOptionEntry entries[] = { { NULL } };

  if (!tke_cli_parse (cli, entries, "FILE",
                      "Copies a signature key file (PKCS#12) onto the TKE card in reader 2.",
                      TKE_CLI_OPT_PINS | TKE_CLI_OPT_READERS | TKE_CLI_OPT_PASSWORD, &argc, &argv,
                      error))
    return FALSE;
  if (argc != 2)
    return tke_cli_bad_input (cli, error, "give the signature key FILE.");
  return run_card_job (cli, IMPORT_SIGKEY, 2, argv[1], error);
}

static gboolean
cmd_card_import_keypart (TkeCli *cli, int argc, char **argv, GError **error)
{
  const GOptionEntry entries[] = { { NULL } };

  if (!tke_cli_parse (
          cli, entries, "FILE", "Copies a key part file (JWE) onto the TKE card in reader 2.",
          TKE_CLI_OPT_PINS | TKE_CLI_OPT_READERS | TKE_CLI_OPT_PASSWORD, &argc, &argv, error))
    return FALSE;
  if (argc != 2)
    return tke_cli_bad_input (cli, error, "give the key part FILE.");
  return run_card_job (cli, IMPORT_KEYPART, 2, argv[1], error);
}

const TkeCliCommand tke_cli_card_commands[] = {
  { "cards", cmd_cards, "List readers and the cards in them" },
  { "card-info", cmd_card_info, "Show the card in reader 2 (or 1)" },
  { "card-init", cmd_card_init, "Initialize the blank card in reader 2" },
  { "card-sigkey-gen", cmd_card_sigkey_gen, "Generate a signature key on the card in reader 2" },
  { "card-keypart-gen", cmd_card_keypart_gen, "Generate a key part on the card in reader 2" },
  { "card-copy", cmd_card_copy, "Copy key parts from the card in reader 1 to reader 2" },
  { "card-import-sigkey", cmd_card_import_sigkey, "Copy a signature key file onto a card" },
  { "card-import-keypart", cmd_card_import_keypart, "Copy a key part file onto a card" },
  { "card-change-pin", cmd_card_change_pin, "Change a card's PIN" },
  { "card-unblock", cmd_card_unblock, "Unblock a card's PIN with the PUK" },
  { NULL },
};
