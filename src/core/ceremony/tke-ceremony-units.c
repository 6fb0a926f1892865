/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The unit set of the ceremony engine: the units' states read before a command, the command
 * sent to every unit at once, the receipts verified, the units read back and compared. */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "tke-ceremony-private.h"

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
GPtrArray *
tke_run_read_states (Run *run, GError **error)
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
        first_error = g_error_new (local_error->domain, local_error->code,
                                   _ ("Crypto unit %u could not be read: %s"), unit->num,
                                   local_error->message);
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

gboolean
tke_run_state_is_imprint (json_t *state)
{
  return g_strcmp0 (json_string_value (json_object_get (state, "mode")), "imprint") == 0;
}

guint
tke_run_state_threshold (json_t *state, const char *which)
{
  return (guint) json_integer_value (
      json_object_get (json_object_get (state, "thresholds"), which));
}

json_t *
tke_run_state_admins (json_t *state)
{
  return json_object_get (state, "admins");
}

const char *
tke_run_state_register (json_t *state, const char *reg, const char *field)
{
  return json_string_value (
      json_object_get (json_object_get (json_object_get (state, "registers"), reg), field));
}

gboolean
tke_ceremony_state_has_admin (json_t *state, const char *ski)
{
  size_t i;
  json_t *admin;

  json_array_foreach (tke_run_state_admins (state), i, admin)
    if (g_strcmp0 (json_string_value (json_object_get (admin, "ski")), ski) == 0)
      return TRUE;
  return FALSE;
}

guint
tke_ceremony_required_signatures (TkeCeremonyOp op, json_t *state, guint new_signature_threshold)
{
  gboolean imprint = tke_run_state_is_imprint (state);

  switch (op)
    {
      case TKE_CEREMONY_ADD_ADMINISTRATOR:
        return imprint ? 0 : tke_run_state_threshold (state, "signature");
      case TKE_CEREMONY_REMOVE_ADMINISTRATOR:
        return imprint ? 0 : tke_run_state_threshold (state, "revocation");
      case TKE_CEREMONY_CHANGE_THRESHOLDS:
        return imprint ? new_signature_threshold : tke_run_state_threshold (state, "signature");
      case TKE_CEREMONY_COMMIT:
      case TKE_CEREMONY_ROTATE:
        return tke_run_state_threshold (state, "signature");
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

char *
tke_run_units_list (Run *run)
{
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < run->units->len; i++)
    g_string_append_printf (out, "%s%u", i ? ", " : "",
                            ((TkeCeremonyUnit *) run->units->pdata[i])->num);
  return g_string_free (out, FALSE);
}

/* A refusal before anything is written or sent that no unit would give: bad input (two parts
 * that are one, a card that is full). */
gboolean
tke_run_refuse_early (GError **error, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  g_propagate_error (error,
                     g_error_new_valist (TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT, format, args));
  va_end (args);
  return FALSE;
}

gboolean
tke_run_refuse (GError **error, TkeUnitErrorCode code, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  g_propagate_error (error, g_error_new_valist (TKE_UNIT_ERROR, code, format, args));
  va_end (args);
  return FALSE;
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

  json_array_foreach (tke_run_state_admins (state), i, admin)
    g_string_append_printf (out, "%s%s", i ? ", " : "",
                            json_string_value (json_object_get (admin, "name")));
  if (out->len == 0)
    /* TRANSLATORS: a crypto unit's list of administrators when it has none. */
    g_string_append (out, _ ("none"));
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
          g_ptr_array_add (
              differences,
              g_strdup_printf (_ ("Crypto unit %u could not be read back: what it holds "
                                  "now is unknown."),
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
            /* TRANSLATORS: per unit: its number, its mode as the units name it (imprint or normal), its two thresholds. */
            g_strdup_printf (_ ("Crypto unit %u is in %s mode with thresholds %u/%u; "
                                "crypto unit %u is in %s mode with thresholds %u/%u."),
                             outcome->num, json_string_value (json_object_get (b, "mode")),
                             tke_run_state_threshold (b, "signature"),
                             tke_run_state_threshold (b, "revocation"), reference->num,
                             json_string_value (json_object_get (a, "mode")),
                             tke_run_state_threshold (a, "signature"),
                             tke_run_state_threshold (a, "revocation")));
      {
        g_autofree char *admins_a = admins_summary (a);
        g_autofree char *admins_b = admins_summary (b);
        gboolean same = json_array_size (tke_run_state_admins (a)) ==
                        json_array_size (tke_run_state_admins (b));
        size_t j;
        json_t *admin;

        json_array_foreach (tke_run_state_admins (a), j, admin)
          same = same && tke_ceremony_state_has_admin (
                             b, json_string_value (json_object_get (admin, "ski")));
        if (!same)
          g_ptr_array_add (
              differences,
              /* TRANSLATORS: a unit number and its administrators' names, then another unit's number and names. */
              g_strdup_printf (_ ("Crypto unit %u has the administrators %s; crypto "
                                  "unit %u has %s."),
                               outcome->num, admins_b, reference->num, admins_a));
      }
      for (guint r = 0; r < 2; r++)
        {
          const char *reg = r == 0 ? "new" : "current";

          if (g_strcmp0 (tke_run_state_register (a, reg, "state"),
                         tke_run_state_register (b, reg, "state")) == 0 &&
              g_strcmp0 (tke_run_state_register (a, reg, "vp"),
                         tke_run_state_register (b, reg, "vp")) == 0)
            continue;
          g_ptr_array_add (
              differences,
              g_strdup_printf (
                  /* TRANSLATORS: unit numbers, register states as the units name them (Empty,
                   * Full Uncommitted, Full Committed, Valid), and the first 16 digits of VPs. */
                  r == 0 ? _ ("The new master key register of crypto unit %u is %s with VP "
                              "%.16s…; that of crypto unit %u is %s with VP %.16s….")
                         : _ ("The current master key register of crypto unit %u is %s with VP "
                              "%.16s…; that of crypto unit %u is %s with VP %.16s…."),
                  outcome->num, tke_run_state_register (b, reg, "state"),
                  tke_run_state_register (b, reg, "vp"), reference->num,
                  tke_run_state_register (a, reg, "state"), tke_run_state_register (a, reg, "vp")));
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
    /* TRANSLATORS: %s is what went wrong with the unit, a sentence without its full stop. */
    message = g_strdup_printf (_ ("%s. Its state could not be read afterwards either: whether the "
                                  "command was applied is not known; read the unit again before "
                                  "retrying."),
                               outcome->message);
  else if (json_integer_value (counter) == sent)
    /* TRANSLATORS: what went wrong, a sentence without its full stop, and a counter. */
    message = g_strdup_printf (_ ("%s. Its counter is still %lld: the command was not applied."),
                               outcome->message, (long long) sent);
  else
    /* TRANSLATORS: what went wrong, a sentence without its full stop, and two counters. */
    message = g_strdup_printf (_ ("%s. Its counter moved from %lld to %lld: a command was applied, "
                                  "but its receipt was lost, so this one is not counted as "
                                  "accepted; compare the unit's state and audit log."),
                               outcome->message, (long long) sent,
                               (long long) json_integer_value (counter));
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
              outcome->message =
                  g_strdup_printf (_ ("The unit answered, but its receipt does not verify: %s"),
                                   receipt_error->message);
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
TkeCeremonyResult *
tke_run_unit_command (Run *run, json_t *args, guint required, const char *purpose, GError **error)
{
  g_autoptr (TkeCommand) cmd = tke_command_new (tke_ceremony_op_wire_name (run->op));

  for (guint i = 0; i < run->units->len; i++)
    {
      TkeCeremonyUnit *unit = run->units->pdata[i];

      tke_command_add_target (
          cmd, unit->id, json_integer_value (json_object_get (run->states->pdata[i], "counter")));
    }
  tke_command_take_args (cmd, args);

  if (!tke_run_collect_signatures (run, cmd, required, purpose, UNIT_STEP_SIGN, error))
    return NULL;
  if (!tke_run_check_cancelled (run, error))
    return NULL;

  tke_run_step (run, UNIT_STEP_SEND);
  return run_send (run, cmd);
}

guint
tke_run_max_required (Run *run, guint new_signature_threshold)
{
  guint required = 0;

  for (guint i = 0; i < run->states->len; i++)
    required = MAX (required, tke_ceremony_required_signatures (run->op, run->states->pdata[i],
                                                                new_signature_threshold));
  return required;
}
