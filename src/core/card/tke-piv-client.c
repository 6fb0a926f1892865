/* SPDX-License-Identifier: GPL-3.0-or-later */
/* PIV commands: built as SP 800-73-4 and Yubico's PIV documentation describe them; answers
 * parsed with every length checked. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>

#include "tke-error.h"
#include "tke-piv-client.h"
#include "tke-tlv.h"

#define INS_VERIFY       0x20
#define INS_CHANGE_REF   0x24
#define INS_RESET_RETRY  0x2C
#define INS_GENERATE     0x47
#define INS_GENERAL_AUTH 0x87
#define INS_SELECT       0xA4
#define INS_GET_DATA     0xCB
#define INS_PUT_DATA     0xDB
#define INS_GET_METADATA 0xF7
#define INS_GET_SERIAL   0xF8
#define INS_GET_VERSION  0xFD
#define INS_IMPORT_KEY   0xFE
#define INS_SET_MGMT_KEY 0xFF

#define PIN_BLOCK_LEN 8

static const guint8 piv_aid[] = { 0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00 };

struct _TkePivClient
{
  GObject parent_instance;

  TkeCardConnection *connection;
};

G_DEFINE_FINAL_TYPE (TkePivClient, tke_piv_client, G_TYPE_OBJECT)

void
tke_piv_metadata_clear (TkePivMetadata *metadata)
{
  if (metadata == NULL)
    return;
  g_clear_pointer (&metadata->public_point, g_bytes_unref);
}

static void
tke_piv_client_dispose (GObject *object)
{
  TkePivClient *self = TKE_PIV_CLIENT (object);

  g_clear_object (&self->connection);

  G_OBJECT_CLASS (tke_piv_client_parent_class)->dispose (object);
}

static void
tke_piv_client_class_init (TkePivClientClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = tke_piv_client_dispose;
}

static void
tke_piv_client_init (TkePivClient *self)
{
}

TkePivClient *
tke_piv_client_new (TkeCardConnection *connection)
{
  TkePivClient *self;

  g_return_val_if_fail (TKE_IS_CARD_CONNECTION (connection), NULL);

  self = g_object_new (TKE_TYPE_PIV_CLIENT, NULL);
  self->connection = g_object_ref (connection);
  return self;
}

TkeCardConnection *
tke_piv_client_get_connection (TkePivClient *self)
{
  g_return_val_if_fail (TKE_IS_PIV_CLIENT (self), NULL);
  return self->connection;
}

/* ---- helpers ---- */

static void
wipe_bytes (GBytes *bytes)
{
  if (bytes != NULL)
    tke_wipe ((gpointer) g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
}

/* Sends apdu and judges the status word: anything but 9000 is an error naming operation. */
static GBytes *
exchange (TkePivClient *self, const TkeApdu *apdu, const char *operation, GError **error)
{
  g_autoptr (GBytes) answer = NULL;
  guint16 sw = 0;

  answer = tke_card_connection_transmit (self->connection, apdu, &sw, error);
  if (answer == NULL)
    return NULL;
  if (!tke_sw_check (sw, operation, error))
    {
      if (apdu->sensitive)
        wipe_bytes (answer);
      return NULL;
    }
  return g_steal_pointer (&answer);
}

static gboolean
exchange_no_data (TkePivClient *self, const TkeApdu *apdu, const char *operation, GError **error)
{
  g_autoptr (GBytes) answer = exchange (self, apdu, operation, error);

  return answer != NULL;
}

static gboolean
malformed (GError **error, const char *what)
{
  g_set_error (error, TKE_ERROR, TKE_ERROR_MALFORMED,
               /* TRANSLATORS: %s is what the card was asked to do, such as "signing", or the
                * name of a card command, such as GET VERSION. */
               _ ("The card's answer to %s is malformed."), what);
  return FALSE;
}

/* The value of the single outer TLV tag in answer, which must fill it exactly. */
static gboolean
unwrap (GBytes *answer, guint32 tag, TkeTlv *tlv, const char *what, GError **error)
{
  const guint8 *data;
  gsize len;

  data = g_bytes_get_data (answer, &len);
  if (!tke_tlv_next (&data, &len, tlv, error))
    return FALSE;
  if (tlv->tag != tag || len != 0)
    return malformed (error, what);
  return TRUE;
}

/* A PIN or PUK FF-padded to 8 bytes, the way VERIFY wants it. */
static gboolean
pad_pin (guint8 reference, const TkeSecret *pin, guint8 out[PIN_BLOCK_LEN], GError **error)
{
  gsize len = tke_secret_len (pin);

  if (len < 6 || len > PIN_BLOCK_LEN)
    {
      if (reference == TKE_PIV_PUK)
        g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                     _ ("A PUK has 6 to 8 characters; this one has %zu."), len);
      else
        g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                     _ ("A PIN has 6 to 8 characters; this one has %zu."), len);
      return FALSE;
    }
  memset (out, 0xFF, PIN_BLOCK_LEN);
  memcpy (out, tke_secret_peek (pin), len);
  return TRUE;
}

/* Turns the status word of VERIFY and friends into the operator's sentence. */
static gboolean
check_pin_sw (guint16 sw, guint8 reference, int *tries_left, const char *operation, GError **error)
{
  gboolean puk = reference == TKE_PIV_PUK;

  if (tries_left != NULL)
    *tries_left = -1;
  if (sw == TKE_SW_OK)
    return TRUE;
  if (TKE_SW_IS_TRIES_LEFT (sw) && TKE_SW_TRIES_LEFT (sw) > 0)
    {
      guint n = TKE_SW_TRIES_LEFT (sw);

      if (tries_left != NULL)
        *tries_left = n;
      if (puk)
        g_set_error (error, TKE_ERROR, TKE_ERROR_PIN_WRONG,
                     g_dngettext (GETTEXT_PACKAGE,
                                  /* TRANSLATORS: %u is how many more wrong PUKs are accepted. */
                                  "The PUK is wrong: %u try left before the PUK is blocked.",
                                  "The PUK is wrong: %u tries left before the PUK is blocked.", n),
                     n);
      else
        g_set_error (error, TKE_ERROR, TKE_ERROR_PIN_WRONG,
                     g_dngettext (GETTEXT_PACKAGE,
                                  /* TRANSLATORS: %u is how many more wrong PINs are accepted. */
                                  "The PIN is wrong: %u try left before the PIN is blocked.",
                                  "The PIN is wrong: %u tries left before the PIN is blocked.", n),
                     n);
      return FALSE;
    }
  if (sw == TKE_SW_AUTH_BLOCKED || sw == 0x63C0)
    {
      if (tries_left != NULL)
        *tries_left = 0;
      if (puk)
        g_set_error (error, TKE_ERROR, TKE_ERROR_PIN_BLOCKED,
                     _ ("The PUK is blocked: the PIN can no longer be unblocked, and the card "
                        "must be reset to be used again."));
      else
        g_set_error (error, TKE_ERROR, TKE_ERROR_PIN_BLOCKED,
                     _ ("The PIN is blocked: unblock it with the PUK."));
      return FALSE;
    }
  if (sw == 0x6400)
    {
      if (puk)
        g_set_error (error, TKE_ERROR, TKE_ERROR_CARD_STATUS,
                     _ ("The PUK entry on the reader's PIN pad timed out."));
      else
        g_set_error (error, TKE_ERROR, TKE_ERROR_CARD_STATUS,
                     _ ("The PIN entry on the reader's PIN pad timed out."));
      return FALSE;
    }
  if (sw == 0x6401)
    {
      if (puk)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                     _ ("The PUK entry was cancelled on the reader's PIN pad."));
      else
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                     _ ("The PIN entry was cancelled on the reader's PIN pad."));
      return FALSE;
    }
  tke_sw_set_error (error, sw, operation);
  return FALSE;
}

static gsize
algorithm_field_len (TkePivAlgorithm algorithm)
{
  switch (algorithm)
    {
      case TKE_PIV_ALG_ECCP256:
        return 32;
      case TKE_PIV_ALG_ECCP384:
        return 48;
      default:
        return 0;
    }
}

static const char *
algorithm_group (TkePivAlgorithm algorithm)
{
  return algorithm == TKE_PIV_ALG_ECCP384 ? "P-384" : "P-256";
}

gsize
tke_piv_management_key_len (TkePivAlgorithm algorithm)
{
  switch (algorithm)
    {
      case TKE_PIV_ALG_3DES:
      case TKE_PIV_ALG_AES192:
        return 24;
      case TKE_PIV_ALG_AES128:
        return 16;
      case TKE_PIV_ALG_AES256:
        return 32;
      default:
        return 0;
    }
}

EVP_PKEY *
tke_piv_public_key_from_point (TkePivAlgorithm algorithm, const guint8 *point, gsize len,
                               GError **error)
{
  gsize field = algorithm_field_len (algorithm);
  OSSL_PARAM_BLD *bld = NULL;
  OSSL_PARAM *params = NULL;
  EVP_PKEY_CTX *ctx = NULL;
  EVP_PKEY_CTX *check = NULL;
  EVP_PKEY *key = NULL;

  if (field == 0 || point == NULL || len != 2 * field + 1 || point[0] != 0x04)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_MALFORMED,
                   /* TRANSLATORS: %s is the name of an elliptic curve, such as P-256, or EC. */
                   _ ("The card sent a public key that is not an uncompressed %s point."),
                   field == 0 ? "EC" : algorithm_group (algorithm));
      return NULL;
    }

  bld = OSSL_PARAM_BLD_new ();
  if (bld == NULL ||
      !OSSL_PARAM_BLD_push_utf8_string (bld, OSSL_PKEY_PARAM_GROUP_NAME,
                                        algorithm_group (algorithm), 0) ||
      !OSSL_PARAM_BLD_push_octet_string (bld, OSSL_PKEY_PARAM_PUB_KEY, point, len))
    goto out;
  params = OSSL_PARAM_BLD_to_param (bld);
  ctx = EVP_PKEY_CTX_new_from_name (NULL, "EC", NULL);
  if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init (ctx) != 1 ||
      EVP_PKEY_fromdata (ctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1)
    goto out;
  check = EVP_PKEY_CTX_new_from_pkey (NULL, key, NULL);
  if (check == NULL || EVP_PKEY_public_check (check) != 1)
    g_clear_pointer (&key, EVP_PKEY_free);

out:
  if (key == NULL)
    g_set_error (error, TKE_ERROR, TKE_ERROR_MALFORMED,
                 /* TRANSLATORS: %s is the name of an elliptic curve, such as P-256. */
                 _ ("The card sent a public key that is not a point on %s."),
                 algorithm_group (algorithm));
  EVP_PKEY_CTX_free (check);
  EVP_PKEY_CTX_free (ctx);
  OSSL_PARAM_free (params);
  OSSL_PARAM_BLD_free (bld);
  return key;
}

/* ---- transactions and SELECT ---- */

gboolean
tke_piv_client_begin (TkePivClient *self, GError **error)
{
  g_return_val_if_fail (TKE_IS_PIV_CLIENT (self), FALSE);

  if (!tke_card_connection_begin_transaction (self->connection, error))
    return FALSE;
  if (!tke_piv_client_select (self, FALSE, error))
    {
      tke_card_connection_end_transaction (self->connection);
      return FALSE;
    }
  return TRUE;
}

void
tke_piv_client_end (TkePivClient *self)
{
  g_return_if_fail (TKE_IS_PIV_CLIENT (self));
  tke_card_connection_end_transaction (self->connection);
}

gboolean
tke_piv_client_select (TkePivClient *self, gboolean short_aid, GError **error)
{
  TkeApdu apdu = { 0x00, INS_SELECT, 0x04, 0x00, piv_aid, short_aid ? 5 : sizeof piv_aid, 256 };
  g_autoptr (GBytes) answer = NULL;
  g_autoptr (GError) local_error = NULL;

  g_return_val_if_fail (TKE_IS_PIV_CLIENT (self), FALSE);

  answer = exchange (self, &apdu,
                     /* TRANSLATORS: completes "The card refused %s". */
                     _ ("selecting the PIV application"), &local_error);
  if (answer == NULL)
    {
      if (g_error_matches (local_error, TKE_ERROR, TKE_ERROR_NOT_FOUND))
        g_set_error (error, TKE_ERROR, TKE_ERROR_NOT_FOUND,
                     _ ("The card in \"%s\" is not a PIV card: use a PIV card (a YubiKey 5 or "
                        "another)."),
                     tke_card_connection_get_reader_name (self->connection));
      else
        g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  /* The application property template (61) is optional; when present it must parse. */
  if (g_bytes_get_size (answer) > 0 &&
      !tke_tlv_validate (g_bytes_get_data (answer, NULL), g_bytes_get_size (answer), error))
    return FALSE;
  return TRUE;
}

/* ---- PIN and PUK ---- */

gboolean
tke_piv_client_verify (TkePivClient *self, guint8 reference, const TkeSecret *pin, int *tries_left,
                       GError **error)
{
  guint8 block[PIN_BLOCK_LEN];
  TkeApdu apdu = { 0x00, INS_VERIFY, 0x00, reference, block, sizeof block, .sensitive = TRUE };
  g_autoptr (GBytes) answer = NULL;
  guint16 sw = 0;

  g_return_val_if_fail (TKE_IS_PIV_CLIENT (self), FALSE);
  g_return_val_if_fail (pin != NULL, FALSE);

  if (tries_left != NULL)
    *tries_left = -1;
  if (!pad_pin (reference, pin, block, error))
    return FALSE;
  answer = tke_card_connection_transmit (self->connection, &apdu, &sw, error);
  tke_wipe (block, sizeof block);
  if (answer == NULL)
    return FALSE;
  return check_pin_sw (sw, reference, tries_left,
                       /* TRANSLATORS: completes "The card refused %s". */
                       _ ("checking the PIN"), error);
}

gboolean
tke_piv_client_verify_pin_pad (TkePivClient *self, guint8 reference, int *tries_left,
                               GError **error)
{
  guint16 sw = 0;

  g_return_val_if_fail (TKE_IS_PIV_CLIENT (self), FALSE);

  if (tries_left != NULL)
    *tries_left = -1;
  if (!tke_card_connection_verify_pin_pad (self->connection, reference, &sw, error))
    return FALSE;
  return check_pin_sw (sw, reference, tries_left,
                       /* TRANSLATORS: completes "The card refused %s". */
                       _ ("checking the PIN"), error);
}

gboolean
tke_piv_client_verify_status (TkePivClient *self, guint8 reference, gboolean *verified,
                              int *tries_left, GError **error)
{
  TkeApdu apdu = { 0x00, INS_VERIFY, 0x00, reference };
  g_autoptr (GBytes) answer = NULL;
  guint16 sw = 0;

  g_return_val_if_fail (TKE_IS_PIV_CLIENT (self), FALSE);
  g_return_val_if_fail (verified != NULL && tries_left != NULL, FALSE);

  answer = tke_card_connection_transmit (self->connection, &apdu, &sw, error);
  if (answer == NULL)
    return FALSE;
  *verified = FALSE;
  *tries_left = -1;
  if (sw == TKE_SW_OK)
    *verified = TRUE;
  else if (TKE_SW_IS_TRIES_LEFT (sw))
    *tries_left = TKE_SW_TRIES_LEFT (sw);
  else if (sw == TKE_SW_AUTH_BLOCKED)
    *tries_left = 0;
  else
    return tke_sw_check (sw,
                         /* TRANSLATORS: completes "The card refused %s". */
                         _ ("reporting the PIN status"), error);
  return TRUE;
}

gboolean
tke_piv_client_logout (TkePivClient *self, GError **error)
{
  TkeApdu apdu = { 0x00, INS_VERIFY, 0xFF, TKE_PIV_PIN };

  g_return_val_if_fail (TKE_IS_PIV_CLIENT (self), FALSE);
  return exchange_no_data (self, &apdu,
                           /* TRANSLATORS: completes "The card refused %s". */
                           _ ("forgetting the PIN"), error);
}

static gboolean
two_blocks_command (TkePivClient *self, guint8 ins, guint8 reference, guint8 first_reference,
                    const TkeSecret *first, const TkeSecret *second, int *tries_left,
                    const char *operation, GError **error)
{
  guint8 data[2 * PIN_BLOCK_LEN];
  TkeApdu apdu = { 0x00, ins, 0x00, reference, data, sizeof data, .sensitive = TRUE };
  g_autoptr (GBytes) answer = NULL;
  guint16 sw = 0;
  gboolean ok;

  if (tries_left != NULL)
    *tries_left = -1;
  ok = pad_pin (first_reference, first, data, error) &&
       pad_pin (reference, second, data + PIN_BLOCK_LEN, error);
  if (ok)
    answer = tke_card_connection_transmit (self->connection, &apdu, &sw, error);
  tke_wipe (data, sizeof data);
  if (answer == NULL)
    return FALSE;
  return check_pin_sw (sw, first_reference, tries_left, operation, error);
}

gboolean
tke_piv_client_change_reference (TkePivClient *self, guint8 reference, const TkeSecret *old_value,
                                 const TkeSecret *new_value, int *tries_left, GError **error)
{
  const char *operation;

  g_return_val_if_fail (TKE_IS_PIV_CLIENT (self), FALSE);
  g_return_val_if_fail (old_value != NULL && new_value != NULL, FALSE);

  if (reference == TKE_PIV_PUK)
    /* TRANSLATORS: completes "The card refused %s". */
    operation = _ ("changing the PUK");
  else
    /* TRANSLATORS: completes "The card refused %s". */
    operation = _ ("changing the PIN");
  return two_blocks_command (self, INS_CHANGE_REF, reference, reference, old_value, new_value,
                             tries_left, operation, error);
}

gboolean
tke_piv_client_reset_retry_counter (TkePivClient *self, const TkeSecret *puk,
                                    const TkeSecret *new_pin, int *tries_left, GError **error)
{
  g_return_val_if_fail (TKE_IS_PIV_CLIENT (self), FALSE);
  g_return_val_if_fail (puk != NULL && new_pin != NULL, FALSE);

  return two_blocks_command (self, INS_RESET_RETRY, TKE_PIV_PIN, TKE_PIV_PUK, puk, new_pin,
                             tries_left,
                             /* TRANSLATORS: completes "The card refused %s". */
                             _ ("unblocking the PIN"), error);
}

/* ---- data objects ---- */

static void
append_object_tag (GByteArray *out, guint32 object_id)
{
  guint8 id[3] = { object_id >> 16, (object_id >> 8) & 0xFF, object_id & 0xFF };

  tke_tlv_append (out, 0x5C, id, sizeof id);
}

GBytes *
tke_piv_client_get_data (TkePivClient *self, guint32 object_id, GError **error)
{
  g_autoptr (GByteArray) data = g_byte_array_new ();
  g_autoptr (GBytes) answer = NULL;
  g_autofree char *operation = NULL;
  TkeApdu apdu = { 0x00, INS_GET_DATA, 0x3F, 0xFF };
  TkeTlv tlv;

  g_return_val_if_fail (TKE_IS_PIV_CLIENT (self), NULL);
  g_return_val_if_fail (object_id <= 0xFFFFFF, NULL);

  append_object_tag (data, object_id);
  apdu.data = data->data;
  apdu.len = data->len;
  apdu.ne = 256;
  /* TRANSLATORS: completes "The card refused %s"; %06X is the number of a data object on the
   * card. */
  operation = g_strdup_printf (_ ("reading object %06X"), object_id);
  answer = exchange (self, &apdu, operation, error);
  if (answer == NULL)
    return NULL;
  if (!unwrap (answer, 0x53, &tlv, operation, error))
    return NULL;
  return g_bytes_new_from_bytes (
      answer, tlv.value - (const guint8 *) g_bytes_get_data (answer, NULL), tlv.len);
}

gboolean
tke_piv_client_put_data (TkePivClient *self, guint32 object_id, const guint8 *contents, gsize len,
                         GError **error)
{
  g_autoptr (GByteArray) data = g_byte_array_new ();
  g_autofree char *operation = NULL;
  TkeApdu apdu = { 0x00, INS_PUT_DATA, 0x3F, 0xFF };

  g_return_val_if_fail (TKE_IS_PIV_CLIENT (self), FALSE);
  g_return_val_if_fail (contents != NULL || len == 0, FALSE);
  g_return_val_if_fail (len <= TKE_TLV_MAX_LEN, FALSE);

  append_object_tag (data, object_id);
  tke_tlv_append (data, 0x53, contents, len);
  apdu.data = data->data;
  apdu.len = data->len;
  if (len == 0)
    /* TRANSLATORS: completes "The card refused %s"; %06X is the number of a data object on the
     * card. */
    operation = g_strdup_printf (_ ("deleting object %06X"), object_id);
  else
    /* TRANSLATORS: completes "The card refused %s"; %06X is the number of a data object on the
     * card. */
    operation = g_strdup_printf (_ ("writing object %06X"), object_id);
  return exchange_no_data (self, &apdu, operation, error);
}

/* ---- keys ---- */

static void
append_policies (GByteArray *out, TkePivPinPolicy pin_policy, TkePivTouchPolicy touch_policy)
{
  if (pin_policy != TKE_PIV_PIN_POLICY_DEFAULT)
    tke_tlv_append_byte (out, 0xAA, pin_policy);
  if (touch_policy != TKE_PIV_TOUCH_POLICY_DEFAULT)
    tke_tlv_append_byte (out, 0xAB, touch_policy);
}

EVP_PKEY *
tke_piv_client_generate_key (TkePivClient *self, guint8 slot, TkePivAlgorithm algorithm,
                             TkePivPinPolicy pin_policy, TkePivTouchPolicy touch_policy,
                             GError **error)
{
  g_autoptr (GByteArray) inner = g_byte_array_new ();
  g_autoptr (GByteArray) data = g_byte_array_new ();
  g_autoptr (GBytes) answer = NULL;
  TkeApdu apdu = { 0x00, INS_GENERATE, 0x00, slot };
  TkeTlv outer, point;

  g_return_val_if_fail (TKE_IS_PIV_CLIENT (self), NULL);
  g_return_val_if_fail (algorithm_field_len (algorithm) > 0, NULL);

  tke_tlv_append_byte (inner, 0x80, algorithm);
  append_policies (inner, pin_policy, touch_policy);
  tke_tlv_append (data, 0xAC, inner->data, inner->len);
  apdu.data = data->data;
  apdu.len = data->len;
  apdu.ne = 256;

  answer = exchange (self, &apdu,
                     /* TRANSLATORS: completes "The card refused %s". */
                     _ ("generating a key"), error);
  if (answer == NULL)
    return NULL;
  if (!unwrap (answer, 0x7F49, &outer,
               /* TRANSLATORS: completes "The card refused %s". */
               _ ("generating a key"), error))
    return NULL;
  if (!tke_tlv_find (outer.value, outer.len, 0x86, &point, error))
    return NULL;
  return tke_piv_public_key_from_point (algorithm, point.value, point.len, error);
}

gboolean
tke_piv_client_import_key (TkePivClient *self, guint8 slot, EVP_PKEY *key,
                           TkePivPinPolicy pin_policy, TkePivTouchPolicy touch_policy,
                           GError **error)
{
  char group[32] = { 0 };
  TkePivAlgorithm algorithm;
  gsize field;
  BIGNUM *d = NULL;
  guint8 *scalar = NULL;
  g_autoptr (GByteArray) data = NULL;
  TkeApdu apdu = { 0x00, INS_IMPORT_KEY, 0x00, slot, .sensitive = TRUE };
  gboolean ok = FALSE;

  g_return_val_if_fail (TKE_IS_PIV_CLIENT (self), FALSE);
  g_return_val_if_fail (key != NULL, FALSE);

  if (EVP_PKEY_get_utf8_string_param (key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, NULL) !=
      1)
    group[0] = '\0';
  if (g_ascii_strcasecmp (group, "prime256v1") == 0 || g_ascii_strcasecmp (group, "P-256") == 0)
    algorithm = TKE_PIV_ALG_ECCP256;
  else if (g_ascii_strcasecmp (group, "secp384r1") == 0 || g_ascii_strcasecmp (group, "P-384") == 0)
    algorithm = TKE_PIV_ALG_ECCP384;
  else
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                   _ ("Only P-256 and P-384 keys can be put on a PIV card."));
      return FALSE;
    }
  field = algorithm_field_len (algorithm);
  apdu.p1 = algorithm;

  if (EVP_PKEY_get_bn_param (key, OSSL_PKEY_PARAM_PRIV_KEY, &d) != 1)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                   _ ("The key to import has no private part."));
      return FALSE;
    }
  scalar = OPENSSL_secure_zalloc (field);
  data = g_byte_array_sized_new (2 + field + 6);
  if (scalar == NULL || BN_bn2binpad (d, scalar, field) != (int) field)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_CRYPTO, _ ("The private key could not be encoded."));
      goto out;
    }
  tke_tlv_append (data, 0x06, scalar, field);
  append_policies (data, pin_policy, touch_policy);
  apdu.data = data->data;
  apdu.len = data->len;
  ok = exchange_no_data (self, &apdu,
                         /* TRANSLATORS: completes "The card refused %s". */
                         _ ("importing a key"), error);

out:
  tke_wipe (data->data, data->len);
  OPENSSL_secure_clear_free (scalar, field);
  BN_clear_free (d);
  return ok;
}

/* GENERAL AUTHENTICATE with a dynamic authentication template 7C { 82 00, tag L value }: the
 * value the card answers in 7C { 82 L ... }. */
static GBytes *
general_authenticate (TkePivClient *self, TkePivAlgorithm algorithm, guint8 slot, guint32 tag,
                      const guint8 *value, gsize len, gboolean sensitive, const char *operation,
                      GError **error)
{
  g_autoptr (GByteArray) inner = g_byte_array_new ();
  g_autoptr (GByteArray) data = g_byte_array_new ();
  g_autoptr (GBytes) answer = NULL;
  TkeApdu apdu = { 0x00, INS_GENERAL_AUTH, algorithm, slot };
  TkeTlv outer, response;
  GBytes *result;

  tke_tlv_append (inner, 0x82, NULL, 0);
  tke_tlv_append (inner, tag, value, len);
  tke_tlv_append (data, 0x7C, inner->data, inner->len);
  apdu.data = data->data;
  apdu.len = data->len;
  apdu.ne = 256;
  apdu.sensitive = sensitive;

  answer = exchange (self, &apdu, operation, error);
  if (answer == NULL)
    return NULL;
  if (!unwrap (answer, 0x7C, &outer, operation, error) ||
      !tke_tlv_find (outer.value, outer.len, 0x82, &response, error))
    {
      if (sensitive)
        wipe_bytes (answer);
      return NULL;
    }
  result = g_bytes_new (response.value, response.len);
  if (sensitive)
    wipe_bytes (answer);
  return result;
}

GBytes *
tke_piv_client_sign_digest (TkePivClient *self, guint8 slot, TkePivAlgorithm algorithm,
                            const guint8 *digest, gsize digest_len, GError **error)
{
  g_autoptr (GBytes) signature = NULL;
  const guint8 *der;
  gsize der_len;
  ECDSA_SIG *sig;

  g_return_val_if_fail (TKE_IS_PIV_CLIENT (self), NULL);
  g_return_val_if_fail (digest != NULL, NULL);

  if (algorithm_field_len (algorithm) == 0 || digest_len != algorithm_field_len (algorithm))
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                   /* TRANSLATORS: %s is the name of an elliptic curve, such as P-256; the first
                    * number is the size of the digests its keys sign, the second the size of
                    * the one given, both in bytes. */
                   _ ("A %s key signs digests of %zu bytes, not %zu."), algorithm_group (algorithm),
                   algorithm_field_len (algorithm), digest_len);
      return NULL;
    }

  signature = general_authenticate (self, algorithm, slot, 0x81, digest, digest_len, FALSE,
                                    /* TRANSLATORS: completes "The card refused %s". */
                                    _ ("signing"), error);
  if (signature == NULL)
    return NULL;

  /* It must be one DER ECDSA-Sig-Value and nothing else. */
  der = g_bytes_get_data (signature, &der_len);
  sig = d2i_ECDSA_SIG (NULL, &der, der_len);
  if (sig == NULL || der != (const guint8 *) g_bytes_get_data (signature, NULL) + der_len)
    {
      ECDSA_SIG_free (sig);
      malformed (error,
                 /* TRANSLATORS: completes "The card refused %s". */
                 _ ("signing"));
      return NULL;
    }
  ECDSA_SIG_free (sig);
  return g_steal_pointer (&signature);
}

TkeSecret *
tke_piv_client_ecdh (TkePivClient *self, guint8 slot, TkePivAlgorithm algorithm, EVP_PKEY *peer,
                     GError **error)
{
  g_autoptr (GBytes) shared = NULL;
  guint8 point[1 + 2 * 48];
  gsize point_len = 0;
  TkeSecret *secret;

  g_return_val_if_fail (TKE_IS_PIV_CLIENT (self), NULL);
  g_return_val_if_fail (peer != NULL, NULL);

  if (algorithm_field_len (algorithm) == 0 ||
      EVP_PKEY_get_octet_string_param (peer, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point,
                                       &point_len) != 1 ||
      point_len != 2 * algorithm_field_len (algorithm) + 1 || point[0] != 0x04)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                   /* TRANSLATORS: %s is the name of an elliptic curve, such as P-256. */
                   _ ("The other key of the key agreement is not an uncompressed %s point."),
                   algorithm_group (algorithm));
      return NULL;
    }

  shared = general_authenticate (self, algorithm, slot, 0x85, point, point_len, TRUE,
                                 /* TRANSLATORS: completes "The card refused %s". */
                                 _ ("agreeing on a key"), error);
  if (shared == NULL)
    return NULL;
  if (g_bytes_get_size (shared) != algorithm_field_len (algorithm))
    {
      wipe_bytes (shared);
      malformed (error,
                 /* TRANSLATORS: completes "The card refused %s". */
                 _ ("agreeing on a key"));
      return NULL;
    }
  secret = tke_secret_new_from (g_bytes_get_data (shared, NULL), g_bytes_get_size (shared), error);
  wipe_bytes (shared);
  return secret;
}

static const EVP_CIPHER *
management_cipher (TkePivAlgorithm algorithm, gsize *block)
{
  *block = 16;
  switch (algorithm)
    {
      case TKE_PIV_ALG_3DES:
        *block = 8;
        return EVP_des_ede3_ecb ();
      case TKE_PIV_ALG_AES128:
        return EVP_aes_128_ecb ();
      case TKE_PIV_ALG_AES192:
        return EVP_aes_192_ecb ();
      case TKE_PIV_ALG_AES256:
        return EVP_aes_256_ecb ();
      default:
        return NULL;
    }
}

static gboolean
ecb_block (const EVP_CIPHER *cipher, const TkeSecret *key, gboolean encrypt, const guint8 *in,
           gsize len, guint8 *out)
{
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new ();
  int n = 0;
  gboolean ok;

  ok = ctx != NULL &&
       EVP_CipherInit_ex (ctx, cipher, NULL, tke_secret_peek (key), NULL, encrypt) == 1 &&
       EVP_CIPHER_CTX_set_padding (ctx, 0) == 1 &&
       EVP_CipherUpdate (ctx, out, &n, in, (int) len) == 1 && n == (int) len;
  EVP_CIPHER_CTX_free (ctx);
  return ok;
}

gboolean
tke_piv_client_authenticate (TkePivClient *self, TkePivAlgorithm algorithm, const TkeSecret *key,
                             GError **error)
{
  /* TRANSLATORS: completes "The card refused %s". */
  const char *operation = _ ("authenticating with the management key");
  const EVP_CIPHER *cipher;
  gsize block = 0;
  guint8 witness[16], challenge[16], expected[16];
  g_autoptr (GByteArray) inner = g_byte_array_new ();
  g_autoptr (GByteArray) data = g_byte_array_new ();
  g_autoptr (GBytes) answer = NULL;
  TkeApdu apdu = { 0x00, INS_GENERAL_AUTH, algorithm, TKE_PIV_SLOT_MANAGEMENT };
  TkeTlv outer, tlv;
  gboolean ok = FALSE;
  guint16 sw = 0;

  g_return_val_if_fail (TKE_IS_PIV_CLIENT (self), FALSE);
  g_return_val_if_fail (key != NULL, FALSE);

  cipher = management_cipher (algorithm, &block);
  if (cipher == NULL || tke_secret_len (key) != tke_piv_management_key_len (algorithm))
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                   /* TRANSLATORS: %02X is the number of the key's algorithm in hexadecimal. */
                   _ ("The management key does not fit its algorithm (%02X)."), algorithm);
      return FALSE;
    }

  /* Step 1: the card's witness, encrypted under the key. */
  tke_tlv_append (inner, 0x80, NULL, 0);
  tke_tlv_append (data, 0x7C, inner->data, inner->len);
  apdu.data = data->data;
  apdu.len = data->len;
  apdu.ne = 256;
  answer = exchange (self, &apdu, operation, error);
  if (answer == NULL)
    return FALSE;
  if (!unwrap (answer, 0x7C, &outer, operation, error) ||
      !tke_tlv_find (outer.value, outer.len, 0x80, &tlv, error))
    return FALSE;
  if (tlv.len != block)
    return malformed (error, operation);
  if (!ecb_block (cipher, key, FALSE, tlv.value, block, witness))
    goto crypto_failed;

  /* Step 2: the witness decrypted, and our challenge, which the card must encrypt. */
  if (RAND_bytes (challenge, block) != 1 ||
      !ecb_block (cipher, key, TRUE, challenge, block, expected))
    goto crypto_failed;
  g_byte_array_set_size (inner, 0);
  g_byte_array_set_size (data, 0);
  tke_tlv_append (inner, 0x80, witness, block);
  tke_tlv_append (inner, 0x81, challenge, block);
  tke_tlv_append (data, 0x7C, inner->data, inner->len);
  apdu.data = data->data;
  apdu.len = data->len;
  g_clear_pointer (&answer, g_bytes_unref);
  answer = tke_card_connection_transmit (self->connection, &apdu, &sw, error);
  if (answer == NULL)
    goto out;
  if (sw == TKE_SW_SECURITY_STATUS)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_CARD_STATUS,
                   _ ("The card refused the management key: it is not this card's key."));
      goto out;
    }
  if (!tke_sw_check (sw, operation, error))
    goto out;
  if (!unwrap (answer, 0x7C, &outer, operation, error) ||
      !tke_tlv_find (outer.value, outer.len, 0x82, &tlv, error))
    goto out;
  if (tlv.len != block)
    {
      malformed (error, operation);
      goto out;
    }
  if (CRYPTO_memcmp (tlv.value, expected, block) != 0)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_CARD_STATUS,
                   _ ("The card did not prove that it holds the management key: do not use "
                      "this card."));
      goto out;
    }
  ok = TRUE;
  goto out;

crypto_failed:
  g_set_error (error, TKE_ERROR, TKE_ERROR_CRYPTO,
               _ ("The management key authentication could not be computed."));
out:
  tke_wipe (witness, sizeof witness);
  tke_wipe (data->data, data->len);
  tke_wipe (inner->data, inner->len);
  return ok;
}

/* ---- Yubico extensions ---- */

gboolean
tke_piv_client_get_version (TkePivClient *self, guint8 version[3], GError **error)
{
  TkeApdu apdu = { 0x00, INS_GET_VERSION, 0x00, 0x00, .ne = 256 };
  g_autoptr (GBytes) answer = NULL;

  g_return_val_if_fail (TKE_IS_PIV_CLIENT (self), FALSE);

  answer = exchange (self, &apdu,
                     /* TRANSLATORS: completes "The card refused %s". */
                     _ ("reporting its version"), error);
  if (answer == NULL)
    return FALSE;
  if (g_bytes_get_size (answer) != 3)
    return malformed (error, "GET VERSION");
  memcpy (version, g_bytes_get_data (answer, NULL), 3);
  return TRUE;
}

gboolean
tke_piv_client_get_serial (TkePivClient *self, guint32 *serial, GError **error)
{
  TkeApdu apdu = { 0x00, INS_GET_SERIAL, 0x00, 0x00, .ne = 256 };
  g_autoptr (GBytes) answer = NULL;
  const guint8 *b;

  g_return_val_if_fail (TKE_IS_PIV_CLIENT (self), FALSE);
  g_return_val_if_fail (serial != NULL, FALSE);

  answer = exchange (self, &apdu,
                     /* TRANSLATORS: completes "The card refused %s". */
                     _ ("reporting its serial number"), error);
  if (answer == NULL)
    return FALSE;
  if (g_bytes_get_size (answer) != 4)
    return malformed (error, "GET SERIAL");
  b = g_bytes_get_data (answer, NULL);
  *serial = ((guint32) b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3];
  return TRUE;
}

gboolean
tke_piv_client_get_metadata (TkePivClient *self, guint8 slot, TkePivMetadata *metadata,
                             GError **error)
{
  TkeApdu apdu = { 0x00, INS_GET_METADATA, 0x00, slot, .ne = 256 };
  g_autoptr (GBytes) answer = NULL;
  const guint8 *p;
  gsize left;

  g_return_val_if_fail (TKE_IS_PIV_CLIENT (self), FALSE);
  g_return_val_if_fail (metadata != NULL, FALSE);

  *metadata = (TkePivMetadata){ -1, -1, -1, -1, -1, -1, -1, NULL };
  answer = exchange (self, &apdu,
                     /* TRANSLATORS: completes "The card refused %s". */
                     _ ("reporting a key's metadata"), error);
  if (answer == NULL)
    return FALSE;

  p = g_bytes_get_data (answer, &left);
  while (left > 0)
    {
      TkeTlv tlv;

      if (!tke_tlv_next (&p, &left, &tlv, error))
        {
          tke_piv_metadata_clear (metadata);
          return FALSE;
        }
      switch (tlv.tag)
        {
          case 0x01:
            if (tlv.len != 1)
              goto bad;
            metadata->algorithm = tlv.value[0];
            break;
          case 0x02:
            if (tlv.len != 2)
              goto bad;
            metadata->pin_policy = tlv.value[0];
            metadata->touch_policy = tlv.value[1];
            break;
          case 0x03:
            if (tlv.len != 1)
              goto bad;
            metadata->origin = tlv.value[0];
            break;
          case 0x04:
            {
              TkeTlv point;

              /* EC public keys: 86 L point. */
              if (!tke_tlv_find (tlv.value, tlv.len, 0x86, &point, error))
                {
                  tke_piv_metadata_clear (metadata);
                  return FALSE;
                }
              g_clear_pointer (&metadata->public_point, g_bytes_unref);
              metadata->public_point = g_bytes_new (point.value, point.len);
            }
            break;
          case 0x05:
            if (tlv.len != 1)
              goto bad;
            metadata->is_default = tlv.value[0];
            break;
          case 0x06:
            if (tlv.len != 2)
              goto bad;
            metadata->retries_total = tlv.value[0];
            metadata->retries_left = tlv.value[1];
            break;
          default:
            break; /* later firmware may add tags */
        }
    }
  return TRUE;

bad:
  tke_piv_metadata_clear (metadata);
  return malformed (error, "GET METADATA");
}

gboolean
tke_piv_client_set_management_key (TkePivClient *self, TkePivAlgorithm algorithm,
                                   const TkeSecret *key, gboolean require_touch, GError **error)
{
  gsize key_len = tke_piv_management_key_len (algorithm);
  guint8 data[3 + 32];
  TkeApdu apdu = { 0x00, INS_SET_MGMT_KEY, 0xFF, require_touch ? 0xFE : 0xFF,
                   data, .sensitive = TRUE };
  gboolean ok;

  g_return_val_if_fail (TKE_IS_PIV_CLIENT (self), FALSE);
  g_return_val_if_fail (key != NULL, FALSE);

  if (key_len == 0 || tke_secret_len (key) != key_len)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                   /* TRANSLATORS: %02X is the number of the key's algorithm in hexadecimal, %zu
                    * the size its keys have. */
                   _ ("A management key for algorithm %02X has %zu bytes."), algorithm, key_len);
      return FALSE;
    }
  data[0] = algorithm;
  data[1] = TKE_PIV_SLOT_MANAGEMENT;
  data[2] = key_len;
  memcpy (data + 3, tke_secret_peek (key), key_len);
  apdu.len = 3 + key_len;
  ok = exchange_no_data (self, &apdu,
                         /* TRANSLATORS: completes "The card refused %s". */
                         _ ("setting the management key"), error);
  tke_wipe (data, sizeof data);
  return ok;
}
