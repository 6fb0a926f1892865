/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The ceremony engine. One run is one operation: it reads the selected units, checks what would
 * make a unit refuse, asks the operator for cards, PINs and choices, collects the quorum of
 * administrator signatures, sends the command to every unit at once, reads them back, compares
 * them, and journals the whole. Nothing is sent before the last question is answered, so a
 * cancel or an error up to then leaves units as they were; card writes are single profile steps
 * that the profile makes safe against a pulled card. */
#include "config.h"

#include <string.h>

#include "tke-card-profile.h"
#include "tke-card-signer.h"
#include "tke-ceremony.h"
#include "tke-command.h"
#include "tke-ec-key.h"
#include "tke-error.h"
#include "tke-files-dir.h"
#include "tke-key-part-file.h"
#include "tke-signature-key-file.h"
#include "tke-unit-client.h"
#include "tke-unit-error.h"
#include "tke-unit-jose.h"
#include "tke-vp.h"

/* How often the engine looks at a reader while it waits for the operator to change cards. */
#define CARD_POLL_MS 150

struct _TkeCeremony
{
  GObject parent_instance;

  TkeReaderManager *readers;
  TkePrompter *prompter;
  TkeJournal *journal;
  char *reader_names[2];
  GPtrArray *units;   /* TkeCeremonyUnit */
  GPtrArray *signers; /* TkeSigner, used before cards */
};

G_DEFINE_FINAL_TYPE (TkeCeremony, tke_ceremony, G_TYPE_OBJECT)

/* The state of one run, on the worker thread. */
typedef struct
{
  TkeCeremony *self;
  TkeCeremonyOp op;
  json_t *params;
  GCancellable *cancellable;
  GMainContext *context;
  GHashTable *clients; /* service url -> TkeUnitClient */
  GPtrArray *units;    /* TkeCeremonyUnit (borrowed from self->units) */
  GPtrArray *states;   /* json_t, the state of each unit before the command */
  const char *const *steps;
  guint n_steps;
  TkeJournalEntry *entry;
} Run;

static const struct
{
  TkeCeremonyOp op;
  const char *name;
  const char *wire_op; /* NULL for card-only operations */
} op_table[] = {
  { TKE_CEREMONY_INITIALIZE_CARD, "initialize-card", NULL },
  { TKE_CEREMONY_GENERATE_SIGNATURE_KEY, "generate-signature-key", NULL },
  { TKE_CEREMONY_GENERATE_KEY_PART, "generate-key-part", NULL },
  { TKE_CEREMONY_COPY_SMART_CARD, "copy-smart-card", NULL },
  { TKE_CEREMONY_COPY_SIGNATURE_KEY_FILE, "copy-signature-key-file", NULL },
  { TKE_CEREMONY_COPY_KEY_PART_FILE, "copy-key-part-file", NULL },
  { TKE_CEREMONY_ADD_ADMINISTRATOR, "add-administrator", "admin.add" },
  { TKE_CEREMONY_REMOVE_ADMINISTRATOR, "remove-administrator", "admin.remove" },
  { TKE_CEREMONY_CHANGE_THRESHOLDS, "change-signature-thresholds", "thresholds.set" },
  { TKE_CEREMONY_LOAD, "load", "mk.load" },
  { TKE_CEREMONY_COMMIT, "commit", "mk.commit" },
  { TKE_CEREMONY_SET_IMMEDIATE, "set-immediate", "mk.set_immediate" },
  { TKE_CEREMONY_ROTATE, "rotate", "mk.rotate" },
  { TKE_CEREMONY_CLEAR_NEW, "clear-new", "mk.clear_new" },
  { TKE_CEREMONY_CLEAR_CURRENT, "clear-current", "mk.clear_current" },
  { TKE_CEREMONY_ZEROIZE, "zeroize", "zeroize" },
};

/* Boxed types ------------------------------------------------------------------------------- */

TkeCeremonyUnit *
tke_ceremony_unit_copy (const TkeCeremonyUnit *unit)
{
  TkeCeremonyUnit *copy;

  g_return_val_if_fail (unit != NULL, NULL);

  copy = g_new0 (TkeCeremonyUnit, 1);
  copy->service_url = g_strdup (unit->service_url);
  copy->fingerprint = g_strdup (unit->fingerprint);
  copy->api_key = g_strdup (unit->api_key);
  copy->num = unit->num;
  copy->id = g_strdup (unit->id);
  copy->instance = g_strdup (unit->instance);
  copy->type = g_strdup (unit->type);
  copy->location = g_strdup (unit->location);
  copy->identity_jwk = unit->identity_jwk ? json_incref (unit->identity_jwk) : NULL;
  copy->thumbprint = g_strdup (unit->thumbprint);
  copy->identity_error = g_strdup (unit->identity_error);
  return copy;
}

TkeCeremonyUnit *
tke_ceremony_unit_new_listed (const TkeUnitInfo *info, const char *service_url,
                              const char *fingerprint, const char *api_key, TkeUnitPins *pins)
{
  TkeCeremonyUnit *unit;
  g_autoptr (GError) error = NULL;

  g_return_val_if_fail (info != NULL && service_url != NULL && TKE_IS_UNIT_PINS (pins), NULL);

  unit = g_new0 (TkeCeremonyUnit, 1);
  unit->service_url = g_strdup (service_url);
  unit->fingerprint = g_strdup (fingerprint);
  unit->api_key = g_strdup (api_key);
  unit->num = info->num;
  unit->id = g_strdup (info->id);
  unit->instance = g_strdup (info->instance);
  unit->type = g_strdup (info->type);
  unit->location = g_strdup (info->location);
  if (tke_unit_pins_check (pins, service_url, info, &error) == TKE_UNIT_PIN_CHANGED)
    unit->identity_error = g_strdup (error->message);
  if (tke_unit_pins_get_jwk (pins, info->id) != NULL)
    {
      unit->identity_jwk = json_deep_copy (tke_unit_pins_get_jwk (pins, info->id));
      unit->thumbprint = g_strdup (tke_unit_pins_get_thumbprint (pins, info->id));
    }
  return unit;
}

void
tke_ceremony_unit_free (TkeCeremonyUnit *unit)
{
  if (unit == NULL)
    return;
  g_free (unit->service_url);
  g_free (unit->fingerprint);
  tke_wipe_string_free (unit->api_key);
  g_free (unit->id);
  g_free (unit->instance);
  g_free (unit->type);
  g_free (unit->location);
  json_decref (unit->identity_jwk);
  g_free (unit->thumbprint);
  g_free (unit->identity_error);
  g_free (unit);
}

void
tke_unit_outcome_free (TkeUnitOutcome *outcome)
{
  if (outcome == NULL)
    return;
  g_free (outcome->id);
  g_free (outcome->code);
  g_free (outcome->message);
  json_decref (outcome->state);
  g_free (outcome);
}

void
tke_ceremony_result_free (TkeCeremonyResult *result)
{
  if (result == NULL)
    return;
  g_free (result->summary);
  g_ptr_array_unref (result->outcomes);
  g_ptr_array_unref (result->differences);
  json_decref (result->params);
  g_free (result);
}

guint
tke_ceremony_result_get_n_failed (const TkeCeremonyResult *result)
{
  guint n = 0;

  g_return_val_if_fail (result != NULL, 0);

  for (guint i = 0; i < result->outcomes->len; i++)
    if (!((TkeUnitOutcome *) result->outcomes->pdata[i])->accepted)
      n++;
  return n;
}

const char *
tke_ceremony_op_to_string (TkeCeremonyOp op)
{
  for (guint i = 0; i < G_N_ELEMENTS (op_table); i++)
    if (op_table[i].op == op)
      return op_table[i].name;
  g_return_val_if_reached (NULL);
}

gboolean
tke_ceremony_op_from_string (const char *name, TkeCeremonyOp *op)
{
  g_return_val_if_fail (name != NULL && op != NULL, FALSE);

  for (guint i = 0; i < G_N_ELEMENTS (op_table); i++)
    if (g_str_equal (op_table[i].name, name))
      {
        *op = op_table[i].op;
        return TRUE;
      }
  return FALSE;
}

static const char *
op_wire_name (TkeCeremonyOp op)
{
  for (guint i = 0; i < G_N_ELEMENTS (op_table); i++)
    if (op_table[i].op == op)
      return op_table[i].wire_op;
  return NULL;
}

gboolean
tke_ceremony_op_uses_units (TkeCeremonyOp op)
{
  return op_wire_name (op) != NULL;
}

/* Steps and prompts ------------------------------------------------------------------------- */

static void
run_step (Run *run, guint index)
{
  if (run->steps != NULL && index < run->n_steps)
    tke_prompter_step (run->self->prompter, index, run->n_steps, run->steps[index]);
}

static gboolean
run_check_cancelled (Run *run, GError **error)
{
  return !g_cancellable_set_error_if_cancelled (run->cancellable, error);
}

static const char *
param_string (Run *run, const char *key)
{
  return json_string_value (json_object_get (run->params, key));
}

static gboolean
param_uint (Run *run, const char *key, guint *value)
{
  json_t *v = json_object_get (run->params, key);

  if (!json_is_integer (v) || json_integer_value (v) < 0)
    return FALSE;
  *value = (guint) json_integer_value (v);
  return TRUE;
}

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
                 "Reader %d (%s, as set in the preferences) is not connected: connect it, or "
                 "choose another reader in the preferences.",
                 role, configured);
  else
    g_set_error (error, TKE_ERROR, TKE_ERROR_NO_READER,
                 "Reader %d is not connected: this workstation needs two smart card readers, and "
                 "%u %s connected.",
                 role, readers->len, readers->len == 1 ? "is" : "are");
  return NULL;
}

/* Serial, else the 9A key's SKI, else the description: what tells two cards apart. */
static char *
card_identity (const TkeCardInfo *info)
{
  if (info->has_serial)
    return g_strdup_printf ("serial %u", info->serial);
  return g_strdup_printf ("card %s/%s", info->admin_name ? info->admin_name : "-",
                          info->description ? info->description : "-");
}

static char *
card_label (const TkeCardInfo *info)
{
  GString *label = g_string_new (NULL);

  if (info->has_serial)
    g_string_append_printf (label, "card %u", info->serial);
  else
    g_string_append (label, "the card");
  if (info->description != NULL && *info->description)
    g_string_append_printf (label, " “%s”", info->description);
  if (info->admin_name != NULL)
    g_string_append_printf (label, ", administrator %s", info->admin_name);
  return g_string_free (label, FALSE);
}

static void
journal_card (Run *run, const char *key, const TkeCardInfo *info)
{
  g_autofree char *identity = card_identity (info);

  tke_journal_entry_add_detail (run->entry, key, identity);
}

typedef struct
{
  TkePivClient *piv;
  TkeCardInfo *info;
  char *reader;
} Card;

static void
card_free (Card *card)
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

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Card, card_free)

/* Decides whether a card that is in the reader is the one wanted. Returns FALSE with *why set
 * (a sentence for the prompt) when the operator must change it. */
typedef gboolean (*CardCheck) (Run *run, Card *card, gpointer data, char **why, GError **error);

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
static Card *
run_acquire_card (Run *run, TkeReaderRole role, const char *wanted, CardCheck check,
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

      if (!run_check_cancelled (run, error))
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
              why != NULL ? g_strdup_printf ("%s Insert %s.", why, wanted) : g_strdup (wanted);
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
          g_clear_pointer (&card, card_free);
          g_usleep (CARD_POLL_MS * 1000);
        }
    }

  if (prompting)
    tke_prompter_card_wait_end (run->self->prompter);
  return result;
}

/* The PIN for a card: NULL with *pin_pad set when the reader has a PIN pad (the profile then
 * verifies on the pad), else asked with the card's tries left. */
static gboolean
run_get_pin (Run *run, Card *card, TkePinKind kind, const char *purpose, TkeSecret **pin,
             gboolean *pin_pad, GError **error)
{
  g_autofree char *label = card_label (card->info);
  /* The tries left are the PIN's: they are shown only where the PIN itself is asked for. */
  TkePinRequest request = { kind, card->reader, label, purpose,
                            kind == TKE_PIN_KIND_PIN ? card->info->pin_tries_left : -1 };

  *pin = NULL;
  *pin_pad = kind == TKE_PIN_KIND_PIN &&
             tke_card_connection_has_pin_pad (tke_piv_client_get_connection (card->piv));
  if (*pin_pad)
    return TRUE;

  if (kind == TKE_PIN_KIND_PIN && card->info->pin_tries_left == 0)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_PIN_BLOCKED,
                   "The PIN of %s is blocked: unblock it with the PUK first.", label);
      return FALSE;
    }

  *pin = tke_prompter_ask_pin (run->self->prompter, &request, run->cancellable, error);
  return *pin != NULL;
}

static void
run_pin_pad_begin (Run *run, Card *card, gboolean pin_pad, const char *purpose)
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

static void
run_pin_pad_end (Run *run, gboolean pin_pad)
{
  if (pin_pad)
    tke_prompter_pin_pad_end (run->self->prompter);
}

static gboolean
check_initialized (Run *run, Card *card, gpointer data, char **why, GError **error)
{
  if (!card->info->initialized)
    {
      *why = g_strdup ("The card in the reader is not a TKE card yet: initialize it first.");
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_blank (Run *run, Card *card, gpointer data, char **why, GError **error)
{
  if (card->info->initialized)
    {
      *why = g_strdup ("The card in the reader is already a TKE card.");
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_no_signature_key (Run *run, Card *card, gpointer data, char **why, GError **error)
{
  if (!check_initialized (run, card, data, why, error))
    return FALSE;
  if (card->info->admin_name != NULL)
    {
      *why = g_strdup_printf ("The card in the reader already holds the signature key of %s, "
                              "and a card holds one signature key.",
                              card->info->admin_name);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_has_signature_key (Run *run, Card *card, gpointer data, char **why, GError **error)
{
  if (!check_initialized (run, card, data, why, error))
    return FALSE;
  if (card->info->admin_name == NULL)
    {
      *why = g_strdup ("The card in the reader holds no administrator signature key.");
      return FALSE;
    }
  return TRUE;
}

/* The card of an administrator that none of the selected units has yet: a card that is one
 * already is refused while the operator is there to change it, not after. */
static gboolean
check_new_administrator (Run *run, Card *card, gpointer data, char **why, GError **error)
{
  g_autoptr (GBytes) cert = NULL;
  g_autoptr (EVP_PKEY) key = NULL;
  g_autofree char *name = NULL;
  g_autofree char *ski = NULL;

  if (!check_has_signature_key (run, card, data, why, error))
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
        *why = g_strdup_printf ("%s is an administrator of crypto unit %u already.", name,
                                ((TkeCeremonyUnit *) run->units->pdata[i])->num);
        return FALSE;
      }
  return TRUE;
}

/* Text checks ------------------------------------------------------------------------------- */

static gboolean
check_admin_name (const char *text, gpointer data, GError **error)
{
  return tke_admin_name_is_valid (text, error);
}

static gboolean
check_description (const char *text, gpointer data, GError **error)
{
  gsize len = strlen (text);

  if (len == 0 || len > TKE_CARD_DESCRIPTION_MAX || !g_utf8_validate (text, -1, NULL))
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                   "A description has 1 to %d bytes of text.", TKE_CARD_DESCRIPTION_MAX);
      return FALSE;
    }
  return TRUE;
}

/* The text for key, from the parameters or asked. */
static char *
run_text (Run *run, const char *key, const char *title, const char *hint, TkeTextCheck check,
          GError **error)
{
  const char *given = param_string (run, key);

  if (given != NULL)
    return check (given, NULL, error) ? g_strdup (given) : NULL;
  return tke_prompter_ask_text (run->self->prompter, title, hint, check, NULL, run->cancellable,
                                error);
}

static gboolean
run_number (Run *run, const char *key, const char *title, const char *hint, guint min, guint max,
            guint *number, GError **error)
{
  if (param_uint (run, key, number))
    {
      if (*number < min || *number > max)
        {
          g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                       "%s must be between %u and %u.", title, min, max);
          return FALSE;
        }
      return TRUE;
    }
  return tke_prompter_ask_number (run->self->prompter, title, hint, min, max, number,
                                  run->cancellable, error);
}

/* Crypto units ------------------------------------------------------------------------------ */

typedef struct
{
  GAsyncResult *result;
} Waiter;

static void
waiter_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Waiter *waiter = user_data;

  waiter->result = g_object_ref (result);
}

static void
run_wait_all (Run *run, Waiter *waiters, guint n)
{
  for (guint i = 0; i < n; i++)
    while (waiters[i].result == NULL)
      g_main_context_iteration (run->context, TRUE);
}

static void
waiters_free (Waiter *waiters, guint n)
{
  for (guint i = 0; i < n; i++)
    g_clear_object (&waiters[i].result);
  g_free (waiters);
}

static TkeUnitClient *
run_client (Run *run, TkeCeremonyUnit *unit)
{
  TkeUnitClient *client = g_hash_table_lookup (run->clients, unit->service_url);

  if (client == NULL)
    {
      /* Made on the worker, whose context the client's calls then run on. */
      client = tke_unit_client_new (unit->service_url, unit->fingerprint, unit->api_key);
      g_hash_table_insert (run->clients, g_strdup (unit->service_url), client);
    }
  return client;
}

/* The state of every unit, read in parallel. Fails when one can't be read: nothing was sent. */
static GPtrArray *
run_read_states (Run *run, GError **error)
{
  g_autoptr (GPtrArray) states = g_ptr_array_new_with_free_func ((GDestroyNotify) json_decref);
  Waiter *waiters = g_new0 (Waiter, run->units->len);
  g_autoptr (GError) first_error = NULL;

  for (guint i = 0; i < run->units->len; i++)
    {
      TkeCeremonyUnit *unit = run->units->pdata[i];

      tke_unit_client_get_state_async (run_client (run, unit), unit->id, run->cancellable,
                                       waiter_done, &waiters[i]);
    }
  run_wait_all (run, waiters, run->units->len);

  for (guint i = 0; i < run->units->len; i++)
    {
      TkeCeremonyUnit *unit = run->units->pdata[i];
      g_autoptr (GError) local_error = NULL;
      json_t *state = tke_unit_client_get_state_finish (run_client (run, unit), waiters[i].result,
                                                        &local_error);

      if (state == NULL && first_error == NULL)
        first_error =
            g_error_new (local_error->domain, local_error->code,
                         "Crypto unit %u could not be read: %s", unit->num, local_error->message);
      g_ptr_array_add (states, state);
    }
  waiters_free (waiters, run->units->len);

  if (first_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&first_error));
      return NULL;
    }
  return g_steal_pointer (&states);
}

static gboolean
state_is_imprint (json_t *state)
{
  return g_strcmp0 (json_string_value (json_object_get (state, "mode")), "imprint") == 0;
}

static guint
state_threshold (json_t *state, const char *which)
{
  return (guint) json_integer_value (
      json_object_get (json_object_get (state, "thresholds"), which));
}

static json_t *
state_admins (json_t *state)
{
  return json_object_get (state, "admins");
}

static const char *
state_register (json_t *state, const char *reg, const char *field)
{
  return json_string_value (
      json_object_get (json_object_get (json_object_get (state, "registers"), reg), field));
}

gboolean
tke_ceremony_state_has_admin (json_t *state, const char *ski)
{
  size_t i;
  json_t *admin;

  json_array_foreach (state_admins (state), i, admin)
    if (g_strcmp0 (json_string_value (json_object_get (admin, "ski")), ski) == 0)
      return TRUE;
  return FALSE;
}

guint
tke_ceremony_required_signatures (TkeCeremonyOp op, json_t *state, guint new_signature_threshold)
{
  gboolean imprint = state_is_imprint (state);

  switch (op)
    {
      case TKE_CEREMONY_ADD_ADMINISTRATOR:
        return imprint ? 0 : state_threshold (state, "signature");
      case TKE_CEREMONY_REMOVE_ADMINISTRATOR:
        return imprint ? 0 : state_threshold (state, "revocation");
      case TKE_CEREMONY_CHANGE_THRESHOLDS:
        return imprint ? new_signature_threshold : state_threshold (state, "signature");
      case TKE_CEREMONY_COMMIT:
      case TKE_CEREMONY_ROTATE:
        return state_threshold (state, "signature");
      case TKE_CEREMONY_ZEROIZE:
        return imprint ? 0 : 1;
      case TKE_CEREMONY_LOAD:
      case TKE_CEREMONY_SET_IMMEDIATE:
      case TKE_CEREMONY_CLEAR_NEW:
      case TKE_CEREMONY_CLEAR_CURRENT:
        return 1;
      case TKE_CEREMONY_INITIALIZE_CARD:
      case TKE_CEREMONY_GENERATE_SIGNATURE_KEY:
      case TKE_CEREMONY_GENERATE_KEY_PART:
      case TKE_CEREMONY_COPY_SMART_CARD:
      case TKE_CEREMONY_COPY_SIGNATURE_KEY_FILE:
      case TKE_CEREMONY_COPY_KEY_PART_FILE:
      default:
        return 0;
    }
}

static char *
units_list (Run *run)
{
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < run->units->len; i++)
    g_string_append_printf (out, "%s%u", i ? ", " : "",
                            ((TkeCeremonyUnit *) run->units->pdata[i])->num);
  return g_string_free (out, FALSE);
}

/* Refuses before anything is sent when a unit would refuse anyway. */
static gboolean refuse_early (GError **error, const char *format, ...) G_GNUC_PRINTF (2, 3);

static gboolean
refuse_early (GError **error, const char *format, ...)
{
  va_list args;
  char *message;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error_literal (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT, message);
  g_free (message);
  return FALSE;
}

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

  if (!check_has_signature_key (run, card, data, why, error))
    return FALSE;

  identity = card_identity (card->info);
  if (g_hash_table_contains (quorum->signed_cards, identity))
    {
      *why = g_strdup_printf ("%s has signed already.", card->info->admin_name);
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
      *why = g_strdup_printf ("%s has signed already.", card->info->admin_name);
      return FALSE;
    }
  for (guint i = 0; i < quorum->states->len; i++)
    if (!tke_ceremony_state_has_admin (quorum->states->pdata[i], ski))
      {
        *why = g_strdup_printf ("%s is not an administrator of every selected crypto unit.",
                                card->info->admin_name);
        return FALSE;
      }
  return TRUE;
}

/* Collects signatures from administrator cards in reader 1 until required distinct installed
 * administrators have signed cmd. purpose says what is being signed. */
static gboolean
run_collect_signatures (Run *run, TkeCommand *cmd, guint required, const char *purpose,
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
          return refuse_early (error, "%s is not an administrator of crypto unit %u.",
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

      run_step (run, first_step);
      wanted = required == 1
                   ? g_strdup ("the smart card of an administrator of the selected units")
                   : g_strdup_printf ("the smart card of administrator %u of %u who signs (one "
                                      "who has not signed yet)",
                                      n + 1, required);
      card = run_acquire_card (run, TKE_READER_ROLE_1, wanted, check_quorum_card, &quorum, error);
      if (card == NULL)
        return FALSE;

      sign_purpose = g_strdup_printf ("Signature %u of %u by %s: %s", n + 1, required,
                                      card->info->admin_name, purpose);
      if (!run_get_pin (run, card, TKE_PIN_KIND_PIN, sign_purpose, &pin, &pin_pad, error))
        return FALSE;

      run_pin_pad_begin (run, card, pin_pad, sign_purpose);
      signer = tke_card_signer_new (card->piv, pin, error);
      ok = signer != NULL &&
           tke_command_add_signature (cmd, TKE_SIGNER (signer), run->cancellable, error);
      run_pin_pad_end (run, pin_pad);
      if (!ok)
        return FALSE;

      g_hash_table_add (signed_skis, g_strdup (tke_signer_get_ski (TKE_SIGNER (signer))));
      g_hash_table_add (signed_cards, card_identity (card->info));
      tke_journal_entry_add_signer (run->entry, tke_signer_get_name (TKE_SIGNER (signer)),
                                    tke_signer_get_ski (TKE_SIGNER (signer)));
    }
  return TRUE;
}

/* Sending ----------------------------------------------------------------------------------- */

static gboolean
json_equal_at (json_t *a, json_t *b, const char *key)
{
  return json_equal (json_object_get (a, key), json_object_get (b, key));
}

static char *
admins_summary (json_t *state)
{
  GString *out = g_string_new (NULL);
  size_t i;
  json_t *admin;

  json_array_foreach (state_admins (state), i, admin)
    g_string_append_printf (out, "%s%s", i ? ", " : "",
                            json_string_value (json_object_get (admin, "name")));
  if (out->len == 0)
    g_string_append (out, "none");
  return g_string_free (out, FALSE);
}

/* Sentences naming how each unit differs from the first one that could be read. */
GPtrArray *
tke_ceremony_compare_units (GPtrArray *outcomes)
{
  GPtrArray *differences = g_ptr_array_new_with_free_func (g_free);
  TkeUnitOutcome *reference = NULL;

  for (guint i = 0; i < outcomes->len; i++)
    {
      TkeUnitOutcome *outcome = outcomes->pdata[i];
      json_t *a, *b;

      if (outcome->state == NULL)
        {
          g_ptr_array_add (differences,
                           g_strdup_printf ("Crypto unit %u could not be read back: what it holds "
                                            "now is unknown.",
                                            outcome->num));
          continue;
        }
      if (reference == NULL)
        {
          reference = outcome;
          continue;
        }
      a = reference->state;
      b = outcome->state;

      if (!json_equal_at (a, b, "mode") || !json_equal_at (a, b, "thresholds"))
        g_ptr_array_add (
            differences,
            g_strdup_printf ("Crypto unit %u is in %s mode with thresholds %u/%u; "
                             "crypto unit %u is in %s mode with thresholds %u/%u.",
                             outcome->num, json_string_value (json_object_get (b, "mode")),
                             state_threshold (b, "signature"), state_threshold (b, "revocation"),
                             reference->num, json_string_value (json_object_get (a, "mode")),
                             state_threshold (a, "signature"), state_threshold (a, "revocation")));
      {
        g_autofree char *admins_a = admins_summary (a);
        g_autofree char *admins_b = admins_summary (b);
        gboolean same = json_array_size (state_admins (a)) == json_array_size (state_admins (b));
        size_t j;
        json_t *admin;

        json_array_foreach (state_admins (a), j, admin)
          same = same && tke_ceremony_state_has_admin (
                             b, json_string_value (json_object_get (admin, "ski")));
        if (!same)
          g_ptr_array_add (differences,
                           g_strdup_printf ("Crypto unit %u has the administrators %s; crypto "
                                            "unit %u has %s.",
                                            outcome->num, admins_b, reference->num, admins_a));
      }
      for (guint r = 0; r < 2; r++)
        {
          const char *reg = r == 0 ? "new" : "current";

          if (g_strcmp0 (state_register (a, reg, "state"), state_register (b, reg, "state")) != 0 ||
              g_strcmp0 (state_register (a, reg, "vp"), state_register (b, reg, "vp")) != 0)
            g_ptr_array_add (differences,
                             g_strdup_printf ("The %s master key register of crypto unit %u is "
                                              "%s with VP %.16s…; that of crypto unit %u is %s "
                                              "with VP %.16s….",
                                              reg, outcome->num, state_register (b, reg, "state"),
                                              state_register (b, reg, "vp"), reference->num,
                                              state_register (a, reg, "state"),
                                              state_register (a, reg, "vp")));
        }
    }
  return differences;
}

/* A command whose answer was lost may or may not have been applied: the unit's counter, read
 * afterwards, tells. libsoup never resends it by itself, so the operator decides. */
void
tke_unit_outcome_note_applied (TkeUnitOutcome *outcome, TkeCommand *cmd,
                               const TkeCeremonyUnit *unit)
{
  gint64 sent = tke_command_get_counter (cmd, unit->id);
  json_t *counter = json_object_get (outcome->state, "counter");
  char *message;

  if (outcome->state == NULL || !json_is_integer (counter))
    message = g_strdup_printf ("%s. Its state could not be read afterwards either: whether the "
                               "command was applied is not known; read the unit again before "
                               "retrying.",
                               outcome->message);
  else if (json_integer_value (counter) == sent)
    message = g_strdup_printf ("%s. Its counter is still %" G_GINT64_FORMAT
                               ": the command was not applied.",
                               outcome->message, sent);
  else
    message =
        g_strdup_printf ("%s. Its counter moved from %" G_GINT64_FORMAT " to %" JSON_INTEGER_FORMAT
                         ": a command was applied, but its receipt was lost, so this one is "
                         "not counted as accepted; compare the unit's state and audit log.",
                         outcome->message, sent, json_integer_value (counter));
  g_free (outcome->message);
  outcome->message = message;
}

/* Sends cmd to every unit of the run at once; then reads each back. */
static TkeCeremonyResult *
run_send (Run *run, TkeCommand *cmd)
{
  TkeCeremonyResult *result = g_new0 (TkeCeremonyResult, 1);
  guint n = run->units->len;
  Waiter *waiters = g_new0 (Waiter, n);

  result->op = run->op;
  result->outcomes = g_ptr_array_new_with_free_func ((GDestroyNotify) tke_unit_outcome_free);
  result->params = json_deep_copy (run->params);

  for (guint i = 0; i < n; i++)
    {
      TkeCeremonyUnit *unit = run->units->pdata[i];

      /* Not cancellable: once sent, a command is followed to its answer. */
      tke_unit_client_post_command_async (run_client (run, unit), unit->id, cmd, NULL, waiter_done,
                                          &waiters[i]);
    }
  run_wait_all (run, waiters, n);

  for (guint i = 0; i < n; i++)
    {
      TkeCeremonyUnit *unit = run->units->pdata[i];
      TkeUnitOutcome *outcome = g_new0 (TkeUnitOutcome, 1);
      g_autoptr (GError) local_error = NULL;
      json_auto_t *answer = tke_unit_client_post_command_finish (run_client (run, unit),
                                                                 waiters[i].result, &local_error);
      const char *receipt = NULL;
      g_autofree char *receipt_text = NULL;

      outcome->num = unit->num;
      outcome->id = g_strdup (unit->id);
      if (answer != NULL)
        {
          g_autoptr (GError) receipt_error = NULL;
          json_auto_t *receipt_payload = NULL;

          /* Counted as accepted only on a receipt of the pinned identity key that answers
           * this very command. */
          receipt_payload =
              tke_unit_receipt_verify (answer, unit->identity_jwk, unit->id, cmd, &receipt_error);
          if (receipt_payload == NULL)
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
          receipt_text = json_dumps (json_object_get (answer, "receipt"), JSON_COMPACT);
          receipt = receipt_text;
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
      tke_journal_entry_add_unit (run->entry, unit->id, unit->num, outcome->code, outcome->message,
                                  receipt);
      g_ptr_array_add (result->outcomes, outcome);
    }
  waiters_free (waiters, n);

  /* Read back every unit, also those that refused: the comparison is of what is there now. */
  {
    Waiter *reads = g_new0 (Waiter, n);

    for (guint i = 0; i < n; i++)
      {
        TkeCeremonyUnit *unit = run->units->pdata[i];

        tke_unit_client_get_state_async (run_client (run, unit), unit->id, NULL, waiter_done,
                                         &reads[i]);
      }
    run_wait_all (run, reads, n);
    for (guint i = 0; i < n; i++)
      {
        TkeCeremonyUnit *unit = run->units->pdata[i];
        TkeUnitOutcome *outcome = result->outcomes->pdata[i];

        outcome->state =
            tke_unit_client_get_state_finish (run_client (run, unit), reads[i].result, NULL);
        if (g_strcmp0 (outcome->code, "UNREACHABLE") == 0)
          tke_unit_outcome_note_applied (outcome, cmd, unit);
      }
    waiters_free (reads, n);
  }

  result->differences = tke_ceremony_compare_units (result->outcomes);
  return result;
}

/* Builds, signs and sends a unit command; the common path of every unit operation. */
static TkeCeremonyResult *
run_unit_command (Run *run, json_t *args, guint required, const char *purpose, guint sign_step,
                  guint send_step, GError **error)
{
  g_autoptr (TkeCommand) cmd = tke_command_new (op_wire_name (run->op));

  for (guint i = 0; i < run->units->len; i++)
    {
      TkeCeremonyUnit *unit = run->units->pdata[i];

      tke_command_add_target (
          cmd, unit->id, json_integer_value (json_object_get (run->states->pdata[i], "counter")));
    }
  tke_command_take_args (cmd, args);

  if (!run_collect_signatures (run, cmd, required, purpose, sign_step, error))
    return NULL;
  if (!run_check_cancelled (run, error))
    return NULL;

  run_step (run, send_step);
  return run_send (run, cmd);
}

static guint
max_required (Run *run, guint new_signature_threshold)
{
  guint required = 0;

  for (guint i = 0; i < run->states->len; i++)
    required = MAX (required, tke_ceremony_required_signatures (run->op, run->states->pdata[i],
                                                                new_signature_threshold));
  return required;
}

/* Card operations --------------------------------------------------------------------------- */

static char *
run_initialize_card (Run *run, GError **error)
{
  static const char *const steps[] = { "Insert a blank card into reader 2", "Describe the card",
                                       "Set the PIN and the PUK", "Initialize the card" };
  g_autoptr (Card) card = NULL;
  g_autoptr (TkeSecret) pin = NULL, new_pin = NULL, puk = NULL, new_puk = NULL;
  g_autofree char *description = NULL;
  gboolean pin_pad = FALSE;

  run->steps = steps;
  run->n_steps = G_N_ELEMENTS (steps);

  run_step (run, 0);
  card =
      run_acquire_card (run, TKE_READER_ROLE_2, "a blank PIV smart card", check_blank, NULL, error);
  if (card == NULL)
    return NULL;

  run_step (run, 1);
  description = run_text (run, "description", "Card description",
                          "Who keeps the card, what it is for", check_description, error);
  if (description == NULL)
    return NULL;

  run_step (run, 2);
  if (!run_get_pin (run, card, TKE_PIN_KIND_PIN, "The card's present PIN (123456 on a new card)",
                    &pin, &pin_pad, error))
    return NULL;
  if (pin == NULL)
    {
      refuse_early (error, "Initialize cards on a reader without a PIN pad: the new PIN is "
                           "entered twice, which a PIN pad can't do here.");
      return NULL;
    }
  if (!run_get_pin (run, card, TKE_PIN_KIND_NEW_PIN, "The card's new PIN (6 to 8 digits)", &new_pin,
                    &pin_pad, error) ||
      !tke_card_profile_check_new_pin (new_pin, error))
    return NULL;
  if (!run_get_pin (run, card, TKE_PIN_KIND_PUK, "The card's present PUK (12345678 on a new card)",
                    &puk, &pin_pad, error) ||
      !run_get_pin (run, card, TKE_PIN_KIND_NEW_PUK, "The card's new PUK (8 digits)", &new_puk,
                    &pin_pad, error))
    return NULL;
  if (!run_check_cancelled (run, error))
    return NULL;

  run_step (run, 3);
  if (!tke_card_profile_initialize (card->piv, pin, new_pin, puk, new_puk, description, error))
    return NULL;

  journal_card (run, "card", card->info);
  tke_journal_entry_add_detail (run->entry, "description", description);
  return g_strdup_printf ("The card in %s is a TKE card now: “%s”.", card->reader, description);
}

static char *
run_generate_signature_key (Run *run, GError **error)
{
  static const char *const steps[] = { "Insert a TKE card into reader 2", "Name the administrator",
                                       "Enter the card's PIN", "Generate the signature key" };
  g_autoptr (Card) card = NULL;
  g_autoptr (TkeSecret) pin = NULL;
  g_autoptr (EVP_PKEY) key = NULL;
  g_autofree char *name = NULL;
  g_autofree char *ski = NULL;
  g_autofree char *purpose = NULL;
  gboolean pin_pad = FALSE;

  run->steps = steps;
  run->n_steps = G_N_ELEMENTS (steps);

  run_step (run, 0);
  card = run_acquire_card (run, TKE_READER_ROLE_2, "a TKE card without a signature key",
                           check_no_signature_key, NULL, error);
  if (card == NULL)
    return NULL;

  run_step (run, 1);
  name =
      run_text (run, "name", "Administrator name", "1 to 30 characters", check_admin_name, error);
  if (name == NULL)
    return NULL;

  run_step (run, 2);
  purpose = g_strdup_printf ("Generate the signature key of administrator %s on this card", name);
  if (!run_get_pin (run, card, TKE_PIN_KIND_PIN, purpose, &pin, &pin_pad, error))
    return NULL;

  run_step (run, 3);
  run_pin_pad_begin (run, card, pin_pad, purpose);
  key = tke_card_profile_generate_signature_key (card->piv, pin, name, error);
  run_pin_pad_end (run, pin_pad);
  if (key == NULL)
    return NULL;
  ski = tke_ec_key_get_ski (key, error);
  if (ski == NULL)
    return NULL;

  journal_card (run, "card", card->info);
  tke_journal_entry_add_detail (run->entry, "administrator", name);
  tke_journal_entry_add_detail (run->entry, "administrator_ski", ski);
  return g_strdup_printf ("The signature key of administrator %s is on the card in %s.\nSKI %s",
                          name, card->reader, ski);
}

static char *
run_generate_key_part (Run *run, GError **error)
{
  static const char *const steps[] = { "Insert a TKE card into reader 2", "Enter the card's PIN",
                                       "Describe the key part", "Generate the key part" };
  g_autoptr (Card) card = NULL;
  g_autoptr (TkeSecret) pin = NULL;
  g_autoptr (TkeKeyPartInfo) part = NULL;
  g_autofree char *description = NULL;
  g_autofree char *vp = NULL;
  gboolean pin_pad = FALSE;

  run->steps = steps;
  run->n_steps = G_N_ELEMENTS (steps);

  run_step (run, 0);
  card = run_acquire_card (run, TKE_READER_ROLE_2, "a TKE card for the key part", check_initialized,
                           NULL, error);
  if (card == NULL)
    return NULL;
  if (card->info->parts->len >= TKE_CARD_MAX_PARTS)
    {
      refuse_early (error,
                    "The card in %s holds %u key parts, as many as it can: use "
                    "another card.",
                    card->reader, card->info->parts->len);
      return NULL;
    }

  run_step (run, 1);
  if (!run_get_pin (run, card, TKE_PIN_KIND_PIN, "Generate a key part on this card", &pin, &pin_pad,
                    error))
    return NULL;

  run_step (run, 2);
  description = run_text (run, "description", "Key part description",
                          "What the part is for and who holds it", check_description, error);
  if (description == NULL)
    return NULL;

  run_step (run, 3);
  run_pin_pad_begin (run, card, pin_pad, "Generate a key part on this card");
  part = tke_card_profile_generate_key_part (card->piv, pin, description, error);
  run_pin_pad_end (run, pin_pad);
  if (part == NULL)
    return NULL;

  vp = tke_vp_format_two_lines (part->vp);
  journal_card (run, "card", card->info);
  tke_journal_entry_add_detail (run->entry, "description", description);
  tke_journal_entry_add_vp (run->entry, "part", part->vp);
  return g_strdup_printf ("Key part %u “%s” is on the card in %s. Its verification pattern:\n%s",
                          part->id, description, card->reader, vp);
}

static gboolean
check_other_card (Run *run, Card *card, gpointer data, char **why, GError **error)
{
  const char *source_identity = data;
  g_autofree char *identity = card_identity (card->info);

  if (!check_initialized (run, card, data, why, error))
    return FALSE;
  if (g_str_equal (identity, source_identity))
    {
      *why = g_strdup ("Reader 2 holds the card being copied.");
      return FALSE;
    }
  return TRUE;
}

static char *
run_copy_smart_card (Run *run, GError **error)
{
  static const char *const steps[] = { "Insert the card to copy into reader 1",
                                       "Insert the target card into reader 2",
                                       "Enter both cards' PINs", "Copy the key parts" };
  g_autoptr (Card) source = NULL;
  g_autoptr (Card) target = NULL;
  g_autoptr (TkeSecret) source_pin = NULL, target_pin = NULL;
  g_autofree char *source_identity = NULL;
  GString *summary;
  gboolean source_pad = FALSE, target_pad = FALSE;

  run->steps = steps;
  run->n_steps = G_N_ELEMENTS (steps);

  run_step (run, 0);
  source = run_acquire_card (run, TKE_READER_ROLE_1, "the TKE card to copy", check_initialized,
                             NULL, error);
  if (source == NULL)
    return NULL;
  if (source->info->parts->len == 0)
    {
      refuse_early (error,
                    "The card in %s holds no key parts: there is nothing to copy. "
                    "A signature key can't leave the card it was made on; make a "
                    "second administrator with a card of their own instead.",
                    source->reader);
      return NULL;
    }

  run_step (run, 1);
  source_identity = card_identity (source->info);
  target = run_acquire_card (run, TKE_READER_ROLE_2, "the TKE card to copy onto", check_other_card,
                             source_identity, error);
  if (target == NULL)
    return NULL;
  if (target->info->parts->len + source->info->parts->len > TKE_CARD_MAX_PARTS)
    {
      refuse_early (error,
                    "The target card has room for %u more key parts, and the source "
                    "card holds %u.",
                    TKE_CARD_MAX_PARTS - target->info->parts->len, source->info->parts->len);
      return NULL;
    }

  run_step (run, 2);
  if (!run_get_pin (run, source, TKE_PIN_KIND_PIN, "Read the key parts of the card to copy",
                    &source_pin, &source_pad, error) ||
      !run_get_pin (run, target, TKE_PIN_KIND_PIN, "Write the key parts onto this card",
                    &target_pin, &target_pad, error))
    return NULL;

  run_step (run, 3);
  summary = g_string_new (NULL);
  g_string_append_printf (summary, "Copied %u key part%s from %s to %s:", source->info->parts->len,
                          source->info->parts->len == 1 ? "" : "s", source->reader, target->reader);
  for (guint i = 0; i < source->info->parts->len; i++)
    {
      TkeKeyPartInfo *part = source->info->parts->pdata[i];
      g_autoptr (TkeSecret) clear = NULL;
      g_autoptr (TkeKeyPartInfo) copied = NULL;
      g_autofree char *vp = NULL;

      if (!run_check_cancelled (run, error))
        goto failed;
      /* Each part passes through the secure heap only, from one card straight to the other. */
      run_pin_pad_begin (run, source, source_pad, "Read a key part of the card to copy");
      clear = tke_card_profile_take_key_part (source->piv, source_pin, part->id, NULL, error);
      run_pin_pad_end (run, source_pad);
      if (clear == NULL)
        goto failed;
      run_pin_pad_begin (run, target, target_pad, "Write a key part onto this card");
      copied =
          tke_card_profile_put_key_part (target->piv, target_pin, clear, part->description, error);
      run_pin_pad_end (run, target_pad);
      if (copied == NULL)
        goto failed;
      vp = tke_vp_to_hex (copied->vp);
      g_string_append_printf (summary, "\n“%s”: VP %s", part->description, vp);
      tke_journal_entry_add_vp (run->entry, part->description, copied->vp);
    }
  if (source->info->admin_name != NULL)
    g_string_append_printf (summary,
                            "\nThe signature key of %s stays on its own card: a "
                            "signature key can't leave the card it was made on.",
                            source->info->admin_name);
  journal_card (run, "source", source->info);
  journal_card (run, "target", target->info);
  return g_string_free (summary, FALSE);

failed:
  g_string_free (summary, TRUE);
  return NULL;
}

/* Key files onto cards ---------------------------------------------------------------------- */

/* The file to copy: the "file" parameter, else one chosen among the files of the directory. */
static char *
run_choose_file (Run *run, GPtrArray *paths, GPtrArray *labels, const char *kind, GError **error)
{
  const char *given = param_string (run, "file");
  guint choice = 0;

  if (given != NULL)
    return g_strdup (given);
  if (paths->len == 0)
    {
      g_autofree char *dir = param_string (run, "files_dir") != NULL
                                 ? g_strdup (param_string (run, "files_dir"))
                                 : tke_files_dir_get_default ();

      g_set_error (error, TKE_ERROR, TKE_ERROR_NOT_FOUND,
                   "There are no %s files in %s: make one with tkectl, or put it there.", kind,
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
  const char *dir = param_string (run, "files_dir");

  return dir != NULL ? g_strdup (dir) : tke_files_dir_get_default ();
}

static TkeSecret *
run_file_password (Run *run, const char *path, GError **error)
{
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *purpose = g_strdup_printf ("Open the key file %s", base);
  TkePinRequest request = { TKE_PIN_KIND_PASSWORD, NULL, base, purpose, -1 };

  return tke_prompter_ask_pin (run->self->prompter, &request, run->cancellable, error);
}

static char *
run_copy_signature_key_file (Run *run, GError **error)
{
  static const char *const steps[] = { "Choose the signature key file", "Open it with its password",
                                       "Insert a TKE card into reader 2", "Enter the card's PIN",
                                       "Put the signature key on the card" };
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

  run_step (run, 0);
  if (param_string (run, "file") == NULL)
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
              labels, info->name != NULL
                          ? g_strdup_printf ("%s (SKI %.16s…) — %s", info->name, info->ski, base)
                          : g_strdup (base));
        }
    }
  path = run_choose_file (run, paths, labels, "Signature key file", error);
  if (path == NULL)
    return NULL;

  run_step (run, 1);
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
      refuse_early (error,
                    "The key of %s is a P-521 key, which a PIV card can't hold: it can sign "
                    "from its file only.",
                    tke_signer_get_name (signer));
      return NULL;
    }

  run_step (run, 2);
  card = run_acquire_card (run, TKE_READER_ROLE_2, "a TKE card without a signature key",
                           check_no_signature_key, NULL, error);
  if (card == NULL)
    return NULL;

  run_step (run, 3);
  purpose = g_strdup_printf ("Put the signature key of administrator %s on this card",
                             tke_signer_get_name (signer));
  if (!run_get_pin (run, card, TKE_PIN_KIND_PIN, purpose, &pin, &pin_pad, error))
    return NULL;

  run_step (run, 4);
  run_pin_pad_begin (run, card, pin_pad, purpose);
  if (!tke_card_profile_import_signature_key (card->piv, pin, key, tke_signer_get_name (signer),
                                              error))
    {
      run_pin_pad_end (run, pin_pad);
      return NULL;
    }
  run_pin_pad_end (run, pin_pad);

  journal_card (run, "card", card->info);
  tke_journal_entry_add_detail (run->entry, "file", path);
  tke_journal_entry_add_detail (run->entry, "administrator", tke_signer_get_name (signer));
  tke_journal_entry_add_detail (run->entry, "administrator_ski", tke_signer_get_ski (signer));
  return g_strdup_printf ("The signature key of administrator %s is on the card in %s.\nSKI %s",
                          tke_signer_get_name (signer), card->reader, tke_signer_get_ski (signer));
}

static char *
run_copy_key_part_file (Run *run, GError **error)
{
  static const char *const steps[] = { "Choose the key part file", "Open it with its password",
                                       "Insert a TKE card into reader 2", "Enter the card's PIN",
                                       "Put the key part on the card" };
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

  run_step (run, 0);
  if (param_string (run, "file") == NULL)
    {
      files = tke_key_part_file_list (dir, NULL, error);
      if (files == NULL)
        return NULL;
      for (guint i = 0; i < files->len; i++)
        {
          TkeKeyPartFileInfo *file = files->pdata[i];
          g_autofree char *file_vp = tke_vp_to_hex (file->vp);

          g_ptr_array_add (paths, file->path);
          g_ptr_array_add (labels, g_strdup_printf ("“%s”, VP %.32s…", file->description, file_vp));
        }
    }
  path = run_choose_file (run, paths, labels, "Key part file", error);
  if (path == NULL)
    return NULL;

  run_step (run, 1);
  password = run_file_password (run, path, error);
  if (password == NULL)
    return NULL;
  /* The file's VP is checked against the part as it is read. */
  part = tke_key_part_file_load (path, password, &info, error);
  g_clear_pointer (&password, tke_secret_free);
  if (part == NULL)
    return NULL;

  run_step (run, 2);
  card = run_acquire_card (run, TKE_READER_ROLE_2, "a TKE card for the key part", check_initialized,
                           NULL, error);
  if (card == NULL)
    return NULL;
  if (card->info->parts->len >= TKE_CARD_MAX_PARTS)
    {
      refuse_early (error,
                    "The card in %s holds %u key parts, as many as it can: use another card.",
                    card->reader, card->info->parts->len);
      return NULL;
    }

  run_step (run, 3);
  if (!run_get_pin (run, card, TKE_PIN_KIND_PIN, "Put a key part from a file on this card", &pin,
                    &pin_pad, error))
    return NULL;

  run_step (run, 4);
  run_pin_pad_begin (run, card, pin_pad, "Put a key part from a file on this card");
  stored = tke_card_profile_put_key_part (card->piv, pin, part, info->description, error);
  run_pin_pad_end (run, pin_pad);
  if (stored == NULL)
    return NULL;

  vp = tke_vp_format_two_lines (stored->vp);
  journal_card (run, "card", card->info);
  tke_journal_entry_add_detail (run->entry, "file", path);
  tke_journal_entry_add_detail (run->entry, "description", info->description);
  tke_journal_entry_add_vp (run->entry, "part", stored->vp);
  return g_strdup_printf ("Key part “%s” from %s is on the card in %s. Its verification "
                          "pattern:\n%s",
                          info->description, path, card->reader, vp);
}

/* Unit operations --------------------------------------------------------------------------- */

static TkeCeremonyResult *
run_add_administrator (Run *run, GError **error)
{
  static const char *const steps[] = { "Read the crypto units",
                                       "Insert the new administrator's card into reader 1",
                                       "Collect the administrators' signatures",
                                       "Send to the crypto units" };
  g_autoptr (Card) card = NULL;
  g_autoptr (GBytes) cert = NULL;
  g_autoptr (EVP_PKEY) key = NULL;
  g_autofree char *name = NULL;
  g_autofree char *ski = NULL;
  g_autofree char *cert_b64 = NULL;
  g_autofree char *purpose = NULL;
  g_autofree char *units = units_list (run);

  run->steps = steps;
  run->n_steps = G_N_ELEMENTS (steps);

  run_step (run, 1);
  card = run_acquire_card (run, TKE_READER_ROLE_1, "the card of the administrator to add",
                           check_new_administrator, NULL, error);
  if (card == NULL)
    return NULL;
  cert = tke_card_profile_read_certificate (card->piv, error);
  if (cert == NULL ||
      !tke_certificate_check_self_signed (g_bytes_get_data (cert, NULL), g_bytes_get_size (cert),
                                          &name, &key, error))
    return NULL;
  ski = tke_ec_key_get_ski (key, error);
  if (ski == NULL)
    return NULL;
  g_clear_pointer (&card, card_free);

  for (guint i = 0; i < run->states->len; i++)
    {
      TkeCeremonyUnit *unit = run->units->pdata[i];

      if (tke_ceremony_state_has_admin (run->states->pdata[i], ski))
        {
          refuse_early (error, "%s is an administrator of crypto unit %u already.", name,
                        unit->num);
          return NULL;
        }
      if (json_array_size (state_admins (run->states->pdata[i])) >= 8)
        {
          refuse_early (error,
                        "Crypto unit %u has 8 administrators, as many as it can have: "
                        "remove one first.",
                        unit->num);
          return NULL;
        }
    }

  cert_b64 = tke_b64url_encode (g_bytes_get_data (cert, NULL), g_bytes_get_size (cert));
  json_object_set_new (run->params, "ski", json_string (ski));
  tke_journal_entry_add_detail (run->entry, "administrator", name);
  tke_journal_entry_add_detail (run->entry, "administrator_ski", ski);
  purpose =
      g_strdup_printf ("Add administrator %s (SKI %.16s…) to crypto units %s", name, ski, units);
  return run_unit_command (run, json_pack ("{s:s, s:s}", "name", name, "certificate", cert_b64),
                           max_required (run, 0), purpose, 2, 3, error);
}

static TkeCeremonyResult *
run_remove_administrator (Run *run, GError **error)
{
  static const char *const steps[] = { "Read the crypto units", "Choose the administrator",
                                       "Collect the administrators' signatures",
                                       "Send to the crypto units" };
  json_t *admins = state_admins (run->states->pdata[0]);
  const char *ski = param_string (run, "ski");
  const char *name = NULL;
  g_autofree char *purpose = NULL;
  g_autofree char *units = units_list (run);
  g_autofree char *consequence = NULL;
  size_t i;
  json_t *admin;

  run->steps = steps;
  run->n_steps = G_N_ELEMENTS (steps);

  run_step (run, 1);
  if (json_array_size (admins) == 0)
    {
      refuse_early (error, "Crypto unit %u has no administrators.",
                    ((TkeCeremonyUnit *) run->units->pdata[0])->num);
      return NULL;
    }
  if (ski == NULL)
    {
      g_autoptr (GPtrArray) choices = g_ptr_array_new_with_free_func (g_free);
      guint choice = 0;

      json_array_foreach (admins, i, admin)
        g_ptr_array_add (choices,
                         g_strdup_printf ("%s (SKI %.16s…)",
                                          json_string_value (json_object_get (admin, "name")),
                                          json_string_value (json_object_get (admin, "ski"))));
      g_ptr_array_add (choices, NULL);
      if (!tke_prompter_choose (run->self->prompter, "Administrator to remove",
                                (const char *const *) choices->pdata, &choice, run->cancellable,
                                error))
        return NULL;
      ski = json_string_value (json_object_get (json_array_get (admins, choice), "ski"));
      json_object_set_new (run->params, "ski", json_string (ski));
    }
  json_array_foreach (admins, i, admin)
    if (g_strcmp0 (json_string_value (json_object_get (admin, "ski")), ski) == 0)
      name = json_string_value (json_object_get (admin, "name"));
  if (name == NULL)
    {
      refuse_early (error, "No administrator of the selected units has the SKI %s.", ski);
      return NULL;
    }

  for (guint u = 0; u < run->states->len; u++)
    {
      json_t *state = run->states->pdata[u];
      guint left = json_array_size (state_admins (state)) - 1;
      guint thr = MAX (state_threshold (state, "signature"), state_threshold (state, "revocation"));

      if (!tke_ceremony_state_has_admin (state, ski))
        {
          refuse_early (error, "%s is not an administrator of crypto unit %u.", name,
                        ((TkeCeremonyUnit *) run->units->pdata[u])->num);
          return NULL;
        }
      if (left < thr)
        {
          refuse_early (error,
                        "Crypto unit %u would keep %u administrators, fewer than its "
                        "threshold of %u: lower the thresholds first.",
                        ((TkeCeremonyUnit *) run->units->pdata[u])->num, left, thr);
          return NULL;
        }
    }

  consequence =
      g_strdup_printf ("%s can no longer sign commands for crypto units %s.", name, units);
  if (!tke_prompter_confirm (run->self->prompter, "Remove the administrator?", consequence,
                             run->cancellable, error))
    return NULL;

  tke_journal_entry_add_detail (run->entry, "administrator", name);
  tke_journal_entry_add_detail (run->entry, "administrator_ski", ski);
  purpose = g_strdup_printf ("Remove administrator %s from crypto units %s", name, units);
  return run_unit_command (run, json_pack ("{s:s}", "ski", ski), max_required (run, 0), purpose, 2,
                           3, error);
}

static TkeCeremonyResult *
run_change_thresholds (Run *run, GError **error)
{
  static const char *const steps[] = { "Read the crypto units", "Choose the thresholds",
                                       "Collect the administrators' signatures",
                                       "Send to the crypto units" };
  guint signature = 0, revocation = 0, fewest = 0, fewest_unit = 0;
  g_autofree char *purpose = NULL;
  g_autofree char *units = units_list (run);

  run->steps = steps;
  run->n_steps = G_N_ELEMENTS (steps);

  /* A threshold no unit can meet is never offered: 1 to the fewest administrators of a unit. */
  for (guint u = 0; u < run->states->len; u++)
    {
      guint admins = json_array_size (state_admins (run->states->pdata[u]));

      if (u == 0 || admins < fewest)
        {
          fewest = admins;
          fewest_unit = ((TkeCeremonyUnit *) run->units->pdata[u])->num;
        }
    }
  if (fewest == 0)
    {
      refuse_early (error,
                    "Crypto unit %u has 0 administrators: add the administrators before their "
                    "thresholds.",
                    fewest_unit);
      return NULL;
    }

  run_step (run, 1);
  if (!run_number (run, "signature", "Signature threshold",
                   "How many administrators sign each command to the crypto units.", 1, fewest,
                   &signature, error) ||
      !run_number (run, "revocation", "Revocation signature threshold",
                   "How many administrators sign the removal of an administrator.", 1, fewest,
                   &revocation, error))
    return NULL;

  json_object_set_new (run->params, "signature", json_integer (signature));
  json_object_set_new (run->params, "revocation", json_integer (revocation));
  purpose = g_strdup_printf ("Set the signature threshold to %u and the revocation signature "
                             "threshold to %u on crypto units %s",
                             signature, revocation, units);
  {
    g_autofree char *thresholds = g_strdup_printf ("%u/%u", signature, revocation);

    tke_journal_entry_add_detail (run->entry, "thresholds", thresholds);
  }
  return run_unit_command (
      run, json_pack ("{s:i, s:i}", "signature", (int) signature, "revocation", (int) revocation),
      max_required (run, signature), purpose, 2, 3, error);
}

static gboolean
require_normal_mode (Run *run, GError **error)
{
  for (guint u = 0; u < run->states->len; u++)
    if (state_is_imprint (run->states->pdata[u]))
      return refuse_early (error,
                           "Crypto unit %u is in imprint mode: set its signature "
                           "thresholds first.",
                           ((TkeCeremonyUnit *) run->units->pdata[u])->num);
  return TRUE;
}

static gboolean
require_register (Run *run, const char *reg, const char *state, const char *advice, GError **error)
{
  for (guint u = 0; u < run->states->len; u++)
    {
      const char *now = state_register (run->states->pdata[u], reg, "state");

      if (g_strcmp0 (now, state) != 0)
        return refuse_early (error,
                             "The %s master key register of crypto unit %u is %s, not "
                             "%s: %s",
                             reg, ((TkeCeremonyUnit *) run->units->pdata[u])->num, now, state,
                             advice);
    }
  return TRUE;
}

/* What set immediate does, said for what the units hold: with an empty current register
 * nothing is replaced; with a current key, the keys stored under it stop decrypting. */
static char *
set_immediate_consequence (Run *run, const char *vp_hex, const char *units, guint stored)
{
  const char *current_vp = NULL;
  guint n_current = 0;

  for (guint u = 0; u < run->states->len; u++)
    if (g_strcmp0 (state_register (run->states->pdata[u], "current", "state"), "Valid") == 0)
      {
        n_current++;
        current_vp = state_register (run->states->pdata[u], "current", "vp");
      }
  if (n_current == 0)
    return g_strdup_printf ("The new master key with VP %s becomes the current one on crypto "
                            "units %s. Their current master key registers are empty: nothing is "
                            "replaced, and no stored key is affected.",
                            vp_hex, units);
  if (stored == 0)
    return g_strdup_printf ("The new master key with VP %s replaces the current master key "
                            "(VP %s) on crypto units %s. No keys are stored under the current "
                            "master key, so none becomes unusable.",
                            vp_hex, current_vp != NULL ? current_vp : "?", units);
  return g_strdup_printf ("The new master key with VP %s replaces the current master key (VP %s) "
                          "on crypto units %s. The %u %s stored under the current master key %s "
                          "not re-encrypted: %s decrypting. Rotate instead to keep %s.",
                          vp_hex, current_vp != NULL ? current_vp : "?", units, stored,
                          stored == 1 ? "key" : "keys", stored == 1 ? "is" : "are",
                          stored == 1 ? "it stops" : "they stop", stored == 1 ? "it" : "them");
}

/* The VP of a register, the same on every unit, or an error naming where they differ. */
static gboolean
common_vp (Run *run, const char *reg, guint8 vp[TKE_VP_LEN], GError **error)
{
  const char *first = state_register (run->states->pdata[0], reg, "vp");

  for (guint u = 1; u < run->states->len; u++)
    if (g_strcmp0 (state_register (run->states->pdata[u], reg, "vp"), first) != 0)
      return refuse_early (error,
                           "The %s master key registers of crypto units %u and %u hold "
                           "different keys: clear them and load them again.",
                           reg, ((TkeCeremonyUnit *) run->units->pdata[0])->num,
                           ((TkeCeremonyUnit *) run->units->pdata[u])->num);
  return tke_vp_from_hex (first, vp, error);
}

typedef struct
{
  GHashTable *used_cards;
} PartCardCheck;

static gboolean
check_part_card (Run *run, Card *card, gpointer data, char **why, GError **error)
{
  PartCardCheck *check = data;
  g_autofree char *identity = card_identity (card->info);

  if (!check_initialized (run, card, data, why, error))
    return FALSE;
  if (g_hash_table_contains (check->used_cards, identity))
    {
      *why = g_strdup ("The card in reader 2 gave a key part already: each key part comes from "
                       "its own custodian's card.");
      return FALSE;
    }
  if (card->info->parts->len == 0)
    {
      *why = g_strdup ("The card in reader 2 holds no key parts.");
      return FALSE;
    }
  return TRUE;
}

static TkeCeremonyResult *
run_load (Run *run, GError **error)
{
  static const char *const steps[] = { "Read the crypto units",
                                       "Read the key parts from their cards",
                                       "Sign with an administrator's card",
                                       "Send to the crypto units" };
  g_autoptr (GHashTable) used_cards = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GPtrArray) importers = g_ptr_array_new_with_free_func ((GDestroyNotify) json_decref);
  PartCardCheck card_check = { used_cards };
  g_autoptr (TkeSecret) key = NULL;
  json_t *parts_args;
  guint8 key_vp[TKE_VP_LEN];
  g_autofree char *key_vp_hex = NULL;
  g_autofree char *purpose = NULL;
  g_autofree char *units = units_list (run);
  guint n_parts = 0;

  run->steps = steps;
  run->n_steps = G_N_ELEMENTS (steps);

  if (!require_normal_mode (run, error) ||
      !require_register (run, "new", "Empty", "clear it before loading another key.", error))
    return NULL;

  /* Each unit's importer key, checked against its identity key before a part goes to it. */
  for (guint u = 0; u < run->units->len; u++)
    {
      TkeCeremonyUnit *unit = run->units->pdata[u];
      json_t *importer =
          tke_importer_key_check (json_object_get (run->states->pdata[u], "importer_key"),
                                  unit->identity_jwk, unit->id, error);

      if (importer == NULL)
        return NULL;
      g_ptr_array_add (importers, importer);
    }

  run_step (run, 1);
  if (!run_number (
          run, "parts", "Number of key parts",
          "The new master key is the XOR of this many key parts, each on a card of its own.", 2, 3,
          &n_parts, error))
    return NULL;
  json_object_set_new (run->params, "parts", json_integer (n_parts));

  key = tke_secret_new (TKE_KEY_PART_LEN, error);
  if (key == NULL)
    return NULL;
  parts_args = json_array ();
  for (guint p = 0; p < n_parts; p++)
    {
      g_autofree char *wanted = g_strdup_printf ("the card with key part %u of %u", p + 1, n_parts);
      g_autoptr (Card) card = NULL;
      g_autoptr (TkeSecret) pin = NULL;
      g_autoptr (TkeSecret) part = NULL;
      g_autoptr (GPtrArray) choices = g_ptr_array_new_with_free_func (g_free);
      g_autofree char *title = NULL;
      g_autofree char *vp_hex = NULL;
      g_autofree char *pin_purpose = NULL;
      TkeKeyPartInfo *info;
      json_t *jwes;
      gboolean pin_pad = FALSE;
      guint choice = 0;

      card = run_acquire_card (run, TKE_READER_ROLE_2, wanted, check_part_card, &card_check, error);
      if (card == NULL)
        goto failed;

      for (guint i = 0; i < card->info->parts->len; i++)
        {
          g_autofree char *vp =
              tke_vp_to_hex (((TkeKeyPartInfo *) card->info->parts->pdata[i])->vp);

          g_ptr_array_add (
              choices,
              g_strdup_printf ("“%s”, VP %.32s…",
                               ((TkeKeyPartInfo *) card->info->parts->pdata[i])->description, vp));
        }
      g_ptr_array_add (choices, NULL);
      title = g_strdup_printf ("Key part %u of %u", p + 1, n_parts);
      if (card->info->parts->len == 1)
        choice = 0;
      else if (!tke_prompter_choose (run->self->prompter, title,
                                     (const char *const *) choices->pdata, &choice,
                                     run->cancellable, error))
        goto failed;
      info = card->info->parts->pdata[choice];

      pin_purpose = g_strdup_printf ("Read key part “%s” to load it into crypto units %s",
                                     info->description, units);
      if (!run_get_pin (run, card, TKE_PIN_KIND_PIN, pin_purpose, &pin, &pin_pad, error))
        goto failed;
      run_pin_pad_begin (run, card, pin_pad, pin_purpose);
      part = tke_card_profile_take_key_part (card->piv, pin, info->id, NULL, error);
      run_pin_pad_end (run, pin_pad);
      if (part == NULL)
        goto failed;

      vp_hex = tke_vp_to_hex (info->vp);
      for (guint i = 0; i < json_array_size (parts_args); i++)
        if (g_strcmp0 (json_string_value (json_object_get (json_array_get (parts_args, i), "vp")),
                       vp_hex) == 0)
          {
            refuse_early (error,
                          "Key part %u is the same part as key part %u: a master key "
                          "needs distinct parts.",
                          p + 1, i + 1);
            goto failed;
          }

      jwes = json_object ();
      for (guint u = 0; u < run->units->len; u++)
        {
          json_t *jwe = tke_key_part_encrypt (importers->pdata[u], part, error);

          if (jwe == NULL)
            {
              json_decref (jwes);
              goto failed;
            }
          json_object_set_new (jwes, ((TkeCeremonyUnit *) run->units->pdata[u])->id, jwe);
        }
      json_array_append_new (parts_args, json_pack ("{s:s, s:o}", "vp", vp_hex, "jwe", jwes));
      for (guint i = 0; i < TKE_KEY_PART_LEN; i++)
        tke_secret_data (key)[i] ^= tke_secret_peek (part)[i];

      g_hash_table_add (used_cards, card_identity (card->info));
      tke_journal_entry_add_vp (run->entry, info->description, info->vp);
    }

  tke_vp_compute (tke_secret_peek (key), tke_secret_len (key), key_vp);
  g_clear_pointer (&key, tke_secret_free);
  key_vp_hex = tke_vp_to_hex (key_vp);
  tke_journal_entry_add_vp (run->entry, "new", key_vp);
  json_object_set_new (run->params, "vp", json_string (key_vp_hex));

  purpose = g_strdup_printf ("Load the new master key with VP %s into crypto units %s", key_vp_hex,
                             units);
  return run_unit_command (run, json_pack ("{s:o, s:s}", "parts", parts_args, "vp", key_vp_hex),
                           max_required (run, 0), purpose, 2, 3, error);

failed:
  json_decref (parts_args);
  return NULL;
}

/* Commit, set immediate, rotate, clear new, clear current, zeroize: no parameters but the VP. */
static TkeCeremonyResult *
run_register_op (Run *run, GError **error)
{
  static const char *const steps[] = { "Read the crypto units", "Check the registers",
                                       "Collect the administrators' signatures",
                                       "Send to the crypto units" };
  g_autofree char *units = units_list (run);
  g_autofree char *purpose = NULL;
  g_autofree char *vp_hex = NULL;
  g_autofree char *consequence = NULL;
  json_t *args = json_object ();
  guint8 vp[TKE_VP_LEN];
  guint stored = 0;

  run->steps = steps;
  run->n_steps = G_N_ELEMENTS (steps);
  run_step (run, 1);

  for (guint u = 0; u < run->states->len; u++)
    stored += json_integer_value (
        json_object_get (json_object_get (run->states->pdata[u], "key_storage"), "count"));

  switch (run->op)
    {
      case TKE_CEREMONY_COMMIT:
        if (!require_normal_mode (run, error) ||
            !require_register (run, "new", "Full Uncommitted", "load a new master key first.",
                               error) ||
            !common_vp (run, "new", vp, error))
          goto failed;
        vp_hex = tke_vp_to_hex (vp);
        purpose = g_strdup_printf ("Commit the new master key with VP %s on crypto units %s",
                                   vp_hex, units);
        break;

      case TKE_CEREMONY_SET_IMMEDIATE:
        if (!require_normal_mode (run, error) ||
            !require_register (run, "new", "Full Committed", "commit the new master key first.",
                               error) ||
            !common_vp (run, "new", vp, error))
          goto failed;
        vp_hex = tke_vp_to_hex (vp);
        consequence = set_immediate_consequence (run, vp_hex, units, stored);
        if (!tke_prompter_confirm (run->self->prompter, "Set the new master key immediate?",
                                   consequence, run->cancellable, error))
          goto failed;
        purpose = g_strdup_printf ("Set the master key with VP %s immediate on crypto units %s",
                                   vp_hex, units);
        break;

      case TKE_CEREMONY_ROTATE:
        if (!require_normal_mode (run, error) ||
            !require_register (run, "new", "Full Committed", "commit the new master key first.",
                               error) ||
            !require_register (run, "current", "Valid",
                               "there is no current key to rotate from; "
                               "set the new one immediate instead.",
                               error) ||
            !common_vp (run, "new", vp, error))
          goto failed;
        vp_hex = tke_vp_to_hex (vp);
        purpose = g_strdup_printf ("Rotate to the master key with VP %s on crypto units %s "
                                   "(%u stored keys are re-encrypted)",
                                   vp_hex, units, stored);
        break;

      case TKE_CEREMONY_CLEAR_NEW:
      case TKE_CEREMONY_CLEAR_CURRENT:
        {
          const char *reg = run->op == TKE_CEREMONY_CLEAR_NEW ? "new" : "current";

          if (!require_normal_mode (run, error))
            goto failed;
          consequence =
              run->op == TKE_CEREMONY_CLEAR_NEW
                  ? g_strdup_printf ("The new master key register of crypto units %s is "
                                     "emptied; the key in it is gone.",
                                     units)
                  : g_strdup_printf ("The current master key of crypto units %s is "
                                     "erased: the %u keys stored under it become unusable.",
                                     units, stored);
          if (!tke_prompter_confirm (run->self->prompter,
                                     run->op == TKE_CEREMONY_CLEAR_NEW
                                         ? "Clear the new master key?"
                                         : "Clear the current master key?",
                                     consequence, run->cancellable, error))
            goto failed;
          purpose =
              g_strdup_printf ("Clear the %s master key register of crypto units %s", reg, units);
          break;
        }

      case TKE_CEREMONY_ZEROIZE:
        consequence = g_strdup_printf ("Crypto units %s go back to imprint mode: their "
                                       "administrators, thresholds, both master key registers and "
                                       "%u stored keys are erased.",
                                       units, stored);
        if (!tke_prompter_confirm (run->self->prompter, "Zeroize the crypto units?", consequence,
                                   run->cancellable, error))
          goto failed;
        purpose = g_strdup_printf ("Zeroize crypto units %s", units);
        break;

      default:
        g_assert_not_reached ();
    }

  if (vp_hex != NULL)
    {
      json_object_set_new (args, "vp", json_string (vp_hex));
      tke_journal_entry_add_vp (run->entry, "new", vp);
    }
  return run_unit_command (run, args, max_required (run, 0), purpose, 2, 3, error);

failed:
  json_decref (args);
  return NULL;
}

/* Running ----------------------------------------------------------------------------------- */

static gboolean
select_units (Run *run, GError **error)
{
  json_t *nums = json_object_get (run->params, "units");

  run->units = g_ptr_array_new ();
  for (guint i = 0; i < run->self->units->len; i++)
    {
      TkeCeremonyUnit *unit = run->self->units->pdata[i];
      gboolean wanted = nums == NULL;
      size_t j;
      json_t *num;

      json_array_foreach (nums, j, num)
        wanted = wanted || (guint) json_integer_value (num) == unit->num;
      if (wanted)
        g_ptr_array_add (run->units, unit);
    }

  if (run->units->len == 0)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                   "No crypto units are selected: add crypto units on the Crypto units tab first.");
      return FALSE;
    }
  /* Nothing is signed or encrypted for a unit whose identity is not the pinned one. */
  for (guint i = 0; i < run->units->len; i++)
    {
      TkeCeremonyUnit *unit = run->units->pdata[i];

      if (unit->identity_error != NULL)
        {
          g_set_error (error, TKE_ERROR, TKE_ERROR_UNIT_IDENTITY, "%s", unit->identity_error);
          return FALSE;
        }
      if (unit->identity_jwk == NULL)
        {
          g_set_error (error, TKE_ERROR, TKE_ERROR_UNIT_IDENTITY,
                       "Crypto unit %u (%s) has no pinned identity key: list the units again to "
                       "pin it before anything is sent to it.",
                       unit->num, unit->id);
          return FALSE;
        }
    }
  return TRUE;
}

static void
run_clear (Run *run)
{
  g_clear_pointer (&run->params, json_decref);
  g_clear_pointer (&run->clients, g_hash_table_unref);
  g_clear_pointer (&run->units, g_ptr_array_unref);
  g_clear_pointer (&run->states, g_ptr_array_unref);
  g_clear_pointer (&run->entry, tke_journal_entry_free);
}

TkeCeremonyResult *
tke_ceremony_run (TkeCeremony *self, TkeCeremonyOp op, json_t *params, GCancellable *cancellable,
                  GError **error)
{
  g_autoptr (GMainContext) context = g_main_context_new ();
  g_autoptr (GError) local_error = NULL;
  TkeCeremonyResult *result = NULL;
  Run run = { 0 };

  g_return_val_if_fail (TKE_IS_CEREMONY (self), NULL);
  g_return_val_if_fail (params == NULL || json_is_object (params), NULL);

  run.self = self;
  run.op = op;
  run.params = params != NULL ? json_deep_copy (params) : json_object ();
  run.cancellable = cancellable;
  run.context = context;
  run.clients = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  run.entry = tke_journal_entry_new (tke_ceremony_op_to_string (op));

  g_main_context_push_thread_default (context);

  if (tke_ceremony_op_uses_units (op))
    {
      if (select_units (&run, &local_error))
        {
          static const char *const reading[] = { "Read the crypto units" };

          run.steps = reading;
          run.n_steps = 1;
          run_step (&run, 0);
          run.states = run_read_states (&run, &local_error);
        }

      if (run.states != NULL)
        switch (op)
          {
            case TKE_CEREMONY_ADD_ADMINISTRATOR:
              result = run_add_administrator (&run, &local_error);
              break;
            case TKE_CEREMONY_REMOVE_ADMINISTRATOR:
              result = run_remove_administrator (&run, &local_error);
              break;
            case TKE_CEREMONY_CHANGE_THRESHOLDS:
              result = run_change_thresholds (&run, &local_error);
              break;
            case TKE_CEREMONY_LOAD:
              result = run_load (&run, &local_error);
              break;
            default:
              result = run_register_op (&run, &local_error);
              break;
          }
    }
  else
    {
      g_autofree char *summary = NULL;

      switch (op)
        {
          case TKE_CEREMONY_INITIALIZE_CARD:
            summary = run_initialize_card (&run, &local_error);
            break;
          case TKE_CEREMONY_GENERATE_SIGNATURE_KEY:
            summary = run_generate_signature_key (&run, &local_error);
            break;
          case TKE_CEREMONY_GENERATE_KEY_PART:
            summary = run_generate_key_part (&run, &local_error);
            break;
          case TKE_CEREMONY_COPY_SMART_CARD:
            summary = run_copy_smart_card (&run, &local_error);
            break;
          case TKE_CEREMONY_COPY_SIGNATURE_KEY_FILE:
            summary = run_copy_signature_key_file (&run, &local_error);
            break;
          case TKE_CEREMONY_COPY_KEY_PART_FILE:
            summary = run_copy_key_part_file (&run, &local_error);
            break;
          default:
            g_assert_not_reached ();
        }
      if (summary != NULL)
        {
          result = g_new0 (TkeCeremonyResult, 1);
          result->op = op;
          result->summary = g_steal_pointer (&summary);
          result->outcomes =
              g_ptr_array_new_with_free_func ((GDestroyNotify) tke_unit_outcome_free);
          result->differences = g_ptr_array_new_with_free_func (g_free);
          result->params = json_deep_copy (run.params);
        }
    }

  g_main_context_pop_thread_default (context);

  if (result != NULL && result->summary == NULL)
    {
      guint failed = tke_ceremony_result_get_n_failed (result);

      result->summary =
          failed == 0
              ? g_strdup_printf ("All %u crypto units accepted the command.", result->outcomes->len)
              : g_strdup_printf ("%u of %u crypto units did not accept the command: retry them.",
                                 failed, result->outcomes->len);
    }

  /* The journal keeps what was done, and what was refused or failed before anything was sent. */
  if (result == NULL)
    tke_journal_entry_add_detail (run.entry, "error", local_error->message);
  if (self->journal != NULL)
    {
      g_autoptr (GError) journal_error = NULL;

      if (!tke_journal_append (self->journal, run.entry, &journal_error))
        {
          /* An operation that can't be journalled is reported, never hidden. */
          if (result != NULL)
            {
              char *summary = g_strdup_printf ("%s\nThe ceremony journal could not be written: "
                                               "%s",
                                               result->summary, journal_error->message);
              g_free (result->summary);
              result->summary = summary;
            }
        }
    }

  run_clear (&run);

  if (result == NULL)
    g_propagate_error (error, g_steal_pointer (&local_error));
  return result;
}

TkeCeremonyResult *
tke_ceremony_retry_failed (TkeCeremony *self, const TkeCeremonyResult *previous,
                           GCancellable *cancellable, GError **error)
{
  json_auto_t *params = NULL;
  json_t *units;

  g_return_val_if_fail (TKE_IS_CEREMONY (self), NULL);
  g_return_val_if_fail (previous != NULL, NULL);

  if (tke_ceremony_result_get_n_failed (previous) == 0)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                   "Every crypto unit accepted the command: there is nothing to retry.");
      return NULL;
    }

  params = json_deep_copy (previous->params);
  units = json_array ();
  for (guint i = 0; i < previous->outcomes->len; i++)
    {
      TkeUnitOutcome *outcome = previous->outcomes->pdata[i];

      if (!outcome->accepted)
        json_array_append_new (units, json_integer (outcome->num));
    }
  json_object_set_new (params, "units", units);
  /* A load asks for its parts again: they are not kept between runs. */
  json_object_del (params, "vp");
  return tke_ceremony_run (self, previous->op, params, cancellable, error);
}

/* The object -------------------------------------------------------------------------------- */

static void
tke_ceremony_finalize (GObject *object)
{
  TkeCeremony *self = TKE_CEREMONY (object);

  g_clear_object (&self->readers);
  g_clear_object (&self->prompter);
  g_clear_object (&self->journal);
  g_free (self->reader_names[0]);
  g_free (self->reader_names[1]);
  g_ptr_array_unref (self->units);
  g_ptr_array_unref (self->signers);

  G_OBJECT_CLASS (tke_ceremony_parent_class)->finalize (object);
}

static void
tke_ceremony_class_init (TkeCeremonyClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tke_ceremony_finalize;
}

static void
tke_ceremony_init (TkeCeremony *self)
{
  self->units = g_ptr_array_new_with_free_func ((GDestroyNotify) tke_ceremony_unit_free);
  self->signers = g_ptr_array_new_with_free_func (g_object_unref);
}

TkeCeremony *
tke_ceremony_new (TkeReaderManager *readers, TkePrompter *prompter, TkeJournal *journal)
{
  TkeCeremony *self;

  g_return_val_if_fail (TKE_IS_READER_MANAGER (readers), NULL);
  g_return_val_if_fail (TKE_IS_PROMPTER (prompter), NULL);
  g_return_val_if_fail (journal == NULL || TKE_IS_JOURNAL (journal), NULL);

  self = g_object_new (TKE_TYPE_CEREMONY, NULL);
  self->readers = g_object_ref (readers);
  self->prompter = g_object_ref (prompter);
  self->journal = journal ? g_object_ref (journal) : NULL;
  return self;
}

void
tke_ceremony_set_reader_names (TkeCeremony *self, const char *reader1, const char *reader2)
{
  g_return_if_fail (TKE_IS_CEREMONY (self));

  g_free (self->reader_names[0]);
  g_free (self->reader_names[1]);
  self->reader_names[0] = reader1 != NULL && *reader1 ? g_strdup (reader1) : NULL;
  self->reader_names[1] = reader2 != NULL && *reader2 ? g_strdup (reader2) : NULL;
}

void
tke_ceremony_set_signers (TkeCeremony *self, GPtrArray *signers)
{
  g_return_if_fail (TKE_IS_CEREMONY (self));
  g_return_if_fail (signers != NULL);

  g_ptr_array_set_size (self->signers, 0);
  for (guint i = 0; i < signers->len; i++)
    g_ptr_array_add (self->signers, g_object_ref (signers->pdata[i]));
}

void
tke_ceremony_set_units (TkeCeremony *self, GPtrArray *units)
{
  g_return_if_fail (TKE_IS_CEREMONY (self));
  g_return_if_fail (units != NULL);

  g_ptr_array_set_size (self->units, 0);
  for (guint i = 0; i < units->len; i++)
    g_ptr_array_add (self->units, tke_ceremony_unit_copy (units->pdata[i]));
}
