/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The quorum of the ceremony engine: administrators' signatures on a command, from key files
 * first and then from cards, each administrator once. */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "tke-ceremony-private.h"

/* Quorum ------------------------------------------------------------------------------------ */

typedef struct
{
  GPtrArray *states;
  GHashTable *signed_skis;
  GHashTable *signed_cards;
} QuorumCheck;

static gboolean
check_quorum_card (Run *run, Card *card, gpointer data, char **why, GError **error)
{
  QuorumCheck *quorum = data;
  g_autoptr (GBytes) cert = NULL;
  g_autoptr (EVP_PKEY) key = NULL;
  g_autofree char *ski = NULL;
  g_autofree char *identity = NULL;

  if (!tke_run_check_has_signature_key (run, card, data, why, error))
    return FALSE;

  identity = tke_run_card_identity (card->info);
  if (g_hash_table_contains (quorum->signed_cards, identity))
    {
      *why = g_strdup_printf (_ ("%s has signed already."), card->info->admin_name);
      return FALSE;
    }

  cert = tke_card_profile_read_certificate (card->piv, error);
  if (cert == NULL)
    return FALSE;
  if (!tke_certificate_check_self_signed (g_bytes_get_data (cert, NULL), g_bytes_get_size (cert),
                                          NULL, &key, error))
    return FALSE;
  ski = tke_ec_key_get_ski (key, error);
  if (ski == NULL)
    return FALSE;

  if (g_hash_table_contains (quorum->signed_skis, ski))
    {
      *why = g_strdup_printf (_ ("%s has signed already."), card->info->admin_name);
      return FALSE;
    }
  for (guint i = 0; i < quorum->states->len; i++)
    if (!tke_ceremony_state_has_admin (quorum->states->pdata[i], ski))
      {
        *why = g_strdup_printf (_ ("%s is not an administrator of every selected crypto unit."),
                                card->info->admin_name);
        return FALSE;
      }
  return TRUE;
}

/* Collects signatures from administrator cards in reader 1 until required distinct installed
 * administrators have signed cmd. purpose says what is being signed. */
gboolean
tke_run_collect_signatures (Run *run, TkeCommand *cmd, guint required, const char *purpose,
                            guint first_step, GError **error)
{
  g_autoptr (GHashTable) signed_skis =
      g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GHashTable) signed_cards =
      g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  QuorumCheck quorum = { run->states, signed_skis, signed_cards };
  guint n = 0;

  /* Signers given beforehand (key files) sign first; cards make up the rest. */
  for (guint i = 0; i < run->self->signers->len && n < required; i++)
    {
      TkeSigner *signer = run->self->signers->pdata[i];
      const char *ski = tke_signer_get_ski (signer);

      if (g_hash_table_contains (signed_skis, ski))
        continue;
      for (guint u = 0; u < run->states->len; u++)
        if (!tke_ceremony_state_has_admin (run->states->pdata[u], ski))
          return tke_run_refuse (error, TKE_UNIT_ERROR_UNKNOWN_SIGNER,
                                 _ ("%s is not an administrator of crypto unit %u."),
                                 tke_signer_get_name (signer),
                                 ((TkeCeremonyUnit *) run->units->pdata[u])->num);
      if (!tke_command_add_signature (cmd, signer, run->cancellable, error))
        return FALSE;
      g_hash_table_add (signed_skis, g_strdup (ski));
      tke_journal_entry_add_signer (run->entry, tke_signer_get_name (signer), ski);
      n++;
    }

  for (; n < required; n++)
    {
      g_autofree char *wanted = NULL;
      g_autofree char *sign_purpose = NULL;
      g_autoptr (Card) card = NULL;
      g_autoptr (TkeSecret) pin = NULL;
      g_autoptr (TkeCardSigner) signer = NULL;
      gboolean pin_pad = FALSE, ok;

      tke_run_step (run, first_step);
      wanted = required == 1
                   ? g_strdup (_ ("the smart card of an administrator of the selected units"))
                   : g_strdup_printf (_ ("the smart card of administrator %u of %u who signs (one "
                                         "who has not signed yet)"),
                                      n + 1, required);
      card =
          tke_run_acquire_card (run, TKE_READER_ROLE_1, wanted, check_quorum_card, &quorum, error);
      if (card == NULL)
        return FALSE;

      /* TRANSLATORS: which signature, how many are needed, the administrator, and what is signed. */
      sign_purpose = g_strdup_printf (_ ("Signature %u of %u by %s: %s"), n + 1, required,
                                      card->info->admin_name, purpose);
      if (!tke_run_get_pin (run, card, TKE_PIN_KIND_PIN, sign_purpose, &pin, &pin_pad, error))
        return FALSE;

      tke_run_pin_pad_begin (run, card, pin_pad, sign_purpose);
      signer = tke_card_signer_new (card->piv, pin, error);
      ok = signer != NULL &&
           tke_command_add_signature (cmd, TKE_SIGNER (signer), run->cancellable, error);
      tke_run_pin_pad_end (run, pin_pad);
      if (!ok)
        return FALSE;

      g_hash_table_add (signed_skis, g_strdup (tke_signer_get_ski (TKE_SIGNER (signer))));
      g_hash_table_add (signed_cards, tke_run_card_identity (card->info));
      tke_journal_entry_add_signer (run->entry, tke_signer_get_name (TKE_SIGNER (signer)),
                                    tke_signer_get_ski (TKE_SIGNER (signer)));
    }
  return TRUE;
}
