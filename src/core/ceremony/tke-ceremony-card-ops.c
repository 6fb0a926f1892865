/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The card operations of the ceremony engine: initialize a card, generate a signature key or a
 * key part on it, copy a card, and put a key file onto a card. */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "tke-ceremony-private.h"

/* Card operations --------------------------------------------------------------------------- */

char *
tke_run_initialize_card (Run *run, GError **error)
{
  static const char *const steps[] = { N_ ("Insert a blank card into reader 2"),
                                       N_ ("Describe the card"), N_ ("Set the PIN and the PUK"),
                                       N_ ("Initialize the card") };
  g_autoptr (Card) card = NULL;
  g_autoptr (TkeSecret) pin = NULL, new_pin = NULL, puk = NULL, new_puk = NULL;
  g_autofree char *description = NULL;
  gboolean pin_pad = FALSE;

  run->steps = steps;
  run->n_steps = G_N_ELEMENTS (steps);

  tke_run_step (run, 0);
  card = tke_run_acquire_card (run, TKE_READER_ROLE_2, _ ("a blank PIV smart card"),
                               tke_run_check_blank, NULL, error);
  if (card == NULL)
    return NULL;

  tke_run_step (run, 1);
  description =
      tke_run_text (run, "description", _ ("Card description"),
                    _ ("Who keeps the card, what it is for"), tke_run_check_description, error);
  if (description == NULL)
    return NULL;

  tke_run_step (run, 2);
  if (!tke_run_get_pin (run, card, TKE_PIN_KIND_PIN,
                        _ ("The card's present PIN (123456 on a new card)"), &pin, &pin_pad, error))
    return NULL;
  if (pin == NULL)
    {
      tke_run_refuse_early (error,
                            _ ("Initialize cards on a reader without a PIN pad: the new PIN is "
                               "entered twice, which a PIN pad can't do here."));
      return NULL;
    }
  if (!tke_run_get_pin (run, card, TKE_PIN_KIND_NEW_PIN, _ ("The card's new PIN (6 to 8 digits)"),
                        &new_pin, &pin_pad, error) ||
      !tke_card_profile_check_new_pin (new_pin, error))
    return NULL;
  if (!tke_run_get_pin (run, card, TKE_PIN_KIND_PUK,
                        _ ("The card's present PUK (12345678 on a new card)"), &puk, &pin_pad,
                        error) ||
      !tke_run_get_pin (run, card, TKE_PIN_KIND_NEW_PUK, _ ("The card's new PUK (8 digits)"),
                        &new_puk, &pin_pad, error))
    return NULL;
  if (!tke_run_check_cancelled (run, error))
    return NULL;

  tke_run_step (run, 3);
  if (!tke_card_profile_initialize (card->piv, pin, new_pin, puk, new_puk, description, error))
    return NULL;

  tke_run_journal_card (run, "card", card->info);
  tke_journal_entry_add_detail (run->entry, "description", description);
  return g_strdup_printf (_ ("The card in %s is a TKE card now: “%s”."), card->reader, description);
}

char *
tke_run_generate_signature_key (Run *run, GError **error)
{
  static const char *const steps[] = { N_ ("Insert a TKE card into reader 2"),
                                       N_ ("Name the administrator"), N_ ("Enter the card's PIN"),
                                       N_ ("Generate the signature key") };
  g_autoptr (Card) card = NULL;
  g_autoptr (TkeSecret) pin = NULL;
  g_autoptr (EVP_PKEY) key = NULL;
  g_autofree char *name = NULL;
  g_autofree char *ski = NULL;
  g_autofree char *purpose = NULL;
  gboolean pin_pad = FALSE;

  run->steps = steps;
  run->n_steps = G_N_ELEMENTS (steps);

  tke_run_step (run, 0);
  card = tke_run_acquire_card (run, TKE_READER_ROLE_2, _ ("a TKE card without a signature key"),
                               tke_run_check_no_signature_key, NULL, error);
  if (card == NULL)
    return NULL;

  tke_run_step (run, 1);
  name = tke_run_text (run, "name", _ ("Administrator name"), _ ("1 to 30 characters"),
                       tke_run_check_admin_name, error);
  if (name == NULL)
    return NULL;

  tke_run_step (run, 2);
  purpose =
      g_strdup_printf (_ ("Generate the signature key of administrator %s on this card"), name);
  if (!tke_run_get_pin (run, card, TKE_PIN_KIND_PIN, purpose, &pin, &pin_pad, error))
    return NULL;

  tke_run_step (run, 3);
  tke_run_pin_pad_begin (run, card, pin_pad, purpose);
  key = tke_card_profile_generate_signature_key (card->piv, pin, name, error);
  tke_run_pin_pad_end (run, pin_pad);
  if (key == NULL)
    return NULL;
  ski = tke_ec_key_get_ski (key, error);
  if (ski == NULL)
    return NULL;

  tke_run_journal_card (run, "card", card->info);
  tke_journal_entry_add_detail (run->entry, "administrator", name);
  tke_journal_entry_add_detail (run->entry, "administrator_ski", ski);
  /* TRANSLATORS: the administrator, the reader, and the SKI. */
  return g_strdup_printf (_ ("The signature key of administrator %s is on the card in %s.\nSKI %s"),
                          name, card->reader, ski);
}

char *
tke_run_generate_key_part (Run *run, GError **error)
{
  static const char *const steps[] = { N_ ("Insert a TKE card into reader 2"),
                                       N_ ("Enter the card's PIN"), N_ ("Describe the key part"),
                                       N_ ("Generate the key part") };
  g_autoptr (Card) card = NULL;
  g_autoptr (TkeSecret) pin = NULL;
  g_autoptr (TkeKeyPartInfo) part = NULL;
  g_autofree char *description = NULL;
  g_autofree char *vp = NULL;
  gboolean pin_pad = FALSE;

  run->steps = steps;
  run->n_steps = G_N_ELEMENTS (steps);

  tke_run_step (run, 0);
  card = tke_run_acquire_card (run, TKE_READER_ROLE_2, _ ("a TKE card for the key part"),
                               tke_run_check_initialized, NULL, error);
  if (card == NULL)
    return NULL;
  if (card->info->parts->len >= TKE_CARD_MAX_PARTS)
    {
      tke_run_refuse_early (error,
                            _ ("The card in %s holds %u key parts, as many as it can: use "
                               "another card."),
                            card->reader, card->info->parts->len);
      return NULL;
    }

  tke_run_step (run, 1);
  if (!tke_run_get_pin (run, card, TKE_PIN_KIND_PIN, _ ("Generate a key part on this card"), &pin,
                        &pin_pad, error))
    return NULL;

  tke_run_step (run, 2);
  description =
      tke_run_text (run, "description", _ ("Key part description"),
                    _ ("What the part is for and who holds it"), tke_run_check_description, error);
  if (description == NULL)
    return NULL;

  tke_run_step (run, 3);
  tke_run_pin_pad_begin (run, card, pin_pad, _ ("Generate a key part on this card"));
  part = tke_card_profile_generate_key_part (card->piv, pin, description, error);
  tke_run_pin_pad_end (run, pin_pad);
  if (part == NULL)
    return NULL;

  vp = tke_vp_format_two_lines (part->vp);
  tke_run_journal_card (run, "card", card->info);
  tke_journal_entry_add_detail (run->entry, "description", description);
  tke_journal_entry_add_vp (run->entry, "part", part->vp);
  /* TRANSLATORS: the part's number on the card, its description, the reader, and its VP. */
  return g_strdup_printf (
      _ ("Key part %u “%s” is on the card in %s. Its verification pattern:\n%s"), part->id,
      description, card->reader, vp);
}

static gboolean
check_other_card (Run *run, Card *card, gpointer data, char **why, GError **error)
{
  const char *source_identity = data;
  g_autofree char *identity = tke_run_card_identity (card->info);

  if (!tke_run_check_initialized (run, card, data, why, error))
    return FALSE;
  if (g_str_equal (identity, source_identity))
    {
      *why = g_strdup (_ ("Reader 2 holds the card being copied."));
      return FALSE;
    }
  return TRUE;
}

char *
tke_run_copy_smart_card (Run *run, GError **error)
{
  static const char *const steps[] = { N_ ("Insert the card to copy into reader 1"),
                                       N_ ("Insert the target card into reader 2"),
                                       N_ ("Enter both cards' PINs"), N_ ("Copy the key parts") };
  g_autoptr (Card) source = NULL;
  g_autoptr (Card) target = NULL;
  g_autoptr (TkeSecret) source_pin = NULL, target_pin = NULL;
  g_autofree char *source_identity = NULL;
  GString *summary;
  gboolean source_pad = FALSE, target_pad = FALSE;

  run->steps = steps;
  run->n_steps = G_N_ELEMENTS (steps);

  tke_run_step (run, 0);
  source = tke_run_acquire_card (run, TKE_READER_ROLE_1, _ ("the TKE card to copy"),
                                 tke_run_check_initialized, NULL, error);
  if (source == NULL)
    return NULL;
  if (source->info->parts->len == 0)
    {
      tke_run_refuse_early (error,
                            _ ("The card in %s holds no key parts: there is nothing to copy. "
                               "A signature key can't leave the card it was made on; make a "
                               "second administrator with a card of their own instead."),
                            source->reader);
      return NULL;
    }

  tke_run_step (run, 1);
  source_identity = tke_run_card_identity (source->info);
  target = tke_run_acquire_card (run, TKE_READER_ROLE_2, _ ("the TKE card to copy onto"),
                                 check_other_card, source_identity, error);
  if (target == NULL)
    return NULL;
  if (target->info->parts->len + source->info->parts->len > TKE_CARD_MAX_PARTS)
    {
      tke_run_refuse_early (error,
                            _ ("The target card has room for %u more key parts, and the source "
                               "card holds %u."),
                            TKE_CARD_MAX_PARTS - target->info->parts->len,
                            source->info->parts->len);
      return NULL;
    }

  tke_run_step (run, 2);
  if (!tke_run_get_pin (run, source, TKE_PIN_KIND_PIN, _ ("Read the key parts of the card to copy"),
                        &source_pin, &source_pad, error) ||
      !tke_run_get_pin (run, target, TKE_PIN_KIND_PIN, _ ("Write the key parts onto this card"),
                        &target_pin, &target_pad, error))
    return NULL;

  tke_run_step (run, 3);
  summary = g_string_new (NULL);
  g_string_append_printf (
      summary,
      /* TRANSLATORS: how many parts, then the two readers' names. */
      g_dngettext (GETTEXT_PACKAGE, "Copied %u key part from %s to %s:",
                   "Copied %u key parts from %s to %s:", source->info->parts->len),
      source->info->parts->len, source->reader, target->reader);
  for (guint i = 0; i < source->info->parts->len; i++)
    {
      TkeKeyPartInfo *part = source->info->parts->pdata[i];
      g_autoptr (TkeSecret) clear = NULL;
      g_autoptr (TkeKeyPartInfo) copied = NULL;
      g_autofree char *vp = NULL;

      if (!tke_run_check_cancelled (run, error))
        goto failed;
      /* Each part passes through the secure heap only, from one card straight to the other. */
      tke_run_pin_pad_begin (run, source, source_pad, _ ("Read a key part of the card to copy"));
      clear = tke_card_profile_take_key_part (source->piv, source_pin, part->id, NULL, error);
      tke_run_pin_pad_end (run, source_pad);
      if (clear == NULL)
        goto failed;
      tke_run_pin_pad_begin (run, target, target_pad, _ ("Write a key part onto this card"));
      copied =
          tke_card_profile_put_key_part (target->piv, target_pin, clear, part->description, error);
      tke_run_pin_pad_end (run, target_pad);
      if (copied == NULL)
        goto failed;
      vp = tke_vp_to_hex (copied->vp);
      /* TRANSLATORS: a copied key part's description and its VP. */
      g_string_append_printf (summary, _ ("\n“%s”: VP %s"), part->description, vp);
      tke_journal_entry_add_vp (run->entry, part->description, copied->vp);
    }
  if (source->info->admin_name != NULL)
    g_string_append_printf (summary,
                            _ ("\nThe signature key of %s stays on its own card: a "
                               "signature key can't leave the card it was made on."),
                            source->info->admin_name);
  tke_run_journal_card (run, "source", source->info);
  tke_run_journal_card (run, "target", target->info);
  return g_string_free (summary, FALSE);

failed:
  g_string_free (summary, TRUE);
  return NULL;
}

/* A new PIN, from the present one (Change PIN) or from the PUK (Unblock PIN, for a PIN that is
 * blocked or forgotten). The "role" parameter, 1 or 2, says which reader holds the card (2). */
char *
tke_run_set_pin (Run *run, GError **error)
{
  static const char *const change_steps[] = { N_ ("Insert the card"),
                                              N_ ("Enter the present PIN and the new one"),
                                              N_ ("Change the PIN") };
  static const char *const unblock_steps[] = { N_ ("Insert the card"),
                                               N_ ("Enter the PUK and a new PIN"),
                                               N_ ("Unblock the PIN") };
  gboolean unblock = run->op == TKE_CEREMONY_UNBLOCK_PIN;
  g_autoptr (Card) card = NULL;
  g_autoptr (TkeSecret) secret = NULL, new_pin = NULL;
  gboolean pin_pad = FALSE;
  guint role = TKE_READER_ROLE_2;

  if (tke_run_param_uint (run, "role", &role) && role != TKE_READER_ROLE_1 &&
      role != TKE_READER_ROLE_2)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                   _ ("A card is in reader 1 or reader 2, not in reader %u."), role);
      return NULL;
    }
  run->steps = unblock ? unblock_steps : change_steps;
  run->n_steps = G_N_ELEMENTS (change_steps);

  tke_run_step (run, 0);
  card = tke_run_acquire_card (run, (TkeReaderRole) role,
                               unblock ? _ ("the TKE card whose PIN to unblock")
                                       : _ ("the TKE card whose PIN to change"),
                               tke_run_check_initialized, NULL, error);
  if (card == NULL)
    return NULL;

  tke_run_step (run, 1);
  if (!tke_run_get_pin (run, card, unblock ? TKE_PIN_KIND_PUK : TKE_PIN_KIND_PIN,
                        unblock ? _ ("The card's PUK") : _ ("The card's present PIN"), &secret,
                        &pin_pad, error))
    return NULL;
  if (pin_pad)
    {
      tke_run_refuse_early (error, _ ("Change PINs on a reader without a PIN pad: the new PIN is "
                                      "entered twice, which a PIN pad can't do here."));
      return NULL;
    }
  if (!tke_run_get_pin (run, card, TKE_PIN_KIND_NEW_PIN, _ ("The card's new PIN (6 to 8 digits)"),
                        &new_pin, &pin_pad, error) ||
      !tke_card_profile_check_new_pin (new_pin, error) || !tke_run_check_cancelled (run, error))
    return NULL;

  tke_run_step (run, 2);
  if (unblock ? !tke_card_profile_unblock_pin (card->piv, secret, new_pin, error)
              : !tke_card_profile_change_pin (card->piv, secret, new_pin, error))
    return NULL;
  tke_run_journal_card (run, "card", card->info);
  return unblock ? g_strdup_printf (_ ("The PIN of the card in %s is unblocked and set anew."),
                                    card->reader)
                 : g_strdup_printf (_ ("The PIN of the card in %s is changed."), card->reader);
}

/* Key files onto cards ---------------------------------------------------------------------- */

/* The file to copy: the "file" parameter, else one chosen among the files of the directory. */
static char *
run_choose_file (Run *run, GPtrArray *paths, GPtrArray *labels, const char *kind, GError **error)
{
  const char *given = tke_run_param_string (run, "file");
  guint choice = 0;

  if (given != NULL)
    return g_strdup (given);
  if (paths->len == 0)
    {
      g_autofree char *dir = tke_run_param_string (run, "files_dir") != NULL
                                 ? g_strdup (tke_run_param_string (run, "files_dir"))
                                 : tke_files_dir_get_default ();

      g_set_error (error, TKE_ERROR, TKE_ERROR_NOT_FOUND,
                   run->op == TKE_CEREMONY_COPY_SIGNATURE_KEY_FILE
                       ? _ ("There are no signature key files in %s: make one with tkectl, or "
                            "put it there.")
                       : _ ("There are no key part files in %s: make one with tkectl, or put it "
                            "there."),
                   dir);
      return NULL;
    }
  g_ptr_array_add (labels, NULL);
  if (paths->len > 1 &&
      !tke_prompter_choose (run->self->prompter, kind, (const char *const *) labels->pdata, &choice,
                            run->cancellable, error))
    return NULL;
  return g_strdup (paths->pdata[choice]);
}

static char *
run_files_dir (Run *run)
{
  const char *dir = tke_run_param_string (run, "files_dir");

  return dir != NULL ? g_strdup (dir) : tke_files_dir_get_default ();
}

static TkeSecret *
run_file_password (Run *run, const char *path, GError **error)
{
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *purpose = g_strdup_printf (_ ("Open the key file %s"), base);
  TkePinRequest request = { TKE_PIN_KIND_PASSWORD, NULL, base, purpose, -1 };

  return tke_prompter_ask_pin (run->self->prompter, &request, run->cancellable, error);
}

char *
tke_run_copy_signature_key_file (Run *run, GError **error)
{
  static const char *const steps[] = { N_ ("Choose the signature key file"),
                                       N_ ("Open it with its password"),
                                       N_ ("Insert a TKE card into reader 2"),
                                       N_ ("Enter the card's PIN"),
                                       N_ ("Put the signature key on the card") };
  g_autofree char *dir = run_files_dir (run);
  g_autoptr (GPtrArray) files = NULL;
  g_autoptr (GPtrArray) paths = g_ptr_array_new ();
  g_autoptr (GPtrArray) labels = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *path = NULL;
  g_autofree char *purpose = NULL;
  g_autoptr (TkeSecret) password = NULL;
  g_autoptr (TkeSecret) pin = NULL;
  g_autoptr (TkeSigner) signer = NULL;
  g_autoptr (EVP_PKEY) key = NULL;
  g_autoptr (Card) card = NULL;
  TkeCurve curve;
  gboolean pin_pad = FALSE;

  run->steps = steps;
  run->n_steps = G_N_ELEMENTS (steps);

  tke_run_step (run, 0);
  if (tke_run_param_string (run, "file") == NULL)
    {
      files = tke_signature_key_file_list (dir, NULL, error);
      if (files == NULL)
        return NULL;
      for (guint i = 0; i < files->len; i++)
        {
          TkeSignatureKeyFileInfo *info = files->pdata[i];
          g_autofree char *base = g_path_get_basename (info->path);

          g_ptr_array_add (paths, info->path);
          g_ptr_array_add (
              labels,
              info->name != NULL
                  /* TRANSLATORS: an administrator's name, the start of their SKI, and the file's name. */
                  ? g_strdup_printf (_ ("%s (SKI %.16s…) — %s"), info->name, info->ski, base)
                  : g_strdup (base));
        }
    }
  path = run_choose_file (run, paths, labels, _ ("Signature key file"), error);
  if (path == NULL)
    return NULL;

  tke_run_step (run, 1);
  password = run_file_password (run, path, error);
  if (password == NULL)
    return NULL;
  signer = tke_signature_key_file_load (path, password, &key, NULL, error);
  g_clear_pointer (&password, tke_secret_free);
  if (signer == NULL)
    return NULL;
  if (!tke_ec_key_get_curve (key, &curve, error))
    return NULL;
  if (curve == TKE_CURVE_P521)
    {
      tke_run_refuse_early (
          error,
          _ ("The key of %s is a P-521 key, which a PIV card can't hold: it can sign "
             "from its file only."),
          tke_signer_get_name (signer));
      return NULL;
    }

  tke_run_step (run, 2);
  card = tke_run_acquire_card (run, TKE_READER_ROLE_2, _ ("a TKE card without a signature key"),
                               tke_run_check_no_signature_key, NULL, error);
  if (card == NULL)
    return NULL;

  tke_run_step (run, 3);
  purpose = g_strdup_printf (_ ("Put the signature key of administrator %s on this card"),
                             tke_signer_get_name (signer));
  if (!tke_run_get_pin (run, card, TKE_PIN_KIND_PIN, purpose, &pin, &pin_pad, error))
    return NULL;

  tke_run_step (run, 4);
  tke_run_pin_pad_begin (run, card, pin_pad, purpose);
  if (!tke_card_profile_import_signature_key (card->piv, pin, key, tke_signer_get_name (signer),
                                              error))
    {
      tke_run_pin_pad_end (run, pin_pad);
      return NULL;
    }
  tke_run_pin_pad_end (run, pin_pad);

  tke_run_journal_card (run, "card", card->info);
  tke_journal_entry_add_detail (run->entry, "file", path);
  tke_journal_entry_add_detail (run->entry, "administrator", tke_signer_get_name (signer));
  tke_journal_entry_add_detail (run->entry, "administrator_ski", tke_signer_get_ski (signer));
  return g_strdup_printf (_ ("The signature key of administrator %s is on the card in %s.\nSKI %s"),
                          tke_signer_get_name (signer), card->reader, tke_signer_get_ski (signer));
}

char *
tke_run_copy_key_part_file (Run *run, GError **error)
{
  static const char *const steps[] = { N_ ("Choose the key part file"),
                                       N_ ("Open it with its password"),
                                       N_ ("Insert a TKE card into reader 2"),
                                       N_ ("Enter the card's PIN"),
                                       N_ ("Put the key part on the card") };
  g_autofree char *dir = run_files_dir (run);
  g_autoptr (GPtrArray) files = NULL;
  g_autoptr (GPtrArray) paths = g_ptr_array_new ();
  g_autoptr (GPtrArray) labels = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *path = NULL;
  g_autofree char *vp = NULL;
  g_autoptr (TkeSecret) password = NULL;
  g_autoptr (TkeSecret) pin = NULL;
  g_autoptr (TkeSecret) part = NULL;
  g_autoptr (TkeKeyPartFileInfo) info = NULL;
  g_autoptr (TkeKeyPartInfo) stored = NULL;
  g_autoptr (Card) card = NULL;
  gboolean pin_pad = FALSE;

  run->steps = steps;
  run->n_steps = G_N_ELEMENTS (steps);

  tke_run_step (run, 0);
  if (tke_run_param_string (run, "file") == NULL)
    {
      files = tke_key_part_file_list (dir, NULL, error);
      if (files == NULL)
        return NULL;
      for (guint i = 0; i < files->len; i++)
        {
          TkeKeyPartFileInfo *file = files->pdata[i];
          g_autofree char *file_vp = tke_vp_to_hex (file->vp);

          g_ptr_array_add (paths, file->path);
          g_ptr_array_add (labels,
                           g_strdup_printf (_ ("“%s”, VP %.32s…"), file->description, file_vp));
        }
    }
  path = run_choose_file (run, paths, labels, _ ("Key part file"), error);
  if (path == NULL)
    return NULL;

  tke_run_step (run, 1);
  password = run_file_password (run, path, error);
  if (password == NULL)
    return NULL;
  /* The file's VP is checked against the part as it is read. */
  part = tke_key_part_file_load (path, password, &info, error);
  g_clear_pointer (&password, tke_secret_free);
  if (part == NULL)
    return NULL;

  tke_run_step (run, 2);
  card = tke_run_acquire_card (run, TKE_READER_ROLE_2, _ ("a TKE card for the key part"),
                               tke_run_check_initialized, NULL, error);
  if (card == NULL)
    return NULL;
  if (card->info->parts->len >= TKE_CARD_MAX_PARTS)
    {
      tke_run_refuse_early (
          error, _ ("The card in %s holds %u key parts, as many as it can: use another card."),
          card->reader, card->info->parts->len);
      return NULL;
    }

  tke_run_step (run, 3);
  if (!tke_run_get_pin (run, card, TKE_PIN_KIND_PIN, _ ("Put a key part from a file on this card"),
                        &pin, &pin_pad, error))
    return NULL;

  tke_run_step (run, 4);
  tke_run_pin_pad_begin (run, card, pin_pad, _ ("Put a key part from a file on this card"));
  stored = tke_card_profile_put_key_part (card->piv, pin, part, info->description, error);
  tke_run_pin_pad_end (run, pin_pad);
  if (stored == NULL)
    return NULL;

  vp = tke_vp_format_two_lines (stored->vp);
  tke_run_journal_card (run, "card", card->info);
  tke_journal_entry_add_detail (run->entry, "file", path);
  tke_journal_entry_add_detail (run->entry, "description", info->description);
  tke_journal_entry_add_vp (run->entry, "part", stored->vp);
  /* TRANSLATORS: the part's description, the file, the reader, and its VP. */
  return g_strdup_printf (_ ("Key part “%s” from %s is on the card in %s. Its verification "
                             "pattern:\n%s"),
                          info->description, path, card->reader, vp);
}
