/* SPDX-License-Identifier: GPL-3.0-or-later */
/* TkeUnitPins: unit id -> identity key, in unit-pins.json of the workspace (0600).
 *
 * The certificate pin proves which service answers; it does not prove that the service is still
 * the one whose units were seen before, nor that a unit's identity key is the one its operator
 * printed. A unit's identity key signs its importer key and its receipts: once pinned, an
 * importer key or a receipt counts only when that key signed it. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <string.h>

#include <jose/jose.h>

#include "tke-error.h"
#include "tke-unit-pins.h"

struct _TkeUnitPins
{
  GObject parent_instance;

  char *path;
  json_t *units; /* id -> {"thumbprint", "jwk", "service", "pinned"} */
};

G_DEFINE_FINAL_TYPE (TkeUnitPins, tke_unit_pins, G_TYPE_OBJECT)

char *
tke_jwk_thumbprint (const json_t *jwk)
{
  json_auto_t *thumbprint = NULL;

  if (!json_is_object (jwk) || json_object_get (jwk, "d") != NULL)
    return NULL;
  thumbprint = jose_jwk_thp (NULL, jwk, "S256");
  if (!json_is_string (thumbprint))
    return NULL;
  return g_strdup (json_string_value (thumbprint));
}

static gboolean
save (TkeUnitPins *self, GError **error)
{
  json_auto_t *root = json_pack ("{s:i, s:O}", "version", 1, "units", self->units);
  g_autofree char *text = json_dumps (root, JSON_INDENT (2) | JSON_SORT_KEYS);
  g_autofree char *dir = g_path_get_dirname (self->path);

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                   /* TRANSLATORS: the first %s is a directory, the second the system's reason. */
                   _ ("The pins could not be saved in %s: %s"), dir, g_strerror (saved_errno));
      return FALSE;
    }
  return g_file_set_contents_full (self->path, text, -1,
                                   G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                   0600, error);
}

static gboolean
entry_is_valid (const char *id, json_t *entry)
{
  const char *thumbprint = NULL, *service = NULL, *pinned = NULL;
  json_t *jwk = NULL;
  g_autofree char *actual = NULL;

  if (json_unpack (entry, "{s:s, s:o, s:s, s:s}", "thumbprint", &thumbprint, "jwk", &jwk, "service",
                   &service, "pinned", &pinned) != 0)
    return FALSE;
  actual = tke_jwk_thumbprint (jwk);
  return actual != NULL && g_str_equal (actual, thumbprint);
}

TkeUnitPins *
tke_unit_pins_load (const char *dir, GError **error)
{
  g_autoptr (TkeUnitPins) self = NULL;
  json_auto_t *root = NULL;
  json_error_t json_error;
  json_t *units, *entry;
  const char *id;

  g_return_val_if_fail (dir != NULL, NULL);

  self = g_object_new (TKE_TYPE_UNIT_PINS, NULL);
  self->path = g_build_filename (dir, TKE_UNIT_PINS_FILE_NAME, NULL);
  if (!g_file_test (self->path, G_FILE_TEST_EXISTS))
    {
      self->units = json_object ();
      return g_steal_pointer (&self);
    }
  root = json_load_file (self->path, JSON_REJECT_DUPLICATES, &json_error);
  units = json_object_get (root, "units");
  if (!json_is_object (units) || json_integer_value (json_object_get (root, "version")) != 1)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_CORRUPT_FILE,
                   /* TRANSLATORS: %s is the file of the pinned keys. */
                   _ ("The pinned identity keys of the crypto units, %s, are damaged: restore the "
                      "file from a backup. Removing it would trust whatever answers next."),
                   self->path);
      return NULL;
    }
  json_object_foreach (units, id, entry)
    if (!entry_is_valid (id, entry))
      {
        g_set_error (error, TKE_ERROR, TKE_ERROR_CORRUPT_FILE,
                     /* TRANSLATORS: the first %s is the unit's id, the second the file of the
                      * pinned keys. */
                     _ ("The pinned identity key of crypto unit %s in %s is damaged: restore the "
                        "file from a backup."),
                     id, self->path);
        return NULL;
      }
  self->units = json_incref (units);
  return g_steal_pointer (&self);
}

static json_t *
new_entry (const char *service_url, const TkeUnitInfo *info, const char *thumbprint)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *date = g_date_time_format_iso8601 (now);

  return json_pack ("{s:s, s:O, s:s, s:s}", "thumbprint", thumbprint, "jwk", info->identity_jwk,
                    "service", service_url, "pinned", date);
}

TkeUnitPinStatus
tke_unit_pins_check (TkeUnitPins *self, const char *service_url, const TkeUnitInfo *info,
                     GError **error)
{
  g_autofree char *presented = NULL;
  json_t *entry;
  const char *pinned;

  g_return_val_if_fail (TKE_IS_UNIT_PINS (self), TKE_UNIT_PIN_CHANGED);
  g_return_val_if_fail (service_url != NULL && info != NULL, TKE_UNIT_PIN_CHANGED);

  presented = tke_jwk_thumbprint (info->identity_jwk);
  entry = json_object_get (self->units, info->id);
  if (entry != NULL)
    {
      pinned = json_string_value (json_object_get (entry, "thumbprint"));
      if (presented != NULL && g_str_equal (presented, pinned))
        return TKE_UNIT_PIN_MATCHES;
      g_set_error (error, TKE_ERROR, TKE_ERROR_UNIT_IDENTITY,
                   /* TRANSLATORS: %u is the unit's number in the list, the first %s its id, the
                    * second the date it was pinned, the third the thumbprint of the key it
                    * presents and the fourth the one of the pinned key. */
                   _ ("Crypto unit %u (%s) presents another identity key than the one pinned on "
                      "%s: it shows %s, the pin is %s. Nothing is signed or encrypted for it. If "
                      "its operator confirms that the unit got a new identity key, re-pin it."),
                   info->num, info->id, json_string_value (json_object_get (entry, "pinned")),
                   /* TRANSLATORS: instead of a key's thumbprint. */
                   presented != NULL ? presented : _ ("(no valid key)"), pinned);
      return TKE_UNIT_PIN_CHANGED;
    }
  if (presented == NULL)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_MALFORMED,
                   /* TRANSLATORS: %u is the unit's number in the list, %s its id. */
                   _ ("Crypto unit %u (%s) presents no valid identity key: it can't be pinned."),
                   info->num, info->id);
      return TKE_UNIT_PIN_CHANGED;
    }
  json_object_set_new (self->units, info->id, new_entry (service_url, info, presented));
  if (!save (self, error))
    {
      json_object_del (self->units, info->id);
      return TKE_UNIT_PIN_CHANGED;
    }
  return TKE_UNIT_PIN_NEW;
}

const json_t *
tke_unit_pins_get_jwk (TkeUnitPins *self, const char *unit_id)
{
  g_return_val_if_fail (TKE_IS_UNIT_PINS (self), NULL);
  return json_object_get (json_object_get (self->units, unit_id), "jwk");
}

const char *
tke_unit_pins_get_thumbprint (TkeUnitPins *self, const char *unit_id)
{
  g_return_val_if_fail (TKE_IS_UNIT_PINS (self), NULL);
  return json_string_value (json_object_get (json_object_get (self->units, unit_id), "thumbprint"));
}

const char *
tke_unit_pins_get_date (TkeUnitPins *self, const char *unit_id)
{
  g_return_val_if_fail (TKE_IS_UNIT_PINS (self), NULL);
  return json_string_value (json_object_get (json_object_get (self->units, unit_id), "pinned"));
}

gboolean
tke_unit_pins_repin (TkeUnitPins *self, const char *service_url, const TkeUnitInfo *info,
                     GError **error)
{
  g_autofree char *presented = NULL;
  json_t *old;

  g_return_val_if_fail (TKE_IS_UNIT_PINS (self), FALSE);

  presented = tke_jwk_thumbprint (info->identity_jwk);
  if (presented == NULL)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_MALFORMED,
                   /* TRANSLATORS: %u is the unit's number in the list, %s its id. */
                   _ ("Crypto unit %u (%s) presents no valid identity key: it can't be pinned."),
                   info->num, info->id);
      return FALSE;
    }
  old = json_incref (json_object_get (self->units, info->id));
  json_object_set_new (self->units, info->id, new_entry (service_url, info, presented));
  if (!save (self, error))
    {
      if (old != NULL)
        json_object_set (self->units, info->id, old);
      else
        json_object_del (self->units, info->id);
      json_decref (old);
      return FALSE;
    }
  json_decref (old);
  return TRUE;
}

static void
tke_unit_pins_finalize (GObject *object)
{
  TkeUnitPins *self = TKE_UNIT_PINS (object);

  g_free (self->path);
  json_decref (self->units);

  G_OBJECT_CLASS (tke_unit_pins_parent_class)->finalize (object);
}

static void
tke_unit_pins_class_init (TkeUnitPinsClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tke_unit_pins_finalize;
}

static void
tke_unit_pins_init (TkeUnitPins *self)
{
}
