/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The ceremony engine. One run is one operation: it reads the selected units, checks what would
 * make a unit refuse, asks the operator for cards, PINs and choices, collects the quorum of
 * administrator signatures, sends the command to every unit at once, reads them back, compares
 * them, and journals the whole. Nothing is sent before the last question is answered, so a
 * cancel or an error up to then leaves units as they were; card writes are single profile steps
 * that the profile makes safe against a pulled card. */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "tke-ceremony-private.h"

G_DEFINE_FINAL_TYPE (TkeCeremony, tke_ceremony, G_TYPE_OBJECT)

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
  { TKE_CEREMONY_CHANGE_PIN, "change-pin", NULL },
  { TKE_CEREMONY_UNBLOCK_PIN, "unblock-pin", NULL },
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

const char *
tke_ceremony_op_wire_name (TkeCeremonyOp op)
{
  for (guint i = 0; i < G_N_ELEMENTS (op_table); i++)
    if (op_table[i].op == op)
      return op_table[i].wire_op;
  return NULL;
}

gboolean
tke_ceremony_op_uses_units (TkeCeremonyOp op)
{
  return tke_ceremony_op_wire_name (op) != NULL;
}

/* Steps and prompts ------------------------------------------------------------------------- */

void
tke_run_step (Run *run, guint index)
{
  if (run->steps != NULL && index < run->n_steps)
    tke_prompter_step (run->self->prompter, index, run->n_steps, _ (run->steps[index]));
}

gboolean
tke_run_check_cancelled (Run *run, GError **error)
{
  return !g_cancellable_set_error_if_cancelled (run->cancellable, error);
}

const char *
tke_run_param_string (Run *run, const char *key)
{
  return json_string_value (json_object_get (run->params, key));
}

gboolean
tke_run_param_uint (Run *run, const char *key, guint *value)
{
  json_t *v = json_object_get (run->params, key);

  if (!json_is_integer (v) || json_integer_value (v) < 0)
    return FALSE;
  *value = (guint) json_integer_value (v);
  return TRUE;
}

/* Text checks ------------------------------------------------------------------------------- */

gboolean
tke_run_check_admin_name (const char *text, gpointer data, GError **error)
{
  return tke_admin_name_is_valid (text, error);
}

gboolean
tke_run_check_description (const char *text, gpointer data, GError **error)
{
  gsize len = strlen (text);

  if (len == 0 || len > TKE_CARD_DESCRIPTION_MAX || !g_utf8_validate (text, -1, NULL))
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                   _ ("A description has 1 to %d bytes of text."), TKE_CARD_DESCRIPTION_MAX);
      return FALSE;
    }
  return TRUE;
}

/* The text for key, from the parameters or asked. */
char *
tke_run_text (Run *run, const char *key, const char *title, const char *hint, TkeTextCheck check,
              GError **error)
{
  const char *given = tke_run_param_string (run, key);

  if (given != NULL)
    return check (given, NULL, error) ? g_strdup (given) : NULL;
  return tke_prompter_ask_text (run->self->prompter, title, hint, check, NULL, run->cancellable,
                                error);
}

gboolean
tke_run_number (Run *run, const char *key, const char *title, const char *hint, guint min,
                guint max, guint *number, GError **error)
{
  if (tke_run_param_uint (run, key, number))
    {
      if (*number < min || *number > max)
        {
          g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                       _ ("%s must be between %u and %u."), title, min, max);
          return FALSE;
        }
      return TRUE;
    }
  return tke_prompter_ask_number (run->self->prompter, title, hint, min, max, number,
                                  run->cancellable, error);
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
      g_set_error (
          error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
          _ ("No crypto units are selected: add crypto units on the Crypto units tab first."));
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
                       _ ("Crypto unit %u (%s) has no pinned identity key: list the units again to "
                          "pin it before anything is sent to it."),
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

/* An operation on the selected units: their states are read first, then the operation runs. */
static TkeCeremonyResult *
run_unit_op (Run *run, GError **error)
{
  static const char *const reading[] = { N_ ("Read the crypto units") };

  if (!select_units (run, error))
    return NULL;
  run->steps = reading;
  run->n_steps = 1;
  tke_run_step (run, UNIT_STEP_READ);
  run->states = tke_run_read_states (run, error);
  if (run->states == NULL)
    return NULL;

  switch (run->op)
    {
      case TKE_CEREMONY_ADD_ADMINISTRATOR:
        return tke_run_add_administrator (run, error);
      case TKE_CEREMONY_REMOVE_ADMINISTRATOR:
        return tke_run_remove_administrator (run, error);
      case TKE_CEREMONY_CHANGE_THRESHOLDS:
        return tke_run_change_thresholds (run, error);
      case TKE_CEREMONY_LOAD:
        return tke_run_load (run, error);
      default:
        return tke_run_register_op (run, error);
    }
}

/* An operation on cards alone: its result is its summary, with no unit outcomes. */
static TkeCeremonyResult *
run_card_op (Run *run, GError **error)
{
  g_autofree char *summary = NULL;
  TkeCeremonyResult *result;

  switch (run->op)
    {
      case TKE_CEREMONY_INITIALIZE_CARD:
        summary = tke_run_initialize_card (run, error);
        break;
      case TKE_CEREMONY_GENERATE_SIGNATURE_KEY:
        summary = tke_run_generate_signature_key (run, error);
        break;
      case TKE_CEREMONY_GENERATE_KEY_PART:
        summary = tke_run_generate_key_part (run, error);
        break;
      case TKE_CEREMONY_COPY_SMART_CARD:
        summary = tke_run_copy_smart_card (run, error);
        break;
      case TKE_CEREMONY_COPY_SIGNATURE_KEY_FILE:
        summary = tke_run_copy_signature_key_file (run, error);
        break;
      case TKE_CEREMONY_COPY_KEY_PART_FILE:
        summary = tke_run_copy_key_part_file (run, error);
        break;
      case TKE_CEREMONY_CHANGE_PIN:
      case TKE_CEREMONY_UNBLOCK_PIN:
        summary = tke_run_set_pin (run, error);
        break;
      default:
        g_assert_not_reached ();
    }
  if (summary == NULL)
    return NULL;
  result = g_new0 (TkeCeremonyResult, 1);
  result->op = run->op;
  result->summary = g_steal_pointer (&summary);
  result->outcomes = g_ptr_array_new_with_free_func ((GDestroyNotify) tke_unit_outcome_free);
  result->differences = g_ptr_array_new_with_free_func (g_free);
  result->params = json_deep_copy (run->params);
  return result;
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

  result = tke_ceremony_op_uses_units (op) ? run_unit_op (&run, &local_error)
                                           : run_card_op (&run, &local_error);

  g_main_context_pop_thread_default (context);

  if (result != NULL && result->summary == NULL)
    {
      guint failed = tke_ceremony_result_get_n_failed (result);

      result->summary =
          failed == 0 ? g_strdup_printf (_ ("All %u crypto units accepted the command."),
                                         result->outcomes->len)
                      : g_strdup_printf (
                            _ ("%u of %u crypto units did not accept the command: retry them."),
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
              char *summary = g_strdup_printf (_ ("%s\nThe ceremony journal could not be written: "
                                                  "%s"),
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
                   _ ("Every crypto unit accepted the command: there is nothing to retry."));
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
