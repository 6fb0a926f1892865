/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Card images: the lasting state of a virtual card as a key file sealed with a SHA-256 line. */
#include "config.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "tke-error.h"
#include "tke-vcard-engine-private.h"

#define IMAGE_FORMAT     1
#define GROUP_CARD       "card"
#define GROUP_OBJECTS    "objects"
#define SLOT_GROUP_FMT   "slot %02x"
#define INTEGRITY_HEADER "[integrity]\nsha256="
#define SHA256_HEX_LEN   64

static char *
hex_encode (const guint8 *data, gsize len)
{
  static const char digits[] = "0123456789abcdef";
  char *out = g_malloc (2 * len + 1);

  for (gsize i = 0; i < len; i++)
    {
      out[2 * i] = digits[data[i] >> 4];
      out[2 * i + 1] = digits[data[i] & 0x0F];
    }
  out[2 * len] = '\0';
  return out;
}

/* Decodes hex of exactly the given length into out (or any length when want is -1). */
static guint8 *
hex_decode (const char *hex, gssize want, gsize *out_len)
{
  gsize n = strlen (hex);
  guint8 *out;

  if (n % 2 != 0 || (want >= 0 && n != 2 * (gsize) want))
    return NULL;
  out = g_malloc (n / 2 + 1);
  for (gsize i = 0; i < n / 2; i++)
    {
      int hi = g_ascii_xdigit_value (hex[2 * i]);
      int lo = g_ascii_xdigit_value (hex[2 * i + 1]);

      if (hi < 0 || lo < 0)
        {
          OPENSSL_cleanse (out, n / 2);
          g_free (out);
          return NULL;
        }
      out[i] = (hi << 4) | lo;
    }
  *out_len = n / 2;
  return out;
}

static void
secret_string_free (char *str)
{
  if (str != NULL)
    OPENSSL_cleanse (str, strlen (str));
  g_free (str);
}

static void
secret_bytes_free (guint8 *data, gsize len)
{
  if (data != NULL)
    OPENSSL_cleanse (data, len);
  g_free (data);
}

static void
sha256_hex (const char *data, gsize len, char out[SHA256_HEX_LEN + 1])
{
  guint8 digest[32];
  unsigned int digest_len = 0;
  g_autofree char *hex = NULL;

  if (EVP_Digest (data, len, digest, &digest_len, EVP_sha256 (), NULL) != 1 || digest_len != 32)
    memset (digest, 0, sizeof digest);
  hex = hex_encode (digest, sizeof digest);
  memcpy (out, hex, SHA256_HEX_LEN + 1);
}

static gint
compare_ids (gconstpointer a, gconstpointer b)
{
  guint ia = GPOINTER_TO_UINT (a), ib = GPOINTER_TO_UINT (b);

  return ia < ib ? -1 : ia > ib;
}

static void
write_pin (GKeyFile *kf, const char *name, const TkeVcardPin *pin)
{
  g_autofree char *key_retries = g_strdup_printf ("%s-retries", name);
  g_autofree char *key_left = g_strdup_printf ("%s-retries-left", name);
  g_autofree char *key_default = g_strdup_printf ("%s-default", name);
  char *hex = hex_encode (pin->value, sizeof pin->value);

  g_key_file_set_string (kf, GROUP_CARD, name, hex);
  secret_string_free (hex);
  g_key_file_set_integer (kf, GROUP_CARD, key_retries, pin->retries_max);
  g_key_file_set_integer (kf, GROUP_CARD, key_left, pin->retries_left);
  g_key_file_set_boolean (kf, GROUP_CARD, key_default, pin->is_default);
}

GBytes *
tke_vcard_image_serialize (TkeVcardEngine *self)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  GHashTableIter iter;
  gpointer id, content;
  g_autoptr (GList) ids = NULL;
  char *body;
  gsize body_len = 0;
  char digest[SHA256_HEX_LEN + 1];
  GString *out;
  char *hex;

  g_key_file_set_integer (kf, GROUP_CARD, "format", IMAGE_FORMAT);
  g_key_file_set_uint64 (kf, GROUP_CARD, "serial", self->serial);
  write_pin (kf, "pin", &self->pin);
  write_pin (kf, "puk", &self->puk);
  g_key_file_set_integer (kf, GROUP_CARD, "mgmt-alg", self->mgmt_alg);
  hex = hex_encode (self->mgmt_key, self->mgmt_key_len);
  g_key_file_set_string (kf, GROUP_CARD, "mgmt-key", hex);
  secret_string_free (hex);
  g_key_file_set_boolean (kf, GROUP_CARD, "mgmt-default", self->mgmt_is_default);
  g_key_file_set_integer (kf, GROUP_CARD, "mgmt-touch-policy", self->mgmt_touch_policy);

  for (guint i = 0; i < TKE_VCARD_N_SLOTS; i++)
    {
      const TkeVcardSlot *slot = &self->slots[i];
      g_autofree char *group = NULL;
      guint8 d[48];
      gsize d_len = tke_vcard_alg_field_len (slot->alg);

      if (slot->alg == 0)
        continue;
      if (!tke_vcard_ec_key_get_private (slot->key, slot->alg, d, d_len))
        continue;
      group = g_strdup_printf (SLOT_GROUP_FMT, slot->id);
      g_key_file_set_integer (kf, group, "alg", slot->alg);
      g_key_file_set_integer (kf, group, "pin-policy", slot->pin_policy);
      g_key_file_set_integer (kf, group, "touch-policy", slot->touch_policy);
      g_key_file_set_integer (kf, group, "origin", slot->origin);
      hex = hex_encode (d, d_len);
      OPENSSL_cleanse (d, sizeof d);
      g_key_file_set_string (kf, group, "private-key", hex);
      secret_string_free (hex);
    }

  /* Objects in id order, so that the same card always gives the same file. */
  g_hash_table_iter_init (&iter, self->objects);
  while (g_hash_table_iter_next (&iter, &id, &content))
    ids = g_list_prepend (ids, id);
  ids = g_list_sort (ids, compare_ids);
  for (GList *l = ids; l != NULL; l = l->next)
    {
      GBytes *bytes = g_hash_table_lookup (self->objects, l->data);
      g_autofree char *key = g_strdup_printf ("%06x", GPOINTER_TO_UINT (l->data));
      gsize len;
      const guint8 *data = g_bytes_get_data (bytes, &len);
      g_autofree char *value = hex_encode (data, len);

      g_key_file_set_string (kf, GROUP_OBJECTS, key, value);
    }
  g_key_file_set_comment (kf, NULL, NULL,
                          " Open TKE virtual PIV card image (docs/vcard.md). It holds private"
                          " keys: keep it mode 0600.",
                          NULL);

  body = g_key_file_to_data (kf, &body_len, NULL);
  out = g_string_new_len (body, body_len);
  secret_string_free (body);
  if (out->len > 0 && out->str[out->len - 1] != '\n')
    g_string_append_c (out, '\n');
  g_string_append_c (out, '\n');
  /* The digest covers every byte before the integrity group. */
  sha256_hex (out->str, out->len, digest);
  g_string_append (out, INTEGRITY_HEADER);
  g_string_append (out, digest);
  g_string_append_c (out, '\n');
  return g_string_free_to_bytes (out);
}

static gboolean
corrupt (GError **error, const char *what)
{
  g_set_error (error, TKE_ERROR, TKE_ERROR_CORRUPT_FILE, "%s", what);
  return FALSE;
}

static gboolean
read_int (GKeyFile *kf, const char *group, const char *key, gint64 min, gint64 max, gint64 *out,
          GError **error)
{
  g_autoptr (GError) local_error = NULL;
  g_autofree char *text = g_key_file_get_string (kf, group, key, &local_error);
  gint64 value;

  if (text == NULL || !g_ascii_string_to_signed (text, 10, min, max, &value, NULL))
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_CORRUPT_FILE,
                   "the value %s in [%s] is missing or out of range", key, group);
      return FALSE;
    }
  *out = value;
  return TRUE;
}

static gboolean
read_bool (GKeyFile *kf, const char *group, const char *key, gboolean *out, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  gboolean value = g_key_file_get_boolean (kf, group, key, &local_error);

  if (local_error != NULL)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_CORRUPT_FILE,
                   "the value %s in [%s] is missing or not true/false", key, group);
      return FALSE;
    }
  *out = value;
  return TRUE;
}

/* Reads hex of exactly want bytes (any length when want is -1). Free with secret_bytes_free. */
static guint8 *
read_hex (GKeyFile *kf, const char *group, const char *key, gssize want, gsize *len, GError **error)
{
  char *text = g_key_file_get_string (kf, group, key, NULL);
  guint8 *data = NULL;

  if (text != NULL)
    data = hex_decode (text, want, len);
  secret_string_free (text);
  if (data == NULL)
    g_set_error (error, TKE_ERROR, TKE_ERROR_CORRUPT_FILE,
                 "the value %s in [%s] is missing or not hex of the right length", key, group);
  return data;
}

static gboolean
read_pin (GKeyFile *kf, const char *name, TkeVcardPin *pin, GError **error)
{
  g_autofree char *key_retries = g_strdup_printf ("%s-retries", name);
  g_autofree char *key_left = g_strdup_printf ("%s-retries-left", name);
  g_autofree char *key_default = g_strdup_printf ("%s-default", name);
  gint64 max, left;
  gsize len;
  guint8 *value;

  value = read_hex (kf, GROUP_CARD, name, TKE_VCARD_PIN_LEN, &len, error);
  if (value == NULL)
    return FALSE;
  memcpy (pin->value, value, TKE_VCARD_PIN_LEN);
  secret_bytes_free (value, len);

  if (!read_int (kf, GROUP_CARD, key_retries, 1, 15, &max, error) ||
      !read_int (kf, GROUP_CARD, key_left, 0, max, &left, error) ||
      !read_bool (kf, GROUP_CARD, key_default, &pin->is_default, error))
    return FALSE;
  pin->retries_max = max;
  pin->retries_left = left;
  return TRUE;
}

static gboolean
read_slot (GKeyFile *kf, const char *group, TkeVcardEngine *self, GError **error)
{
  TkeVcardSlot *slot;
  gint64 alg, pin_policy, touch_policy, origin;
  guint64 slot_id;
  guint8 *d;
  gsize d_len;
  EVP_PKEY *key;

  if (!g_ascii_string_to_unsigned (group + strlen ("slot "), 16, 0, 0xFF, &slot_id, NULL) ||
      (slot = tke_vcard_engine_find_slot (self, slot_id)) == NULL)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_CORRUPT_FILE, "[%s] is not a key slot", group);
      return FALSE;
    }
  if (!read_int (kf, group, "alg", 0, 0xFF, &alg, error) ||
      !read_int (kf, group, "pin-policy", 1, 3, &pin_policy, error) ||
      !read_int (kf, group, "touch-policy", 1, 3, &touch_policy, error) ||
      !read_int (kf, group, "origin", 1, 2, &origin, error))
    return FALSE;
  if (tke_vcard_alg_field_len (alg) == 0)
    return corrupt (error, "a key slot names an algorithm this card does not have");

  d = read_hex (kf, group, "private-key", tke_vcard_alg_field_len (alg), &d_len, error);
  if (d == NULL)
    return FALSE;
  key = tke_vcard_ec_key_from_private (alg, d, d_len);
  secret_bytes_free (d, d_len);
  if (key == NULL)
    return corrupt (error, "a private key is not a valid key on its curve");

  g_clear_pointer (&slot->key, EVP_PKEY_free);
  slot->key = key;
  slot->alg = alg;
  slot->pin_policy = pin_policy;
  slot->touch_policy = touch_policy;
  slot->origin = origin;
  return TRUE;
}

static gboolean
read_objects (GKeyFile *kf, TkeVcardEngine *self, GError **error)
{
  g_auto (GStrv) keys = NULL;

  if (!g_key_file_has_group (kf, GROUP_OBJECTS))
    return TRUE;
  keys = g_key_file_get_keys (kf, GROUP_OBJECTS, NULL, NULL);
  for (guint i = 0; keys != NULL && keys[i] != NULL; i++)
    {
      guint64 id;
      guint8 *data;
      gsize len;

      if (strlen (keys[i]) != 6 ||
          !g_ascii_string_to_unsigned (keys[i], 16, 0x5F0000, 0x5FFFFF, &id, NULL))
        {
          g_set_error (error, TKE_ERROR, TKE_ERROR_CORRUPT_FILE,
                       "“%s” in [objects] is not a PIV object id", keys[i]);
          return FALSE;
        }
      data = read_hex (kf, GROUP_OBJECTS, keys[i], -1, &len, error);
      if (data == NULL)
        return FALSE;
      if (len == 0 || len > TKE_VCARD_OBJECT_MAX_LEN)
        {
          g_free (data);
          return corrupt (error, "an object is empty or larger than the card holds");
        }
      g_hash_table_insert (self->objects, GUINT_TO_POINTER ((guint) id),
                           g_bytes_new_take (data, len));
    }
  return TRUE;
}

gboolean
tke_vcard_image_parse (TkeVcardEngine *self, const char *data, gsize len, GError **error)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (GError) local_error = NULL;
  g_auto (GStrv) groups = NULL;
  const gsize trailer_len = strlen (INTEGRITY_HEADER) + SHA256_HEX_LEN + 1;
  char digest[SHA256_HEX_LEN + 1];
  gsize body_len;
  gint64 format, mgmt_alg, touch;
  guint64 serial;
  guint8 *mgmt_key;
  gsize mgmt_key_len;

  /* The seal first: a truncated or edited file stops here. */
  if (len < trailer_len || memchr (data, '\0', len) != NULL)
    return corrupt (error, "the file is too short or not text (truncated?)");
  body_len = len - trailer_len;
  if (memcmp (data + body_len, INTEGRITY_HEADER, strlen (INTEGRITY_HEADER)) != 0 ||
      data[len - 1] != '\n')
    return corrupt (error, "its integrity line is missing (the file was cut short)");
  sha256_hex (data, body_len, digest);
  if (memcmp (digest, data + body_len + strlen (INTEGRITY_HEADER), SHA256_HEX_LEN) != 0)
    return corrupt (error, "its SHA-256 does not match the contents (the file was changed or "
                           "damaged)");

  if (!g_key_file_load_from_data (kf, data, body_len, G_KEY_FILE_NONE, &local_error))
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_CORRUPT_FILE, "it is not a key file: %s",
                   local_error->message);
      return FALSE;
    }

  if (!read_int (kf, GROUP_CARD, "format", 0, G_MAXINT, &format, error))
    return FALSE;
  if (format != IMAGE_FORMAT)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_CORRUPT_FILE,
                   "it has format %" G_GINT64_FORMAT ", this tke-vcard reads format %d", format,
                   IMAGE_FORMAT);
      return FALSE;
    }
  {
    g_autofree char *text = g_key_file_get_string (kf, GROUP_CARD, "serial", NULL);

    if (text == NULL || !g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT32, &serial, NULL))
      return corrupt (error, "the serial number is missing or out of range");
    self->serial = serial;
  }

  if (!read_pin (kf, "pin", &self->pin, error) || !read_pin (kf, "puk", &self->puk, error))
    return FALSE;

  if (!read_int (kf, GROUP_CARD, "mgmt-alg", 0, 0xFF, &mgmt_alg, error) ||
      !read_int (kf, GROUP_CARD, "mgmt-touch-policy", 1, 3, &touch, error) ||
      !read_bool (kf, GROUP_CARD, "mgmt-default", &self->mgmt_is_default, error))
    return FALSE;
  mgmt_key = read_hex (kf, GROUP_CARD, "mgmt-key", -1, &mgmt_key_len, error);
  if (mgmt_key == NULL)
    return FALSE;
  if (!tke_vcard_mgmt_key_len_ok (mgmt_alg, mgmt_key_len))
    {
      secret_bytes_free (mgmt_key, mgmt_key_len);
      return corrupt (error, "the management key does not fit its algorithm");
    }
  OPENSSL_cleanse (self->mgmt_key, sizeof self->mgmt_key);
  memcpy (self->mgmt_key, mgmt_key, mgmt_key_len);
  secret_bytes_free (mgmt_key, mgmt_key_len);
  self->mgmt_key_len = mgmt_key_len;
  self->mgmt_alg = mgmt_alg;
  self->mgmt_touch_policy = touch;

  groups = g_key_file_get_groups (kf, NULL);
  for (guint i = 0; groups[i] != NULL; i++)
    {
      if (g_str_equal (groups[i], GROUP_CARD) || g_str_equal (groups[i], GROUP_OBJECTS))
        continue;
      if (!g_str_has_prefix (groups[i], "slot "))
        {
          g_set_error (error, TKE_ERROR, TKE_ERROR_CORRUPT_FILE, "[%s] is not part of a card image",
                       groups[i]);
          return FALSE;
        }
      if (!read_slot (kf, groups[i], self, error))
        return FALSE;
    }

  return read_objects (kf, self, error);
}
