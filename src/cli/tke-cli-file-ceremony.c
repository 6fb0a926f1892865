/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit operations signed by signature key files and loaded from key part files, the CLI path of
 * IBM's docs: the same commands as the ceremony engine sends, built here because the engine signs
 * with cards only. Every file is opened with its password before anything is sent. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "tke-card-profile.h"
#include "tke-card-signer.h"
#include "tke-cli-private.h"
#include "tke-command.h"
#include "tke-ec-key.h"
#include "tke-error.h"
#include "tke-journal.h"
#include "tke-key-part-file.h"
#include "tke-pcsc-reader.h"
#include "tke-signature-key-file.h"
#include "tke-unit-client.h"
#include "tke-unit-error.h"
#include "tke-unit-jose.h"
#include "tke-vp.h"

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

gboolean
tke_cli_signs_with_files (TkeCli *cli)
{
  return cli->config->sigkeys->len > 0;
}

static const char *
wire_name (TkeCeremonyOp op)
{
  switch (op)
    {
      case TKE_CEREMONY_ADD_ADMINISTRATOR:
        return "admin.add";
      case TKE_CEREMONY_REMOVE_ADMINISTRATOR:
        return "admin.remove";
      case TKE_CEREMONY_CHANGE_THRESHOLDS:
        return "thresholds.set";
      case TKE_CEREMONY_LOAD:
        return "mk.load";
      case TKE_CEREMONY_COMMIT:
        return "mk.commit";
      case TKE_CEREMONY_SET_IMMEDIATE:
        return "mk.set_immediate";
      case TKE_CEREMONY_ROTATE:
        return "mk.rotate";
      case TKE_CEREMONY_CLEAR_NEW:
        return "mk.clear_new";
      case TKE_CEREMONY_CLEAR_CURRENT:
        return "mk.clear_current";
      case TKE_CEREMONY_ZEROIZE:
        return "zeroize";
      case TKE_CEREMONY_INITIALIZE_CARD:
      case TKE_CEREMONY_GENERATE_SIGNATURE_KEY:
      case TKE_CEREMONY_GENERATE_KEY_PART:
      case TKE_CEREMONY_COPY_SMART_CARD:
      default:
        return NULL;
    }
}

static TkeSigner *
open_signature_key_file (TkeCli *cli, const char *path, GBytes **certificate, GError **error)
{
  g_autofree char *prompt = g_strdup_printf ("the password of %s", path);
  g_autoptr (TkeSecret) password = tke_cli_read_password (cli, prompt, FALSE, error);

  if (password == NULL)
    return NULL;
  return tke_signature_key_file_load (path, password, NULL, certificate, error);
}

/* The new register's VP, the same on every unit (else the operator must look first). */
static char *
common_new_vp (TkeCli *cli, GPtrArray *units, GPtrArray *states, GError **error)
{
  const char *first = NULL;

  for (guint u = 0; u < states->len; u++)
    {
      const char *vp = json_string_value (json_object_get (
          json_object_get (json_object_get (states->pdata[u], "registers"), "new"), "vp"));

      if (vp == NULL)
        vp = "";
      if (first == NULL)
        first = vp;
      else if (!g_str_equal (first, vp))
        {
          tke_cli_bad_input (cli, error,
                             "the new master key registers of crypto units %u and %u differ: "
                             "look with cryptounit-mk and unselect the odd one.",
                             ((TkeCeremonyUnit *) units->pdata[0])->num,
                             ((TkeCeremonyUnit *) units->pdata[u])->num);
          return NULL;
        }
    }
  return g_strdup (first);
}

/* mk.load's arguments: each part encrypted to each unit's importer key (checked against the
 * unit's identity key first), the parts' VPs and the key's VP. */
static json_t *
load_args (TkeCli *cli, GPtrArray *units, GPtrArray *states, char **part_files, char **key_vp_hex,
           TkeJournalEntry *entry, GError **error)
{
  g_autoptr (GPtrArray) importers = g_ptr_array_new_with_free_func ((GDestroyNotify) json_decref);
  g_autoptr (TkeSecret) key = NULL;
  json_auto_t *parts = json_array ();
  guint8 vp[TKE_VP_LEN];
  guint n = part_files != NULL ? g_strv_length (part_files) : 0;

  if (n < 2 || n > 3)
    {
      tke_cli_bad_input (cli, error,
                         "a master key is 2 or 3 key parts: give --mk FILE for each part file.");
      return NULL;
    }
  for (guint u = 0; u < units->len; u++)
    {
      TkeCeremonyUnit *unit = units->pdata[u];
      json_t *importer = tke_importer_key_check (json_object_get (states->pdata[u], "importer_key"),
                                                 unit->identity_jwk, unit->id, error);

      if (importer == NULL)
        return NULL;
      g_ptr_array_add (importers, importer);
    }

  key = tke_secret_new (TKE_KEY_PART_LEN, error);
  if (key == NULL)
    return NULL;
  for (guint p = 0; p < n; p++)
    {
      g_autofree char *prompt = g_strdup_printf ("the password of %s", part_files[p]);
      g_autoptr (TkeSecret) password = tke_cli_read_password (cli, prompt, FALSE, error);
      g_autoptr (TkeSecret) part = NULL;
      g_autoptr (TkeKeyPartFileInfo) info = NULL;
      g_autofree char *vp_hex = NULL;
      json_t *jwes;

      if (password == NULL)
        return NULL;
      part = tke_key_part_file_load (part_files[p], password, &info, error);
      if (part == NULL)
        return NULL;
      vp_hex = tke_vp_to_hex (info->vp);
      for (guint i = 0; i < json_array_size (parts); i++)
        if (g_strcmp0 (json_string_value (json_object_get (json_array_get (parts, i), "vp")),
                       vp_hex) == 0)
          {
            tke_cli_bad_input (cli, error,
                               "%s holds the same key part as part %u: a master key needs "
                               "distinct parts.",
                               part_files[p], i + 1);
            return NULL;
          }
      jwes = json_object ();
      for (guint u = 0; u < units->len; u++)
        {
          json_t *jwe = tke_key_part_encrypt (importers->pdata[u], part, error);

          if (jwe == NULL)
            {
              json_decref (jwes);
              return NULL;
            }
          json_object_set_new (jwes, ((TkeCeremonyUnit *) units->pdata[u])->id, jwe);
        }
      json_array_append_new (parts, json_pack ("{s:s, s:o}", "vp", vp_hex, "jwe", jwes));
      for (guint i = 0; i < TKE_KEY_PART_LEN; i++)
        tke_secret_data (key)[i] ^= tke_secret_peek (part)[i];
      tke_journal_entry_add_vp (entry, info->description, info->vp);
    }
  tke_vp_compute (tke_secret_peek (key), tke_secret_len (key), vp);
  tke_journal_entry_add_vp (entry, "new", vp);
  *key_vp_hex = tke_vp_to_hex (vp);
  return json_pack ("{s:O, s:s}", "parts", parts, "vp", *key_vp_hex);
}

static gboolean
confirm_op (TkeCli *cli, TkeCeremonyOp op, const char *vp, GError **error)
{
  g_autofree char *consequence = NULL;
  const char *title;

  switch (op)
    {
      case TKE_CEREMONY_SET_IMMEDIATE:
        title = "Set the new master key immediate?";
        consequence = g_strdup_printf ("The new master key with VP %s becomes the current one on "
                                       "the selected crypto units; keys stored under the current "
                                       "master key are not re-encrypted and become unusable.",
                                       vp);
        break;
      case TKE_CEREMONY_CLEAR_NEW:
        title = "Clear the new master key?";
        consequence = g_strdup ("The new master key register of the selected crypto units is "
                                "emptied; the key in it is gone.");
        break;
      case TKE_CEREMONY_CLEAR_CURRENT:
        title = "Clear the current master key?";
        consequence = g_strdup ("The current master key of the selected crypto units is erased: "
                                "the keys stored under it become unusable.");
        break;
      case TKE_CEREMONY_ZEROIZE:
        title = "Zeroize the crypto units?";
        consequence = g_strdup ("The selected crypto units go back to imprint mode: their "
                                "administrators, thresholds, both master key registers and stored "
                                "keys are erased.");
        break;
      case TKE_CEREMONY_INITIALIZE_CARD:
      case TKE_CEREMONY_GENERATE_SIGNATURE_KEY:
      case TKE_CEREMONY_GENERATE_KEY_PART:
      case TKE_CEREMONY_COPY_SMART_CARD:
      case TKE_CEREMONY_ADD_ADMINISTRATOR:
      case TKE_CEREMONY_REMOVE_ADMINISTRATOR:
      case TKE_CEREMONY_CHANGE_THRESHOLDS:
      case TKE_CEREMONY_LOAD:
      case TKE_CEREMONY_COMMIT:
      case TKE_CEREMONY_ROTATE:
      default:
        return TRUE;
    }
  return tke_prompter_confirm (TKE_PROMPTER (cli->prompter), title, consequence, cli->cancellable,
                               error);
}

/* The arguments of op; the VP in *vp where the command carries one. */
static json_t *
build_args (TkeCli *cli, TkeCeremonyOp op, json_t *params, const char *admin_file,
            char **part_files, GPtrArray *units, GPtrArray *states, char **vp,
            TkeJournalEntry *entry, GError **error)
{
  switch (op)
    {
      case TKE_CEREMONY_ADD_ADMINISTRATOR:
        {
          g_autoptr (GBytes) cert = NULL;
          g_autoptr (TkeSigner) signer = NULL;
          g_autoptr (EVP_PKEY) key = NULL;
          g_autofree char *name = NULL;
          g_autofree char *cert_b64 = NULL;

          if (admin_file == NULL)
            {
              tke_cli_bad_input (cli, error,
                                 "signing with files, give the new administrator's signature key "
                                 "file with --sigkey FILE.");
              return NULL;
            }
          /* The password proves the file is the operator's; the unit checks the certificate's
         * self-signature as the proof that the key is held. */
          signer = open_signature_key_file (cli, admin_file, &cert, error);
          if (signer == NULL ||
              !tke_certificate_check_self_signed (g_bytes_get_data (cert, NULL),
                                                  g_bytes_get_size (cert), &name, &key, error))
            return NULL;
          for (guint u = 0; u < states->len; u++)
            if (tke_ceremony_state_has_admin (states->pdata[u], tke_signer_get_ski (signer)))
              {
                tke_cli_bad_input (cli, error, "%s is an administrator of crypto unit %u already.",
                                   name, ((TkeCeremonyUnit *) units->pdata[u])->num);
                return NULL;
              }
          tke_journal_entry_add_detail (entry, "administrator", name);
          tke_journal_entry_add_detail (entry, "administrator_ski", tke_signer_get_ski (signer));
          cert_b64 = tke_b64url_encode (g_bytes_get_data (cert, NULL), g_bytes_get_size (cert));
          return json_pack ("{s:s, s:s}", "name", name, "certificate", cert_b64);
        }

      case TKE_CEREMONY_REMOVE_ADMINISTRATOR:
        return json_pack ("{s:O}", "ski", json_object_get (params, "ski"));

      case TKE_CEREMONY_CHANGE_THRESHOLDS:
        {
          json_int_t signature = json_integer_value (json_object_get (params, "signature"));
          json_int_t revocation = json_integer_value (json_object_get (params, "revocation"));

          if (signature == 0 || revocation == 0)
            {
              tke_cli_bad_input (cli, error, "give both --signature and --revocation.");
              return NULL;
            }
          for (guint u = 0; u < states->len; u++)
            if ((gsize) MAX (signature, revocation) >
                json_array_size (json_object_get (states->pdata[u], "admins")))
              {
                tke_cli_bad_input (cli, error,
                                   "crypto unit %u has %zu administrator(s): a threshold can't be "
                                   "higher than that.",
                                   ((TkeCeremonyUnit *) units->pdata[u])->num,
                                   json_array_size (json_object_get (states->pdata[u], "admins")));
                return NULL;
              }
          return json_pack ("{s:I, s:I}", "signature", signature, "revocation", revocation);
        }

      case TKE_CEREMONY_LOAD:
        return load_args (cli, units, states, part_files, vp, entry, error);

      case TKE_CEREMONY_COMMIT:
      case TKE_CEREMONY_SET_IMMEDIATE:
      case TKE_CEREMONY_ROTATE:
        *vp = common_new_vp (cli, units, states, error);
        if (*vp == NULL || !confirm_op (cli, op, *vp, error))
          return NULL;
        return json_pack ("{s:s}", "vp", *vp);

      case TKE_CEREMONY_CLEAR_NEW:
      case TKE_CEREMONY_CLEAR_CURRENT:
      case TKE_CEREMONY_ZEROIZE:
        if (!confirm_op (cli, op, NULL, error))
          return NULL;
        return json_object ();

      case TKE_CEREMONY_INITIALIZE_CARD:
      case TKE_CEREMONY_GENERATE_SIGNATURE_KEY:
      case TKE_CEREMONY_GENERATE_KEY_PART:
      case TKE_CEREMONY_COPY_SMART_CARD:
      default:
        g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                     "%s works on cards, not with signature key files.",
                     tke_ceremony_op_to_string (op));
        return NULL;
    }
}

/* Waits until the card in reader is taken out. */
static gboolean
wait_for_removal (TkeCli *cli, TkeReaderManager *readers, const char *reader, GError **error)
{
  gint64 deadline = cli->card_timeout > 0
                        ? g_get_monotonic_time () + (gint64) cli->card_timeout * G_TIME_SPAN_SECOND
                        : G_MAXINT64;

  for (;;)
    {
      g_autoptr (GPtrArray) statuses = NULL;
      gboolean present = FALSE;

      if (g_cancellable_set_error_if_cancelled (cli->cancellable, error))
        return FALSE;
      statuses = tke_cli_list_readers (readers, error);
      if (statuses == NULL)
        return FALSE;
      for (guint i = 0; i < statuses->len; i++)
        if (g_str_equal (((TkeReaderStatus *) statuses->pdata[i])->name, reader))
          present = ((TkeReaderStatus *) statuses->pdata[i])->card_present;
      if (!present)
        return TRUE;
      if (g_get_monotonic_time () > deadline)
        {
          g_set_error (error, TKE_ERROR, TKE_ERROR_NO_CARD,
                       "The card in %s was not taken out within %d seconds: nothing was sent.",
                       reader, cli->card_timeout);
          return FALSE;
        }
      g_usleep (200 * 1000);
    }
}

/* The signatures the files could not give come from administrator cards in reader 1, one after
 * another: signers may be files, cards, or both. */
static gboolean
sign_with_cards (TkeCli *cli, TkeCommand *cmd, guint required, guint n, GPtrArray *states,
                 GHashTable *signed_skis, TkeJournalEntry *entry, GError **error)
{
  g_autoptr (TkeReaderManager) readers = tke_pcsc_reader_manager_new ();
  static const char wanted[] = "the smart card of an administrator who has not signed";

  tke_terminal_prompter_set_reader_manager (cli->prompter, readers);
  while (n < required)
    {
      g_autoptr (TkePivClient) piv = NULL;
      g_autoptr (GBytes) cert = NULL;
      g_autoptr (EVP_PKEY) key = NULL;
      g_autoptr (TkeCardInfo) info = NULL;
      g_autoptr (TkeSecret) pin = NULL;
      g_autoptr (TkeCardSigner) signer = NULL;
      g_autofree char *reader = NULL;
      g_autofree char *name = NULL;
      g_autofree char *ski = NULL;
      g_autofree char *why = NULL;
      g_autofree char *purpose = NULL;
      gboolean everywhere = TRUE;

      g_printerr ("tkectl: %u of %u signatures given; the others come from administrator cards "
                  "in reader 1.\n",
                  n, required);
      piv = tke_cli_connect_card (cli, readers, 1, wanted, &reader, error);
      if (piv == NULL)
        return FALSE;
      info = tke_card_profile_read_info (piv, error);
      if (info == NULL)
        return FALSE;
      cert = tke_card_profile_read_certificate (piv, NULL);
      if (cert != NULL &&
          tke_certificate_check_self_signed (g_bytes_get_data (cert, NULL), g_bytes_get_size (cert),
                                             &name, &key, NULL))
        ski = tke_ec_key_get_ski (key, NULL);
      if (ski == NULL)
        why = g_strdup ("The card in reader 1 holds no administrator signature key.");
      else if (g_hash_table_contains (signed_skis, ski))
        why = g_strdup_printf ("%s signed already.", name);
      else
        {
          for (guint u = 0; u < states->len; u++)
            everywhere = everywhere && tke_ceremony_state_has_admin (states->pdata[u], ski);
          if (!everywhere)
            why =
                g_strdup_printf ("%s is not an administrator of every selected crypto unit.", name);
        }
      if (why != NULL)
        {
          tke_card_connection_disconnect (tke_piv_client_get_connection (piv), FALSE);
          g_printerr ("tkectl: waiting for a card in reader 1 (%s): %s Insert %s.\n", reader, why,
                      wanted);
          if (!wait_for_removal (cli, readers, reader, error))
            return FALSE;
          continue;
        }

      purpose = g_strdup_printf ("Signature %u of %u by %s", n + 1, required, name);
      {
        g_autofree char *label = g_strdup_printf ("card %u, administrator %s", info->serial, name);
        TkePinRequest request = { TKE_PIN_KIND_PIN, reader, label, purpose, info->pin_tries_left };

        pin =
            tke_prompter_ask_pin (TKE_PROMPTER (cli->prompter), &request, cli->cancellable, error);
      }
      if (pin == NULL)
        return FALSE;
      signer = tke_card_signer_new (piv, pin, error);
      if (signer == NULL ||
          !tke_command_add_signature (cmd, TKE_SIGNER (signer), cli->cancellable, error))
        return FALSE;
      g_printerr ("tkectl: signature %u of %u by %s (card)\n", n + 1, required, name);
      g_hash_table_add (signed_skis, g_strdup (ski));
      tke_journal_entry_add_signer (entry, name, ski);
      n++;
    }
  return TRUE;
}

/* Opens the selected signature key files, in order, until enough administrators of every unit
 * have signed. */
static gboolean
sign_with_files (TkeCli *cli, TkeCommand *cmd, guint required, GPtrArray *states,
                 TkeJournalEntry *entry, GError **error)
{
  g_autoptr (GHashTable) signed_skis =
      g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  guint n = 0;

  for (guint f = 0; f < cli->config->sigkeys->len && n < required; f++)
    {
      const char *path = cli->config->sigkeys->pdata[f];
      g_autoptr (TkeSignatureKeyFileInfo) info = tke_signature_key_file_read_info (path, error);
      g_autoptr (TkeSigner) signer = NULL;
      gboolean everywhere = TRUE;

      if (info == NULL)
        return FALSE;
      /* A file whose certificate shows no administrator of every unit is not opened. */
      if (info->ski != NULL)
        for (guint u = 0; u < states->len; u++)
          everywhere = everywhere && tke_ceremony_state_has_admin (states->pdata[u], info->ski);
      if (!everywhere || (info->ski != NULL && g_hash_table_contains (signed_skis, info->ski)))
        continue;

      signer = open_signature_key_file (cli, path, NULL, error);
      if (signer == NULL)
        return FALSE;
      for (guint u = 0; u < states->len; u++)
        everywhere = everywhere &&
                     tke_ceremony_state_has_admin (states->pdata[u], tke_signer_get_ski (signer));
      if (!everywhere || g_hash_table_contains (signed_skis, tke_signer_get_ski (signer)))
        continue;

      g_printerr ("tkectl: signature %u of %u by %s\n", n + 1, required,
                  tke_signer_get_name (signer));
      if (!tke_command_add_signature (cmd, signer, cli->cancellable, error))
        return FALSE;
      g_hash_table_add (signed_skis, g_strdup (tke_signer_get_ski (signer)));
      tke_journal_entry_add_signer (entry, tke_signer_get_name (signer),
                                    tke_signer_get_ski (signer));
      n++;
    }
  if (n < required)
    return sign_with_cards (cli, cmd, required, n, states, signed_skis, entry, error);
  return TRUE;
}

static TkeCeremonyResult *
send_to_units (TkeCli *cli, TkeCeremonyOp op, TkeCommand *cmd, GPtrArray *units,
               TkeJournalEntry *entry)
{
  TkeCeremonyResult *result = g_new0 (TkeCeremonyResult, 1);
  g_autoptr (GPtrArray) clients = g_ptr_array_new_with_free_func (g_object_unref);
  g_autofree Slot *slots = g_new0 (Slot, MAX (units->len, 1));
  g_autofree Slot *reads = g_new0 (Slot, MAX (units->len, 1));
  guint pending = units->len;

  result->op = op;
  result->outcomes = g_ptr_array_new_with_free_func ((GDestroyNotify) tke_unit_outcome_free);
  for (guint u = 0; u < units->len; u++)
    {
      TkeCeremonyUnit *unit = units->pdata[u];

      g_ptr_array_add (clients,
                       tke_unit_client_new (unit->service_url, unit->fingerprint, unit->api_key));
      slots[u].pending = &pending;
      /* Not cancellable: once sent, a command is followed to its answer. */
      tke_unit_client_post_command_async (clients->pdata[u], unit->id, cmd, NULL, on_slot_done,
                                          &slots[u]);
    }
  while (pending > 0)
    g_main_context_iteration (NULL, TRUE);

  for (guint u = 0; u < units->len; u++)
    {
      TkeCeremonyUnit *unit = units->pdata[u];
      TkeUnitOutcome *outcome = g_new0 (TkeUnitOutcome, 1);
      g_autoptr (GError) local_error = NULL;
      g_autofree char *receipt = NULL;
      json_auto_t *answer =
          tke_unit_client_post_command_finish (clients->pdata[u], slots[u].result, &local_error);

      g_clear_object (&slots[u].result);
      outcome->num = unit->num;
      outcome->id = g_strdup (unit->id);
      if (answer != NULL)
        {
          g_autoptr (GError) receipt_error = NULL;
          json_auto_t *payload =
              tke_unit_receipt_verify (answer, unit->identity_jwk, unit->id, cmd, &receipt_error);

          if (payload == NULL)
            {
              outcome->code = g_strdup ("BAD_RECEIPT");
              outcome->message = g_strdup_printf (
                  "The unit answered, but its receipt does not verify: %s", receipt_error->message);
            }
          else
            {
              outcome->accepted = TRUE;
              outcome->code = g_strdup ("OK");
            }
          receipt = json_dumps (json_object_get (answer, "receipt"), JSON_COMPACT);
        }
      else if (local_error->domain == TKE_UNIT_ERROR)
        {
          outcome->code = g_strdup (tke_unit_error_code_to_string (local_error->code));
          outcome->message = g_strdup (local_error->message);
        }
      else
        {
          outcome->code = g_strdup ("UNREACHABLE");
          outcome->message = g_strdup (local_error->message);
        }
      tke_journal_entry_add_unit (entry, unit->id, unit->num, outcome->code, outcome->message,
                                  receipt);
      g_ptr_array_add (result->outcomes, outcome);
    }

  /* Every unit read back, also those that refused: the comparison is of what is there now. */
  pending = units->len;
  for (guint u = 0; u < units->len; u++)
    {
      reads[u].pending = &pending;
      tke_unit_client_get_state_async (clients->pdata[u], ((TkeCeremonyUnit *) units->pdata[u])->id,
                                       NULL, on_slot_done, &reads[u]);
    }
  while (pending > 0)
    g_main_context_iteration (NULL, TRUE);
  for (guint u = 0; u < units->len; u++)
    {
      TkeUnitOutcome *outcome = result->outcomes->pdata[u];

      outcome->state = tke_unit_client_get_state_finish (clients->pdata[u], reads[u].result, NULL);
      g_clear_object (&reads[u].result);
      if (g_strcmp0 (outcome->code, "UNREACHABLE") == 0)
        tke_unit_outcome_note_applied (outcome, cmd, units->pdata[u]);
    }
  result->differences = tke_ceremony_compare_units (result->outcomes);
  return result;
}

gboolean
tke_cli_run_with_files (TkeCli *cli, TkeCeremonyOp op, json_t *params, const char *admin_file,
                        char **part_files, GError **error)
{
  g_autoptr (GPtrArray) units = NULL;
  g_autoptr (GPtrArray) states = NULL;
  g_autoptr (TkeCommand) cmd = NULL;
  g_autoptr (TkeJournal) journal = NULL;
  g_autoptr (TkeJournalEntry) entry = NULL;
  g_autoptr (TkeCeremonyResult) result = NULL;
  g_autofree char *journal_path = NULL;
  g_autofree char *vp = NULL;
  json_t *args;
  guint required = 0;
  const char *wire = wire_name (op);

  if (wire == NULL)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                   "%s works on cards, not with signature key files.",
                   tke_ceremony_op_to_string (op));
      return FALSE;
    }
  units = tke_cli_selected_units (cli, error);
  if (units == NULL)
    return FALSE;
  states = tke_cli_unit_states (cli, units, error);
  if (states == NULL)
    return FALSE;

  if (g_mkdir_with_parents (cli->config->dir, 0700) != 0)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_FAILED,
                   "The configuration directory %s can't be made.", cli->config->dir);
      return FALSE;
    }
  journal_path = g_build_filename (cli->config->dir, TKE_JOURNAL_FILE_NAME, NULL);
  journal = tke_journal_open (journal_path, error);
  if (journal == NULL)
    return FALSE;
  entry = tke_journal_entry_new (tke_ceremony_op_to_string (op));
  tke_journal_entry_add_detail (entry, "signers", "signature key files");

  args = build_args (cli, op, params, admin_file, part_files, units, states, &vp, entry, error);
  if (args == NULL)
    return FALSE;

  cmd = tke_command_new (wire);
  for (guint u = 0; u < units->len; u++)
    {
      guint wanted = tke_ceremony_required_signatures (
          op, states->pdata[u], (guint) json_integer_value (json_object_get (args, "signature")));

      required = MAX (required, wanted);
      tke_command_add_target (cmd, ((TkeCeremonyUnit *) units->pdata[u])->id,
                              json_integer_value (json_object_get (states->pdata[u], "counter")));
    }
  tke_command_take_args (cmd, args);
  if (!sign_with_files (cli, cmd, required, states, entry, error))
    return FALSE;
  if (g_cancellable_set_error_if_cancelled (cli->cancellable, error))
    return FALSE;

  result = send_to_units (cli, op, cmd, units, entry);
  result->summary =
      vp != NULL ? g_strdup_printf ("%s sent to %u crypto unit(s), signed by %u signature key "
                                    "file(s), with VP %s.",
                                    wire, units->len, tke_command_get_n_signatures (cmd), vp)
                 : g_strdup_printf ("%s sent to %u crypto unit(s), signed by %u signature key "
                                    "file(s).",
                                    wire, units->len, tke_command_get_n_signatures (cmd));
  if (!tke_journal_append (journal, entry, error))
    return FALSE;
  return tke_cli_report_result (cli, result, error);
}
