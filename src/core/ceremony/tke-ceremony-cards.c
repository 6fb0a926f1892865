/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The card session of the ceremony engine: the reader of a role, waiting for the card wanted
 * and checking it, and its PIN, typed or on the reader's PIN pad. */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "tke-ceremony-private.h"

/* Readers and cards ------------------------------------------------------------------------- */

/* The reader that plays role; *present tells whether it holds a card. */
static char *
run_resolve_reader (Run *run, TkeReaderRole role, gboolean *present, GError **error)
{
  g_autoptr (GPtrArray) readers = tke_reader_manager_list (run->self->readers, error);
  const char *configured = run->self->reader_names[role - 1];
  const TkeReaderStatus *chosen;

  if (readers == NULL)
    return NULL;

  chosen = tke_reader_status_for_role (readers, role, configured);
  if (chosen != NULL)
    {
      if (present != NULL)
        *present = chosen->card_present;
      return g_strdup (chosen->name);
    }

  if (configured != NULL && *configured != '\0')
    g_set_error (error, TKE_ERROR, TKE_ERROR_NO_READER,
                 _ ("Reader %d (%s, as set in the preferences) is not connected: connect it, or "
                    "choose another reader in the preferences."),
                 role, configured);
  else
    g_set_error (error, TKE_ERROR, TKE_ERROR_NO_READER,
                 /* TRANSLATORS: %d is the reader's number (1 or 2), %u how many are connected. */
                 g_dngettext (GETTEXT_PACKAGE,
                              "Reader %d is not connected: this workstation needs two smart card "
                              "readers, and %u is connected.",
                              "Reader %d is not connected: this workstation needs two smart card "
                              "readers, and %u are connected.",
                              readers->len),
                 role, readers->len);
  return NULL;
}

/* What tells two cards apart, for the journal and for "each card once": the serial number, else
 * the card's own 9D key (its certificate's SHA-256), never a description, which two cards can
 * share. A card with neither is not a TKE card and is used for nothing. */
char *
tke_run_card_identity (const TkeCardInfo *info)
{
  if (info->has_serial)
    return g_strdup_printf ("serial %u", info->serial);
  if (info->key_id != NULL)
    return g_strdup_printf ("card key %.16s", info->key_id);
  return g_strdup ("card without serial or key");
}

static char *
card_label (const TkeCardInfo *info)
{
  GString *label = g_string_new (NULL);

  /* TRANSLATORS: a card as a sentence names it: "card 1004 “Alice's card”, administrator Alice",
   * or "the card …" when it has no serial number; the parts are put together in this order. */
  if (info->has_serial)
    g_string_append_printf (label, _ ("card %u"), info->serial);
  else
    g_string_append (label, _ ("the card"));
  if (info->description != NULL && *info->description)
    /* TRANSLATORS: the card's description after its name, in quotation marks. */
    g_string_append_printf (label, _ (" “%s”"), info->description);
  if (info->admin_name != NULL)
    /* TRANSLATORS: after a card's name: the administrator whose signature key it holds. */
    g_string_append_printf (label, _ (", administrator %s"), info->admin_name);
  return g_string_free (label, FALSE);
}

void
tke_run_journal_card (Run *run, const char *key, const TkeCardInfo *info)
{
  g_autofree char *identity = tke_run_card_identity (info);

  tke_journal_entry_add_detail (run->entry, key, identity);
}

void
tke_run_card_free (Card *card)
{
  if (card == NULL)
    return;
  if (card->piv != NULL)
    tke_card_connection_disconnect (tke_piv_client_get_connection (card->piv), TRUE);
  g_clear_object (&card->piv);
  g_clear_pointer (&card->info, tke_card_info_free);
  g_free (card->reader);
  g_free (card);
}

static Card *
run_connect (Run *run, const char *reader, GError **error)
{
  g_autoptr (Card) card = g_new0 (Card, 1);
  g_autoptr (TkeCardConnection) connection = NULL;

  connection = tke_reader_manager_connect (run->self->readers, reader, error);
  if (connection == NULL)
    return NULL;
  card->piv = tke_piv_client_new (connection);
  card->reader = g_strdup (reader);
  card->info = tke_card_profile_read_info (card->piv, error);
  if (card->info == NULL)
    return NULL;
  return g_steal_pointer (&card);
}

/* Gets the card wanted in the reader of role: the one there if check accepts it, else it asks
 * the operator and waits until a card that check accepts is inserted (no button to press: the
 * prompt ends by itself). Cancelling ends the wait. */
Card *
tke_run_acquire_card (Run *run, TkeReaderRole role, const char *wanted, CardCheck check,
                      gpointer check_data, GError **error)
{
  gboolean prompting = FALSE;
  g_autofree char *last_refused = NULL;
  Card *result = NULL;

  for (;;)
    {
      g_autoptr (GError) local_error = NULL;
      g_autofree char *reader = NULL;
      g_autofree char *why = NULL;
      g_autoptr (Card) card = NULL;
      gboolean present = FALSE;

      if (!tke_run_check_cancelled (run, error))
        break;

      reader = run_resolve_reader (run, role, &present, error);
      if (reader == NULL)
        break;

      if (present)
        {
          card = run_connect (run, reader, &local_error);
          if (card == NULL && !g_error_matches (local_error, TKE_ERROR, TKE_ERROR_NO_CARD) &&
              !g_error_matches (local_error, TKE_ERROR, TKE_ERROR_CARD_REMOVED))
            {
              /* A card that is there but can't be read is the operator's to fix. */
              g_propagate_error (error, g_steal_pointer (&local_error));
              break;
            }
          /* Gone again as it was read: wait for it like for any card. */
          g_clear_error (&local_error);
        }

      if (card != NULL)
        {
          if (check == NULL || check (run, card, check_data, &why, &local_error))
            {
              result = g_steal_pointer (&card);
              break;
            }
          if (local_error != NULL)
            {
              g_propagate_error (error, g_steal_pointer (&local_error));
              break;
            }
        }

      /* Ask, and ask again whenever what is wrong changes: a wrong card came in, or it went out
       * and the reader waits for the right one. */
      if (!prompting || g_strcmp0 (why, last_refused) != 0)
        {
          g_autofree char *sentence =
              why != NULL
                  /* TRANSLATORS: why the card in the reader won't do, a sentence, then the card
                   * wanted, as "the card with key part 2 of 3". */
                  ? g_strdup_printf (_ ("%s Insert %s."), why, wanted)
                  : g_strdup (wanted);
          TkeCardRequest request = { role, reader, sentence };

          if (prompting)
            tke_prompter_card_wait_end (run->self->prompter);
          tke_prompter_card_wait_begin (run->self->prompter, &request);
          prompting = TRUE;
          g_free (last_refused);
          last_refused = g_strdup (why);
        }

      if (card == NULL)
        {
          /* A wait that ends without a card (TKE_ERROR_NO_CARD after the timeout) only means
           * the operator has not put it in yet: look again. */
          if (!tke_reader_manager_wait_for_card (run->self->readers, reader, CARD_POLL_MS * 4,
                                                 run->cancellable, &local_error) &&
              !g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT) &&
              !g_error_matches (local_error, TKE_ERROR, TKE_ERROR_NO_CARD))
            {
              g_propagate_error (error, g_steal_pointer (&local_error));
              break;
            }
        }
      else
        {
          /* The wrong card is in: look again shortly, until the operator has changed it. */
          g_clear_pointer (&card, tke_run_card_free);
          g_usleep (CARD_POLL_MS * 1000);
        }
    }

  if (prompting)
    tke_prompter_card_wait_end (run->self->prompter);
  return result;
}

/* The PUK's tries left, from GET METADATA where the card has it (YubiKey 5.3 and later,
 * tke-vcard); -1 where it does not. */
static int
puk_tries_left (Card *card)
{
  TkePivMetadata metadata;
  int tries = -1;

  if (tke_piv_client_get_metadata (card->piv, TKE_PIV_PUK, &metadata, NULL))
    tries = metadata.retries_left;
  tke_piv_metadata_clear (&metadata);
  return tries;
}

/* The PIN for a card: NULL with *pin_pad set when the reader has a PIN pad (the profile then
 * verifies on the pad), else asked with the card's tries left. */
gboolean
tke_run_get_pin (Run *run, Card *card, TkePinKind kind, const char *purpose, TkeSecret **pin,
                 gboolean *pin_pad, GError **error)
{
  g_autofree char *label = card_label (card->info);
  /* Each secret is asked with its own tries left: the PIN's from the card's status, the PUK's
   * where the card tells them; new ones have none. */
  TkePinRequest request = { kind, card->reader, label, purpose, -1 };

  *pin = NULL;
  *pin_pad = kind == TKE_PIN_KIND_PIN &&
             tke_card_connection_has_pin_pad (tke_piv_client_get_connection (card->piv));
  if (*pin_pad)
    return TRUE;

  if (kind == TKE_PIN_KIND_PIN)
    request.tries_left = card->info->pin_tries_left;
  else if (kind == TKE_PIN_KIND_PUK)
    request.tries_left = puk_tries_left (card);
  if (kind == TKE_PIN_KIND_PIN && request.tries_left == 0)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_PIN_BLOCKED,
                   _ ("The PIN of %s is blocked: unblock it with the card's PUK (Unblock PIN on "
                      "the Smart card tab, or tkectl card-unblock)."),
                   label);
      return FALSE;
    }
  if (kind == TKE_PIN_KIND_PUK && request.tries_left == 0)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_PIN_BLOCKED,
                   _ ("The PUK of %s is blocked: nothing can unblock this card any more. Its keys "
                      "are out of reach; reset it with its maker's tool and initialize it again."),
                   label);
      return FALSE;
    }

  *pin = tke_prompter_ask_pin (run->self->prompter, &request, run->cancellable, error);
  return *pin != NULL;
}

void
tke_run_pin_pad_begin (Run *run, Card *card, gboolean pin_pad, const char *purpose)
{
  g_autofree char *label = NULL;
  TkePinRequest request = { TKE_PIN_KIND_PIN, card->reader, NULL, purpose,
                            card->info->pin_tries_left };

  if (!pin_pad)
    return;
  label = card_label (card->info);
  request.card = label;
  tke_prompter_pin_pad_begin (run->self->prompter, &request);
}

void
tke_run_pin_pad_end (Run *run, gboolean pin_pad)
{
  if (pin_pad)
    tke_prompter_pin_pad_end (run->self->prompter);
}

gboolean
tke_run_check_initialized (Run *run, Card *card, gpointer data, char **why, GError **error)
{
  if (!card->info->initialized)
    {
      *why = g_strdup (_ ("The card in the reader is not a TKE card yet: initialize it first."));
      return FALSE;
    }
  return TRUE;
}

gboolean
tke_run_check_blank (Run *run, Card *card, gpointer data, char **why, GError **error)
{
  if (card->info->initialized)
    {
      *why = g_strdup (_ ("The card in the reader is already a TKE card."));
      return FALSE;
    }
  return TRUE;
}

gboolean
tke_run_check_no_signature_key (Run *run, Card *card, gpointer data, char **why, GError **error)
{
  if (!tke_run_check_initialized (run, card, data, why, error))
    return FALSE;
  if (card->info->admin_name != NULL)
    {
      *why = g_strdup_printf (_ ("The card in the reader already holds the signature key of %s, "
                                 "and a card holds one signature key."),
                              card->info->admin_name);
      return FALSE;
    }
  return TRUE;
}

gboolean
tke_run_check_has_signature_key (Run *run, Card *card, gpointer data, char **why, GError **error)
{
  if (!tke_run_check_initialized (run, card, data, why, error))
    return FALSE;
  if (card->info->admin_name == NULL)
    {
      *why = g_strdup (_ ("The card in the reader holds no administrator signature key."));
      return FALSE;
    }
  return TRUE;
}

/* The card of an administrator that none of the selected units has yet: a card that is one
 * already is refused while the operator is there to change it, not after. */
gboolean
tke_run_check_new_administrator (Run *run, Card *card, gpointer data, char **why, GError **error)
{
  g_autoptr (GBytes) cert = NULL;
  g_autoptr (EVP_PKEY) key = NULL;
  g_autofree char *name = NULL;
  g_autofree char *ski = NULL;

  if (!tke_run_check_has_signature_key (run, card, data, why, error))
    return FALSE;
  cert = tke_card_profile_read_certificate (card->piv, error);
  if (cert == NULL ||
      !tke_certificate_check_self_signed (g_bytes_get_data (cert, NULL), g_bytes_get_size (cert),
                                          &name, &key, error))
    return FALSE;
  ski = tke_ec_key_get_ski (key, error);
  if (ski == NULL)
    return FALSE;
  for (guint i = 0; i < run->states->len; i++)
    if (tke_ceremony_state_has_admin (run->states->pdata[i], ski))
      {
        *why = g_strdup_printf (_ ("%s is an administrator of crypto unit %u already."), name,
                                ((TkeCeremonyUnit *) run->units->pdata[i])->num);
        return FALSE;
      }
  return TRUE;
}
