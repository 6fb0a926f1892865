/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The unit operations of the ceremony engine: administrators, thresholds and the master key
 * registers, each checked against the units' states before anything is asked or sent. */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "tke-ceremony-private.h"

/* Unit operations --------------------------------------------------------------------------- */

TkeCeremonyResult *
tke_run_add_administrator (Run *run, GError **error)
{
  static const char *const steps[] = { N_ ("Read the crypto units"),
                                       N_ ("Insert the new administrator's card into reader 1"),
                                       N_ ("Collect the administrators' signatures"),
                                       N_ ("Send to the crypto units") };
  g_autoptr (Card) card = NULL;
  g_autoptr (GBytes) cert = NULL;
  g_autoptr (EVP_PKEY) key = NULL;
  g_autofree char *name = NULL;
  g_autofree char *ski = NULL;
  g_autofree char *cert_b64 = NULL;
  g_autofree char *purpose = NULL;
  g_autofree char *units = tke_run_units_list (run);
  TkeCeremonyResult *result;

  run->steps = steps;
  run->n_steps = G_N_ELEMENTS (steps);

  tke_run_step (run, UNIT_STEP_OWN);
  card = tke_run_acquire_card (run, TKE_READER_ROLE_1, _ ("the card of the administrator to add"),
                               tke_run_check_new_administrator, NULL, error);
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
  g_clear_pointer (&card, tke_run_card_free);

  for (guint i = 0; i < run->states->len; i++)
    {
      TkeCeremonyUnit *unit = run->units->pdata[i];

      if (tke_ceremony_state_has_admin (run->states->pdata[i], ski))
        {
          tke_run_refuse (error, TKE_UNIT_ERROR_ADMIN_EXISTS,
                          _ ("%s is an administrator of crypto unit %u already."), name, unit->num);
          return NULL;
        }
      if (json_array_size (tke_run_state_admins (run->states->pdata[i])) >= 8)
        {
          tke_run_refuse (error, TKE_UNIT_ERROR_TOO_MANY_ADMINS,
                          _ ("Crypto unit %u has 8 administrators, as many as it can have: "
                             "remove one first."),
                          unit->num);
          return NULL;
        }
    }

  cert_b64 = tke_b64url_encode (g_bytes_get_data (cert, NULL), g_bytes_get_size (cert));
  json_object_set_new (run->params, "ski", json_string (ski));
  tke_journal_entry_add_detail (run->entry, "administrator", name);
  tke_journal_entry_add_detail (run->entry, "administrator_ski", ski);
  purpose = g_strdup_printf (_ ("Add administrator %s (SKI %.16s…) to crypto units %s"), name, ski,
                             units);
  result =
      tke_run_unit_command (run, json_pack ("{s:s, s:s}", "name", name, "certificate", cert_b64),
                            tke_run_max_required (run, 0), purpose, error);
  /* The result names who was added; a partial one keeps the generic sentence with its retry. */
  if (result != NULL && tke_ceremony_result_get_n_failed (result) == 0)
    result->summary = g_strdup_printf (
        _ ("%s (SKI %.16s…) is an administrator of crypto units %s now."), name, ski, units);
  return result;
}

TkeCeremonyResult *
tke_run_remove_administrator (Run *run, GError **error)
{
  static const char *const steps[] = { N_ ("Read the crypto units"),
                                       N_ ("Choose the administrator"),
                                       N_ ("Collect the administrators' signatures"),
                                       N_ ("Send to the crypto units") };
  json_t *admins = tke_run_state_admins (run->states->pdata[0]);
  const char *ski = tke_run_param_string (run, "ski");
  const char *name = NULL;
  g_autofree char *purpose = NULL;
  g_autofree char *units = tke_run_units_list (run);
  g_autofree char *consequence = NULL;
  size_t i;
  json_t *admin;

  run->steps = steps;
  run->n_steps = G_N_ELEMENTS (steps);

  tke_run_step (run, UNIT_STEP_OWN);
  if (json_array_size (admins) == 0)
    {
      tke_run_refuse (error, TKE_UNIT_ERROR_NOT_FOUND, _ ("Crypto unit %u has no administrators."),
                      ((TkeCeremonyUnit *) run->units->pdata[0])->num);
      return NULL;
    }
  if (ski == NULL)
    {
      g_autoptr (GPtrArray) choices = g_ptr_array_new_with_free_func (g_free);
      guint choice = 0;

      json_array_foreach (admins, i, admin)
        g_ptr_array_add (choices,
                         g_strdup_printf (_ ("%s (SKI %.16s…)"),
                                          json_string_value (json_object_get (admin, "name")),
                                          json_string_value (json_object_get (admin, "ski"))));
      g_ptr_array_add (choices, NULL);
      if (!tke_prompter_choose (run->self->prompter, _ ("Administrator to remove"),
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
      tke_run_refuse (error, TKE_UNIT_ERROR_NOT_FOUND,
                      _ ("No administrator of the selected units has the SKI %s."), ski);
      return NULL;
    }

  for (guint u = 0; u < run->states->len; u++)
    {
      json_t *state = run->states->pdata[u];
      guint left = json_array_size (tke_run_state_admins (state)) - 1;
      guint thr = MAX (tke_run_state_threshold (state, "signature"),
                       tke_run_state_threshold (state, "revocation"));

      if (!tke_ceremony_state_has_admin (state, ski))
        {
          tke_run_refuse (error, TKE_UNIT_ERROR_NOT_FOUND,
                          _ ("%s is not an administrator of crypto unit %u."), name,
                          ((TkeCeremonyUnit *) run->units->pdata[u])->num);
          return NULL;
        }
      if (left < thr)
        {
          tke_run_refuse (error, TKE_UNIT_ERROR_BELOW_THRESHOLD,
                          _ ("Crypto unit %u would keep %u administrators, fewer than its "
                             "threshold of %u: lower the thresholds first."),
                          ((TkeCeremonyUnit *) run->units->pdata[u])->num, left, thr);
          return NULL;
        }
    }

  consequence =
      g_strdup_printf (_ ("%s can no longer sign commands for crypto units %s."), name, units);
  if (!tke_prompter_confirm (run->self->prompter, _ ("Remove the administrator?"), consequence,
                             run->cancellable, error))
    return NULL;

  tke_journal_entry_add_detail (run->entry, "administrator", name);
  tke_journal_entry_add_detail (run->entry, "administrator_ski", ski);
  purpose = g_strdup_printf (_ ("Remove administrator %s from crypto units %s"), name, units);
  return tke_run_unit_command (run, json_pack ("{s:s}", "ski", ski), tke_run_max_required (run, 0),
                               purpose, error);
}

TkeCeremonyResult *
tke_run_change_thresholds (Run *run, GError **error)
{
  static const char *const steps[] = { N_ ("Read the crypto units"), N_ ("Choose the thresholds"),
                                       N_ ("Collect the administrators' signatures"),
                                       N_ ("Send to the crypto units") };
  guint signature = 0, revocation = 0, fewest = 0, fewest_unit = 0;
  g_autofree char *purpose = NULL;
  g_autofree char *units = tke_run_units_list (run);

  run->steps = steps;
  run->n_steps = G_N_ELEMENTS (steps);

  /* A threshold no unit can meet is never offered: 1 to the fewest administrators of a unit. */
  for (guint u = 0; u < run->states->len; u++)
    {
      guint admins = json_array_size (tke_run_state_admins (run->states->pdata[u]));

      if (u == 0 || admins < fewest)
        {
          fewest = admins;
          fewest_unit = ((TkeCeremonyUnit *) run->units->pdata[u])->num;
        }
    }
  if (fewest == 0)
    {
      tke_run_refuse (error, TKE_UNIT_ERROR_THRESHOLD_EXCEEDS_ADMINS,
                      _ ("Crypto unit %u has 0 administrators: add the administrators before their "
                         "thresholds."),
                      fewest_unit);
      return NULL;
    }

  tke_run_step (run, UNIT_STEP_OWN);
  if (!tke_run_number (run, "signature", _ ("Signature threshold"),
                       _ ("How many administrators sign each command to the crypto units."), 1,
                       fewest, &signature, error) ||
      !tke_run_number (run, "revocation", _ ("Revocation signature threshold"),
                       _ ("How many administrators sign the removal of an administrator."), 1,
                       fewest, &revocation, error))
    return NULL;

  json_object_set_new (run->params, "signature", json_integer (signature));
  json_object_set_new (run->params, "revocation", json_integer (revocation));
  purpose = g_strdup_printf (_ ("Set the signature threshold to %u and the revocation signature "
                                "threshold to %u on crypto units %s"),
                             signature, revocation, units);
  {
    g_autofree char *thresholds = g_strdup_printf ("%u/%u", signature, revocation);

    tke_journal_entry_add_detail (run->entry, "thresholds", thresholds);
  }
  return tke_run_unit_command (
      run, json_pack ("{s:i, s:i}", "signature", (int) signature, "revocation", (int) revocation),
      tke_run_max_required (run, signature), purpose, error);
}

static gboolean
require_normal_mode (Run *run, GError **error)
{
  for (guint u = 0; u < run->states->len; u++)
    if (tke_run_state_is_imprint (run->states->pdata[u]))
      return tke_run_refuse (error, TKE_UNIT_ERROR_IMPRINT_MODE,
                             _ ("Crypto unit %u is in imprint mode: set its signature "
                                "thresholds first."),
                             ((TkeCeremonyUnit *) run->units->pdata[u])->num);
  return TRUE;
}

static gboolean
require_register (Run *run, const char *reg, const char *state, const char *advice, GError **error)
{
  for (guint u = 0; u < run->states->len; u++)
    {
      const char *now = tke_run_state_register (run->states->pdata[u], reg, "state");

      if (g_strcmp0 (now, state) != 0)
        return tke_run_refuse (error, TKE_UNIT_ERROR_REGISTER_STATE,
                               /* TRANSLATORS: a unit number, the register's state and the state it
                              * must have (as the units name them), and what to do, a clause. */
                               g_str_equal (reg, "new")
                                   ? _ ("The new master key register of crypto unit %u is %s, not "
                                        "%s: %s")
                                   : _ ("The current master key register of crypto unit %u is %s, "
                                        "not %s: %s"),
                               ((TkeCeremonyUnit *) run->units->pdata[u])->num, now, state, advice);
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
    if (g_strcmp0 (tke_run_state_register (run->states->pdata[u], "current", "state"), "Valid") ==
        0)
      {
        n_current++;
        current_vp = tke_run_state_register (run->states->pdata[u], "current", "vp");
      }
  if (n_current == 0)
    return g_strdup_printf (_ ("The new master key with VP %s becomes the current one on crypto "
                               "units %s. Their current master key registers are empty: nothing is "
                               "replaced, and no stored key is affected."),
                            vp_hex, units);
  if (stored == 0)
    return g_strdup_printf (_ ("The new master key with VP %s replaces the current master key "
                               "(VP %s) on crypto units %s. No keys are stored under the current "
                               "master key, so none becomes unusable."),
                            vp_hex, current_vp != NULL ? current_vp : "?", units);
  /* TRANSLATORS: the new key's VP, the current key's VP, the units, how many keys are stored. */
  return g_strdup_printf (
      g_dngettext (GETTEXT_PACKAGE,
                   "The new master key with VP %s replaces the current master key (VP %s) on "
                   "crypto units %s. The %u key stored under the current master key is not "
                   "re-encrypted: it stops decrypting. Rotate instead to keep it.",
                   "The new master key with VP %s replaces the current master key (VP %s) on "
                   "crypto units %s. The %u keys stored under the current master key are not "
                   "re-encrypted: they stop decrypting. Rotate instead to keep them.",
                   stored),
      vp_hex, current_vp != NULL ? current_vp : "?", units, stored);
}

/* The VP of a register, the same on every unit, or an error naming where they differ. */
static gboolean
common_vp (Run *run, const char *reg, guint8 vp[TKE_VP_LEN], GError **error)
{
  const char *first = tke_run_state_register (run->states->pdata[0], reg, "vp");

  for (guint u = 1; u < run->states->len; u++)
    if (g_strcmp0 (tke_run_state_register (run->states->pdata[u], reg, "vp"), first) != 0)
      return tke_run_refuse (error, TKE_UNIT_ERROR_VP_MISMATCH,
                             g_str_equal (reg, "new")
                                 ? _ ("The new master key registers of crypto units %u and %u hold "
                                      "different keys: clear them and load them again.")
                                 : _ ("The current master key registers of crypto units %u and %u "
                                      "hold different keys: clear them and load them again."),
                             ((TkeCeremonyUnit *) run->units->pdata[0])->num,
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
  g_autofree char *identity = tke_run_card_identity (card->info);

  if (!tke_run_check_initialized (run, card, data, why, error))
    return FALSE;
  if (g_hash_table_contains (check->used_cards, identity))
    {
      *why = g_strdup (_ ("The card in reader 2 gave a key part already: each key part comes from "
                          "its own custodian's card."));
      return FALSE;
    }
  if (card->info->parts->len == 0)
    {
      *why = g_strdup (_ ("The card in reader 2 holds no key parts."));
      return FALSE;
    }
  return TRUE;
}

/* Reads key part p of n_parts from its custodian's card, encrypts it to each unit's importer
 * key into parts_args and XORs it into key; the card is added to those used. */
static gboolean
load_one_part (Run *run, guint p, guint n_parts, PartCardCheck *check, GPtrArray *importers,
               json_t *parts_args, TkeSecret *key, const char *units, GError **error)
{
  g_autofree char *wanted = g_strdup_printf (_ ("the card with key part %u of %u"), p + 1, n_parts);
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

  card = tke_run_acquire_card (run, TKE_READER_ROLE_2, wanted, check_part_card, check, error);
  if (card == NULL)
    return FALSE;

  for (guint i = 0; i < card->info->parts->len; i++)
    {
      g_autofree char *vp = tke_vp_to_hex (((TkeKeyPartInfo *) card->info->parts->pdata[i])->vp);

      g_ptr_array_add (
          choices,
          g_strdup_printf (_ ("“%s”, VP %.32s…"),
                           ((TkeKeyPartInfo *) card->info->parts->pdata[i])->description, vp));
    }
  g_ptr_array_add (choices, NULL);
  title = g_strdup_printf (_ ("Key part %u of %u"), p + 1, n_parts);
  if (card->info->parts->len == 1)
    choice = 0;
  else if (!tke_prompter_choose (run->self->prompter, title, (const char *const *) choices->pdata,
                                 &choice, run->cancellable, error))
    return FALSE;
  info = card->info->parts->pdata[choice];

  pin_purpose = g_strdup_printf (_ ("Read key part “%s” to load it into crypto units %s"),
                                 info->description, units);
  if (!tke_run_get_pin (run, card, TKE_PIN_KIND_PIN, pin_purpose, &pin, &pin_pad, error))
    return FALSE;
  tke_run_pin_pad_begin (run, card, pin_pad, pin_purpose);
  part = tke_card_profile_take_key_part (card->piv, pin, info->id, NULL, error);
  tke_run_pin_pad_end (run, pin_pad);
  if (part == NULL)
    return FALSE;

  vp_hex = tke_vp_to_hex (info->vp);
  for (guint i = 0; i < json_array_size (parts_args); i++)
    if (g_strcmp0 (json_string_value (json_object_get (json_array_get (parts_args, i), "vp")),
                   vp_hex) == 0)
      {
        tke_run_refuse_early (error,
                              _ ("Key part %u is the same part as key part %u: a master key "
                                 "needs distinct parts."),
                              p + 1, i + 1);
        return FALSE;
      }

  jwes = json_object ();
  for (guint u = 0; u < run->units->len; u++)
    {
      json_t *jwe = tke_key_part_encrypt (importers->pdata[u], part, error);

      if (jwe == NULL)
        {
          json_decref (jwes);
          return FALSE;
        }
      json_object_set_new (jwes, ((TkeCeremonyUnit *) run->units->pdata[u])->id, jwe);
    }
  json_array_append_new (parts_args, json_pack ("{s:s, s:o}", "vp", vp_hex, "jwe", jwes));
  for (guint i = 0; i < TKE_KEY_PART_LEN; i++)
    tke_secret_data (key)[i] ^= tke_secret_peek (part)[i];

  g_hash_table_add (check->used_cards, tke_run_card_identity (card->info));
  tke_journal_entry_add_vp (run->entry, info->description, info->vp);
  return TRUE;
}

TkeCeremonyResult *
tke_run_load (Run *run, GError **error)
{
  static const char *const steps[] = { N_ ("Read the crypto units"),
                                       N_ ("Read the key parts from their cards"),
                                       N_ ("Sign with an administrator's card"),
                                       N_ ("Send to the crypto units") };
  g_autoptr (GHashTable) used_cards = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GPtrArray) importers = g_ptr_array_new_with_free_func ((GDestroyNotify) json_decref);
  PartCardCheck card_check = { used_cards };
  g_autoptr (TkeSecret) key = NULL;
  json_t *parts_args;
  guint8 key_vp[TKE_VP_LEN];
  g_autofree char *key_vp_hex = NULL;
  g_autofree char *purpose = NULL;
  g_autofree char *units = tke_run_units_list (run);
  guint n_parts = 0;

  run->steps = steps;
  run->n_steps = G_N_ELEMENTS (steps);

  if (!require_normal_mode (run, error) ||
      !require_register (run, "new", "Empty", _ ("clear it before loading another key."), error))
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

  tke_run_step (run, UNIT_STEP_OWN);
  if (!tke_run_number (
          run, "parts", _ ("Number of key parts"),
          _ ("The new master key is the XOR of this many key parts, each on a card of its own."), 2,
          3, &n_parts, error))
    return NULL;
  json_object_set_new (run->params, "parts", json_integer (n_parts));

  key = tke_secret_new (TKE_KEY_PART_LEN, error);
  if (key == NULL)
    return NULL;
  parts_args = json_array ();
  for (guint p = 0; p < n_parts; p++)
    if (!load_one_part (run, p, n_parts, &card_check, importers, parts_args, key, units, error))
      {
        json_decref (parts_args);
        return NULL;
      }

  tke_vp_compute (tke_secret_peek (key), tke_secret_len (key), key_vp);
  g_clear_pointer (&key, tke_secret_free);
  key_vp_hex = tke_vp_to_hex (key_vp);
  tke_journal_entry_add_vp (run->entry, "new", key_vp);
  json_object_set_new (run->params, "vp", json_string (key_vp_hex));

  purpose = g_strdup_printf (_ ("Load the new master key with VP %s into crypto units %s"),
                             key_vp_hex, units);
  return tke_run_unit_command (run, json_pack ("{s:o, s:s}", "parts", parts_args, "vp", key_vp_hex),
                               tke_run_max_required (run, 0), purpose, error);
}

/* Clear new, clear current and zeroize: what is lost, confirmed by the operator; returns what
 * the administrators sign. */
static char *
confirm_erase (Run *run, const char *units, guint stored, GError **error)
{
  g_autofree char *consequence = NULL;

  if (run->op == TKE_CEREMONY_CLEAR_NEW || run->op == TKE_CEREMONY_CLEAR_CURRENT)
    {
      if (!require_normal_mode (run, error))
        return NULL;
      consequence =
          run->op == TKE_CEREMONY_CLEAR_NEW
              ? g_strdup_printf (_ ("The new master key register of crypto units %s is "
                                    "emptied; the key in it is gone."),
                                 units)
              /* TRANSLATORS: the units, and how many keys are stored under the key. */
              : g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                              "The current master key of crypto units %s is "
                                              "erased: the %u key stored under it becomes "
                                              "unusable.",
                                              "The current master key of crypto units %s is "
                                              "erased: the %u keys stored under it become "
                                              "unusable.",
                                              stored),
                                 units, stored);
      if (!tke_prompter_confirm (run->self->prompter,
                                 run->op == TKE_CEREMONY_CLEAR_NEW
                                     ? _ ("Clear the new master key?")
                                     : _ ("Clear the current master key?"),
                                 consequence, run->cancellable, error))
        return NULL;
      return g_strdup_printf (run->op == TKE_CEREMONY_CLEAR_NEW
                                  ? _ ("Clear the new master key register of crypto "
                                       "units %s")
                                  : _ ("Clear the current master key register of crypto "
                                       "units %s"),
                              units);
    }

  /* TRANSLATORS: the units, and how many keys they store. */
  consequence = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                              "Crypto units %s go back to imprint mode: "
                                              "their administrators, thresholds, both master "
                                              "key registers and %u stored key are erased.",
                                              "Crypto units %s go back to imprint mode: "
                                              "their administrators, thresholds, both master "
                                              "key registers and %u stored keys are erased.",
                                              stored),
                                 units, stored);
  if (!tke_prompter_confirm (run->self->prompter, _ ("Zeroize the crypto units?"), consequence,
                             run->cancellable, error))
    return NULL;
  return g_strdup_printf (_ ("Zeroize crypto units %s"), units);
}

/* Commit, set immediate, rotate, clear new, clear current, zeroize: no parameters but the VP. */
TkeCeremonyResult *
tke_run_register_op (Run *run, GError **error)
{
  static const char *const steps[] = { N_ ("Read the crypto units"), N_ ("Check the registers"),
                                       N_ ("Collect the administrators' signatures"),
                                       N_ ("Send to the crypto units") };
  g_autofree char *units = tke_run_units_list (run);
  g_autofree char *purpose = NULL;
  g_autofree char *vp_hex = NULL;
  g_autofree char *consequence = NULL;
  json_t *args = json_object ();
  guint8 vp[TKE_VP_LEN];
  guint stored = 0;

  run->steps = steps;
  run->n_steps = G_N_ELEMENTS (steps);
  tke_run_step (run, UNIT_STEP_OWN);

  for (guint u = 0; u < run->states->len; u++)
    stored += json_integer_value (
        json_object_get (json_object_get (run->states->pdata[u], "key_storage"), "count"));

  switch (run->op)
    {
      case TKE_CEREMONY_COMMIT:
        if (!require_normal_mode (run, error) ||
            !require_register (run, "new", "Full Uncommitted", _ ("load a new master key first."),
                               error) ||
            !common_vp (run, "new", vp, error))
          goto failed;
        vp_hex = tke_vp_to_hex (vp);
        purpose = g_strdup_printf (_ ("Commit the new master key with VP %s on crypto units %s"),
                                   vp_hex, units);
        break;

      case TKE_CEREMONY_SET_IMMEDIATE:
        if (!require_normal_mode (run, error) ||
            !require_register (run, "new", "Full Committed", _ ("commit the new master key first."),
                               error) ||
            !common_vp (run, "new", vp, error))
          goto failed;
        vp_hex = tke_vp_to_hex (vp);
        consequence = set_immediate_consequence (run, vp_hex, units, stored);
        if (!tke_prompter_confirm (run->self->prompter, _ ("Set the new master key immediate?"),
                                   consequence, run->cancellable, error))
          goto failed;
        purpose = g_strdup_printf (_ ("Set the master key with VP %s immediate on crypto units %s"),
                                   vp_hex, units);
        break;

      case TKE_CEREMONY_ROTATE:
        if (!require_normal_mode (run, error) ||
            !require_register (run, "new", "Full Committed", _ ("commit the new master key first."),
                               error) ||
            !require_register (run, "current", "Valid",
                               _ ("there is no current key to rotate from; "
                                  "set the new one immediate instead."),
                               error) ||
            !common_vp (run, "new", vp, error))
          goto failed;
        vp_hex = tke_vp_to_hex (vp);
        /* TRANSLATORS: the VP, the units, and how many stored keys are re-encrypted. */
        purpose = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                                "Rotate to the master key with VP %s on crypto "
                                                "units %s (%u stored key is re-encrypted)",
                                                "Rotate to the master key with VP %s on crypto "
                                                "units %s (%u stored keys are re-encrypted)",
                                                stored),
                                   vp_hex, units, stored);
        break;

      case TKE_CEREMONY_CLEAR_NEW:
      case TKE_CEREMONY_CLEAR_CURRENT:
      case TKE_CEREMONY_ZEROIZE:
        purpose = confirm_erase (run, units, stored, error);
        if (purpose == NULL)
          goto failed;
        break;

      default:
        g_assert_not_reached ();
    }

  if (vp_hex != NULL)
    {
      json_object_set_new (args, "vp", json_string (vp_hex));
      tke_journal_entry_add_vp (run->entry, "new", vp);
    }
  return tke_run_unit_command (run, args, tke_run_max_required (run, 0), purpose, error);

failed:
  json_decref (args);
  return NULL;
}
