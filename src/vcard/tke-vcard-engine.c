/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The virtual PIV card: APDU parsing, transport (chaining, GET RESPONSE) and every command. */
#include "config.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>

#include "tke-error.h"
#include "tke-tlv.h"
#include "tke-vcard-engine-private.h"

/* Status words, named as SP 800-73-4 and ISO 7816-4 name them. */
#define SW_OK                       0x9000
#define SW_BYTES_REMAINING          0x6100
#define SW_WRONG_PIN                0x63C0
#define SW_MEMORY_FAILURE           0x6581
#define SW_WRONG_LENGTH             0x6700
#define SW_SECURITY_NOT_SATISFIED   0x6982
#define SW_AUTH_BLOCKED             0x6983
#define SW_CONDITIONS_NOT_SATISFIED 0x6985
#define SW_INCORRECT_DATA           0x6A80
#define SW_FILE_NOT_FOUND           0x6A82
#define SW_NOT_ENOUGH_MEMORY        0x6A84
#define SW_REFERENCE_NOT_FOUND      0x6A88
#define SW_WRONG_P1P2               0x6B00
#define SW_WRONG_LE                 0x6C00
#define SW_INS_NOT_SUPPORTED        0x6D00
#define SW_CLA_NOT_SUPPORTED        0x6E00

#define INS_VERIFY               0x20
#define INS_CHANGE_REFERENCE     0x24
#define INS_RESET_RETRY_COUNTER  0x2C
#define INS_GENERATE_KEY         0x47
#define INS_GENERAL_AUTHENTICATE 0x87
#define INS_SELECT               0xA4
#define INS_GET_RESPONSE         0xC0
#define INS_GET_DATA             0xCB
#define INS_PUT_DATA             0xDB
#define INS_GET_METADATA         0xF7
#define INS_GET_SERIAL           0xF8
#define INS_SET_PIN_RETRIES      0xFA
#define INS_RESET                0xFB
#define INS_GET_VERSION          0xFD
#define INS_IMPORT_KEY           0xFE
#define INS_SET_MANAGEMENT_KEY   0xFF

#define SLOT_MANAGEMENT 0x9B
#define REF_PIN         0x80
#define REF_PUK         0x81

/* Chained command data beyond this is refused: the largest command is a full PUT DATA. */
#define CHAIN_MAX 4096

static const guint8 piv_aid[] = {
  0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00
};
/* T=0 and T=1 offered, historical bytes "TKEVCARD". The bare 3B 80 80 01 01 would do for pcscd,
 * but OpenSC 0.23 takes that ATR for a PIVKey uTrust token and turns off EC for it. */
static const guint8 atr[] = { 0x3B, 0x88, 0x80, 0x01, 0x54, 0x4B, 0x45,
                              0x56, 0x43, 0x41, 0x52, 0x44, 0x11 };
static const guint8 default_mgmt_key[] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
                                           0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
                                           0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08 };
static const guint8 slot_ids[TKE_VCARD_N_SLOTS] = {
  0x9A, 0x9C, 0x9D, 0x9E, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
  0x8A, 0x8B, 0x8C, 0x8D, 0x8E, 0x8F, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95,
};

/* A parsed C-APDU; data points into the command buffer. */
typedef struct
{
  guint8 cla;
  guint8 ins;
  guint8 p1;
  guint8 p2;
  const guint8 *data;
  gsize lc;
  gsize ne; /* the most answer bytes the host takes */
  gboolean has_le;
} Apdu;

/* What a command answers before the transport cuts it to Le. */
typedef struct
{
  GByteArray *data;
  guint16 sw;
  /* A short, fixed answer: when Le is too small the host is told the right Le (6Cxx) instead of
   * being handed a piece of it. */
  gboolean fixed_length;
} Reply;

static void tke_vcard_engine_virtual_card_init (TkeVirtualCardInterface *iface);
static gboolean save_locked (TkeVcardEngine *self, GError **error);

static void
reply_clear (Reply *reply)
{
  if (reply->data != NULL)
    {
      OPENSSL_cleanse (reply->data->data, reply->data->len);
      g_byte_array_unref (reply->data);
    }
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Reply, reply_clear)

G_DEFINE_FINAL_TYPE_WITH_CODE (TkeVcardEngine, tke_vcard_engine, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (TKE_TYPE_VIRTUAL_CARD,
                                                      tke_vcard_engine_virtual_card_init))

/* Crypto helpers */

gsize
tke_vcard_alg_field_len (guint8 alg)
{
  switch (alg)
    {
      case TKE_VCARD_ALG_ECCP256:
        return 32;
      case TKE_VCARD_ALG_ECCP384:
        return 48;
      default:
        return 0;
    }
}

static const char *
alg_group_name (guint8 alg)
{
  return alg == TKE_VCARD_ALG_ECCP256 ? "P-256" : "P-384";
}

static int
alg_nid (guint8 alg)
{
  return alg == TKE_VCARD_ALG_ECCP256 ? NID_X9_62_prime256v1 : NID_secp384r1;
}

gboolean
tke_vcard_mgmt_key_len_ok (guint8 alg, gsize len)
{
  switch (alg)
    {
      case TKE_VCARD_MGMT_ALG_3DES:
      case TKE_VCARD_MGMT_ALG_AES192:
        return len == 24;
      case TKE_VCARD_MGMT_ALG_AES128:
        return len == 16;
      case TKE_VCARD_MGMT_ALG_AES256:
        return len == 32;
      default:
        return FALSE;
    }
}

static gsize
mgmt_block_len (guint8 alg)
{
  return alg == TKE_VCARD_MGMT_ALG_3DES ? 8 : 16;
}

static EVP_PKEY *
ec_key_from_params (guint8 alg, const BIGNUM *priv, const guint8 *pub, gsize pub_len)
{
  OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new ();
  OSSL_PARAM *params = NULL;
  EVP_PKEY_CTX *ctx = NULL;
  EVP_PKEY *key = NULL;

  if (bld == NULL)
    return NULL;
  if (OSSL_PARAM_BLD_push_utf8_string (bld, OSSL_PKEY_PARAM_GROUP_NAME, alg_group_name (alg), 0) !=
          1 ||
      OSSL_PARAM_BLD_push_octet_string (bld, OSSL_PKEY_PARAM_PUB_KEY, pub, pub_len) != 1 ||
      (priv != NULL && OSSL_PARAM_BLD_push_BN (bld, OSSL_PKEY_PARAM_PRIV_KEY, priv) != 1))
    goto out;
  params = OSSL_PARAM_BLD_to_param (bld);
  ctx = EVP_PKEY_CTX_new_from_name (NULL, "EC", NULL);
  if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init (ctx) != 1)
    goto out;
  if (EVP_PKEY_fromdata (ctx, &key, priv != NULL ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
                         params) != 1)
    key = NULL;

out:
  EVP_PKEY_CTX_free (ctx);
  OSSL_PARAM_free (params);
  OSSL_PARAM_BLD_free (bld);
  return key;
}

/* Builds a key pair from its private scalar; NULL unless 0 < d < n. */
EVP_PKEY *
tke_vcard_ec_key_from_private (guint8 alg, const guint8 *d, gsize d_len)
{
  gsize field_len = tke_vcard_alg_field_len (alg);
  EC_GROUP *group = NULL;
  EC_POINT *point = NULL;
  BIGNUM *priv = NULL;
  EVP_PKEY *key = NULL;
  guint8 pub[1 + 2 * 48];
  gsize pub_len;

  if (field_len == 0 || d_len != field_len)
    return NULL;

  group = EC_GROUP_new_by_curve_name_ex (NULL, NULL, alg_nid (alg));
  priv = BN_secure_new ();
  if (group == NULL || priv == NULL || BN_bin2bn (d, (int) d_len, priv) == NULL)
    goto out;
  if (BN_is_zero (priv) || BN_cmp (priv, EC_GROUP_get0_order (group)) >= 0)
    goto out;

  point = EC_POINT_new (group);
  if (point == NULL || EC_POINT_mul (group, point, priv, NULL, NULL, NULL) != 1)
    goto out;
  pub_len = EC_POINT_point2oct (group, point, POINT_CONVERSION_UNCOMPRESSED, pub, sizeof pub, NULL);
  if (pub_len != 1 + 2 * field_len)
    goto out;

  key = ec_key_from_params (alg, priv, pub, pub_len);

out:
  EC_POINT_free (point);
  BN_clear_free (priv);
  EC_GROUP_free (group);
  return key;
}

gboolean
tke_vcard_ec_key_get_private (EVP_PKEY *key, guint8 alg, guint8 *d, gsize d_len)
{
  BIGNUM *priv = NULL;
  gboolean ok;

  if (d_len != tke_vcard_alg_field_len (alg) ||
      EVP_PKEY_get_bn_param (key, OSSL_PKEY_PARAM_PRIV_KEY, &priv) != 1)
    return FALSE;
  ok = BN_bn2binpad (priv, d, (int) d_len) == (int) d_len;
  BN_clear_free (priv);
  return ok;
}

/* The uncompressed public point 04 X Y; FALSE if the key can't give it. */
static gboolean
ec_key_get_public (EVP_PKEY *key, guint8 alg, guint8 *out, gsize *out_len)
{
  gsize want = 1 + 2 * tke_vcard_alg_field_len (alg);
  size_t len = 0;

  if (EVP_PKEY_get_octet_string_param (key, OSSL_PKEY_PARAM_PUB_KEY, out, want, &len) != 1 ||
      len != want || out[0] != 0x04)
    return FALSE;
  *out_len = len;
  return TRUE;
}

static EVP_PKEY *
ec_key_generate (guint8 alg)
{
  return EVP_PKEY_Q_keygen (NULL, NULL, "EC", alg_group_name (alg));
}

/* One block of ECB with the management key, as PIV's mutual authentication uses it. */
static gboolean
mgmt_cipher_block (TkeVcardEngine *self, gboolean encrypt, const guint8 *in, guint8 *out)
{
  const char *name;
  EVP_CIPHER *cipher;
  EVP_CIPHER_CTX *ctx;
  int block = (int) mgmt_block_len (self->mgmt_alg);
  int n = 0;
  gboolean ok = FALSE;

  switch (self->mgmt_alg)
    {
      case TKE_VCARD_MGMT_ALG_3DES:
        name = "DES-EDE3-ECB";
        break;
      case TKE_VCARD_MGMT_ALG_AES128:
        name = "AES-128-ECB";
        break;
      case TKE_VCARD_MGMT_ALG_AES192:
        name = "AES-192-ECB";
        break;
      case TKE_VCARD_MGMT_ALG_AES256:
        name = "AES-256-ECB";
        break;
      default:
        return FALSE;
    }

  cipher = EVP_CIPHER_fetch (NULL, name, NULL);
  ctx = EVP_CIPHER_CTX_new ();
  if (cipher != NULL && ctx != NULL &&
      EVP_CipherInit_ex2 (ctx, cipher, self->mgmt_key, NULL, encrypt ? 1 : 0, NULL) == 1 &&
      EVP_CIPHER_CTX_set_padding (ctx, 0) == 1 && EVP_CipherUpdate (ctx, out, &n, in, block) == 1 &&
      n == block)
    ok = TRUE;
  EVP_CIPHER_CTX_free (ctx);
  EVP_CIPHER_free (cipher);
  return ok;
}

/* State */

TkeVcardSlot *
tke_vcard_engine_find_slot (TkeVcardEngine *self, guint8 slot_id)
{
  for (guint i = 0; i < TKE_VCARD_N_SLOTS; i++)
    if (self->slots[i].id == slot_id)
      return &self->slots[i];
  return NULL;
}

static void
slot_clear (TkeVcardSlot *slot)
{
  g_clear_pointer (&slot->key, EVP_PKEY_free);
  slot->alg = 0;
  slot->pin_policy = 0;
  slot->touch_policy = 0;
  slot->origin = 0;
}

static guint8
slot_default_pin_policy (guint8 slot_id)
{
  switch (slot_id)
    {
      case 0x9C:
        return TKE_VCARD_PIN_POLICY_ALWAYS;
      case 0x9E:
        return TKE_VCARD_PIN_POLICY_NEVER;
      default:
        return TKE_VCARD_PIN_POLICY_ONCE;
    }
}

static void
pin_set_text (TkeVcardPin *pin, const char *text)
{
  gsize len = strlen (text);

  memset (pin->value, 0xFF, sizeof pin->value);
  memcpy (pin->value, text, MIN (len, sizeof pin->value));
}

/* An answer not yet fetched may hold a shared secret: it is wiped, not just freed. */
static void
pending_clear (TkeVcardEngine *self)
{
  if (self->pending != NULL)
    {
      OPENSSL_cleanse (self->pending->data, self->pending->len);
      g_clear_pointer (&self->pending, g_byte_array_unref);
    }
  self->pending_offset = 0;
}

static void
drop_security_state (TkeVcardEngine *self)
{
  self->pin_verified = FALSE;
  self->pin_just_verified = FALSE;
  self->mgmt_authenticated = FALSE;
  self->mgmt_step = TKE_VCARD_MGMT_STEP_NONE;
  OPENSSL_cleanse (self->mgmt_nonce, sizeof self->mgmt_nonce);
  g_byte_array_set_size (self->chain, 0);
  pending_clear (self);
}

/* Back to the factory state, keeping the serial number and the management key algorithm. */
static void
factory_reset (TkeVcardEngine *self, guint8 mgmt_alg)
{
  pin_set_text (&self->pin, "123456");
  self->pin.retries_max = self->pin.retries_left = TKE_VCARD_DEFAULT_RETRIES;
  self->pin.is_default = TRUE;
  pin_set_text (&self->puk, "12345678");
  self->puk.retries_max = self->puk.retries_left = TKE_VCARD_DEFAULT_RETRIES;
  self->puk.is_default = TRUE;

  self->mgmt_alg = mgmt_alg;
  OPENSSL_cleanse (self->mgmt_key, sizeof self->mgmt_key);
  memcpy (self->mgmt_key, default_mgmt_key, sizeof default_mgmt_key);
  self->mgmt_key_len = sizeof default_mgmt_key;
  self->mgmt_is_default = TRUE;
  self->mgmt_touch_policy = TKE_VCARD_TOUCH_POLICY_NEVER;

  for (guint i = 0; i < TKE_VCARD_N_SLOTS; i++)
    slot_clear (&self->slots[i]);
  g_hash_table_remove_all (self->objects);
  drop_security_state (self);
}

/* Writes the image when the card has a file. A card that can't keep a change says so (6581). */
static gboolean
persist (TkeVcardEngine *self)
{
  g_autoptr (GError) error = NULL;

  if (self->path == NULL)
    return TRUE;
  if (!save_locked (self, &error))
    {
      g_message ("The virtual card could not keep a change: %s", error->message);
      return FALSE;
    }
  return TRUE;
}

/* APDU parsing */

/* Splits a C-APDU into its parts (short and extended forms). FALSE: the lengths don't add up. */
static gboolean
apdu_parse (const guint8 *buf, gsize len, Apdu *apdu)
{
  memset (apdu, 0, sizeof *apdu);
  if (len < 4)
    return FALSE;

  apdu->cla = buf[0];
  apdu->ins = buf[1];
  apdu->p1 = buf[2];
  apdu->p2 = buf[3];
  apdu->ne = 256;

  if (len == 4)
    return TRUE; /* case 1 */

  if (len == 5)
    {
      /* case 2 short */
      apdu->has_le = TRUE;
      apdu->ne = buf[4] == 0 ? 256 : buf[4];
      return TRUE;
    }

  if (buf[4] != 0)
    {
      gsize lc = buf[4];

      apdu->data = buf + 5;
      apdu->lc = lc;
      if (len == 5 + lc)
        return TRUE; /* case 3 short */
      if (len == 6 + lc)
        {
          apdu->has_le = TRUE;
          apdu->ne = buf[5 + lc] == 0 ? 256 : buf[5 + lc];
          return TRUE; /* case 4 short */
        }
      return FALSE;
    }

  /* Extended: 00 then two length bytes. */
  if (len < 7)
    return FALSE;
  if (len == 7)
    {
      gsize le = ((gsize) buf[5] << 8) | buf[6];

      apdu->has_le = TRUE;
      apdu->ne = le == 0 ? 65536 : le;
      return TRUE; /* case 2 extended */
    }
  {
    gsize lc = ((gsize) buf[5] << 8) | buf[6];

    if (lc == 0)
      return FALSE;
    apdu->data = buf + 7;
    apdu->lc = lc;
    if (len == 7 + lc)
      return TRUE; /* case 3 extended */
    if (len == 9 + lc)
      {
        gsize le = ((gsize) buf[7 + lc] << 8) | buf[8 + lc];

        apdu->has_le = TRUE;
        apdu->ne = le == 0 ? 65536 : le;
        return TRUE; /* case 4 extended */
      }
  }
  return FALSE;
}

/* The first TLV with tag among well-formed TLVs; FALSE if absent or malformed. */
static gboolean
find_tag (const guint8 *data, gsize len, guint32 tag, TkeTlv *tlv)
{
  return tke_tlv_find_optional (data, len, tag, tlv, NULL);
}

/* PIN formats: 6 to 8 bytes, none FF, then FF padding to 8. */
static gboolean
pin_format_ok (const guint8 *value, gsize len)
{
  gsize n = 0;

  if (len != TKE_VCARD_PIN_LEN)
    return FALSE;
  while (n < len && value[n] != 0xFF)
    n++;
  for (gsize i = n; i < len; i++)
    if (value[i] != 0xFF)
      return FALSE;
  return n >= 6;
}

static void
reply_bytes (Reply *reply, const guint8 *data, gsize len)
{
  g_byte_array_append (reply->data, data, len);
}

static void
reply_byte (Reply *reply, guint8 byte)
{
  g_byte_array_append (reply->data, &byte, 1);
}

/* Commands */

static guint16
cmd_select (TkeVcardEngine *self, const Apdu *apdu, Reply *reply)
{
  if (apdu->p1 != 0x04 || (apdu->p2 != 0x00 && apdu->p2 != 0x0C))
    return SW_WRONG_P1P2;
  if (apdu->lc < 5 || apdu->lc > sizeof piv_aid || memcmp (apdu->data, piv_aid, apdu->lc) != 0)
    return SW_FILE_NOT_FOUND;

  if (apdu->p2 == 0x00)
    {
      /* Application property template: the application identifier and its authority. */
      static const guint8 apt[] = { 0x61, 0x11, 0x4F, 0x06, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00,
                                    0x79, 0x07, 0x4F, 0x05, 0xA0, 0x00, 0x00, 0x03, 0x08 };
      reply_bytes (reply, apt, sizeof apt);
    }
  return SW_OK;
}

static guint16
retries_sw (const TkeVcardPin *pin)
{
  if (pin->retries_left == 0)
    return SW_AUTH_BLOCKED;
  return SW_WRONG_PIN | MIN (pin->retries_left, 0x0F);
}

/* Checks value against pin, counting a wrong one. Returns the SW to answer on failure, or 0. */
static guint16
pin_check (TkeVcardEngine *self, TkeVcardPin *pin, const guint8 *value)
{
  if (pin->retries_left == 0)
    return SW_AUTH_BLOCKED;

  if (CRYPTO_memcmp (pin->value, value, TKE_VCARD_PIN_LEN) != 0)
    {
      pin->retries_left--;
      if (pin == &self->pin)
        self->pin_verified = FALSE;
      if (!persist (self))
        return SW_MEMORY_FAILURE;
      return retries_sw (pin);
    }

  if (pin->retries_left != pin->retries_max)
    {
      pin->retries_left = pin->retries_max;
      if (!persist (self))
        return SW_MEMORY_FAILURE;
    }
  return 0;
}

static guint16
cmd_verify (TkeVcardEngine *self, const Apdu *apdu, Reply *reply)
{
  TkeVcardPin *pin;
  guint16 sw;

  if (apdu->p2 == REF_PIN)
    pin = &self->pin;
  else if (apdu->p2 == REF_PUK)
    pin = &self->puk;
  else
    return SW_REFERENCE_NOT_FOUND;

  if (apdu->p1 == 0xFF)
    {
      /* Logout: reset the security status of the reference. */
      if (apdu->lc != 0)
        return SW_WRONG_LENGTH;
      if (pin == &self->pin)
        self->pin_verified = FALSE;
      return SW_OK;
    }
  if (apdu->p1 != 0x00)
    return SW_WRONG_P1P2;

  if (apdu->lc == 0)
    {
      /* Status query: verified, or how many tries are left. */
      if (pin == &self->pin && self->pin_verified && pin->retries_left > 0)
        return SW_OK;
      return retries_sw (pin);
    }

  if (apdu->lc != TKE_VCARD_PIN_LEN)
    return SW_WRONG_LENGTH;
  if (!pin_format_ok (apdu->data, apdu->lc))
    return SW_INCORRECT_DATA;

  sw = pin_check (self, pin, apdu->data);
  if (sw != 0)
    return sw;

  if (pin == &self->pin)
    {
      self->pin_verified = TRUE;
      self->pin_just_verified = TRUE;
    }
  return SW_OK;
}

static guint16
cmd_change_reference (TkeVcardEngine *self, const Apdu *apdu, Reply *reply)
{
  TkeVcardPin *pin;
  guint16 sw;

  if (apdu->p1 != 0x00)
    return SW_WRONG_P1P2;
  if (apdu->p2 == REF_PIN)
    pin = &self->pin;
  else if (apdu->p2 == REF_PUK)
    pin = &self->puk;
  else
    return SW_REFERENCE_NOT_FOUND;

  if (apdu->lc != 2 * TKE_VCARD_PIN_LEN)
    return SW_WRONG_LENGTH;
  if (!pin_format_ok (apdu->data, TKE_VCARD_PIN_LEN) ||
      !pin_format_ok (apdu->data + TKE_VCARD_PIN_LEN, TKE_VCARD_PIN_LEN))
    return SW_INCORRECT_DATA;

  sw = pin_check (self, pin, apdu->data);
  if (sw != 0)
    return sw;

  memcpy (pin->value, apdu->data + TKE_VCARD_PIN_LEN, TKE_VCARD_PIN_LEN);
  pin->is_default = FALSE;
  if (!persist (self))
    return SW_MEMORY_FAILURE;
  return SW_OK;
}

static guint16
cmd_reset_retry_counter (TkeVcardEngine *self, const Apdu *apdu, Reply *reply)
{
  guint16 sw;

  if (apdu->p1 != 0x00)
    return SW_WRONG_P1P2;
  if (apdu->p2 != REF_PIN)
    return SW_REFERENCE_NOT_FOUND;
  if (apdu->lc != 2 * TKE_VCARD_PIN_LEN)
    return SW_WRONG_LENGTH;
  if (!pin_format_ok (apdu->data, TKE_VCARD_PIN_LEN) ||
      !pin_format_ok (apdu->data + TKE_VCARD_PIN_LEN, TKE_VCARD_PIN_LEN))
    return SW_INCORRECT_DATA;

  sw = pin_check (self, &self->puk, apdu->data);
  if (sw != 0)
    return sw;

  memcpy (self->pin.value, apdu->data + TKE_VCARD_PIN_LEN, TKE_VCARD_PIN_LEN);
  self->pin.retries_left = self->pin.retries_max;
  self->pin.is_default = FALSE;
  self->pin_verified = FALSE;
  if (!persist (self))
    return SW_MEMORY_FAILURE;
  return SW_OK;
}

/* Reads the object id of GET DATA / PUT DATA (tag 5C). 0 when the data is malformed. */
static guint32
object_id_from_tlv (const TkeTlv *tlv)
{
  guint32 id = 0;

  if (tlv->len == 1 && tlv->value[0] == 0x7E)
    return 0x7E;
  if (tlv->len != 3 || tlv->value[0] != 0x5F)
    return 0;
  for (gsize i = 0; i < 3; i++)
    id = (id << 8) | tlv->value[i];
  return id;
}

static gboolean
object_needs_pin (guint32 id)
{
  /* Fingerprints, facial image, printed information, iris images (SP 800-73-4 table 3). */
  return id == 0x5FC103 || id == 0x5FC108 || id == 0x5FC109 || id == 0x5FC121;
}

static guint16
cmd_get_data (TkeVcardEngine *self, const Apdu *apdu, Reply *reply)
{
  const guint8 *p = apdu->data;
  gsize left = apdu->lc;
  TkeTlv tlv;
  guint32 id;
  GBytes *content;

  if (apdu->p1 != 0x3F || apdu->p2 != 0xFF)
    return SW_WRONG_P1P2;
  if (apdu->lc == 0 || !tke_tlv_next (&p, &left, &tlv, NULL) || left != 0 || tlv.tag != 0x5C)
    return SW_INCORRECT_DATA;
  id = object_id_from_tlv (&tlv);
  if (id == 0)
    return SW_INCORRECT_DATA;

  if (id == 0x7E)
    {
      /* Discovery object: the PIV AID, and the PIV PIN as the only PIN (no global PIN). */
      static const guint8 discovery[] = { 0x7E, 0x12, 0x4F, 0x0B, 0xA0, 0x00, 0x00,
                                          0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x01,
                                          0x00, 0x5F, 0x2F, 0x02, 0x40, 0x00 };
      reply_bytes (reply, discovery, sizeof discovery);
      return SW_OK;
    }

  if (object_needs_pin (id) && !self->pin_verified)
    return SW_SECURITY_NOT_SATISFIED;

  content = g_hash_table_lookup (self->objects, GUINT_TO_POINTER (id));
  if (content == NULL)
    return SW_FILE_NOT_FOUND;

  tke_tlv_append (reply->data, 0x53, g_bytes_get_data (content, NULL), g_bytes_get_size (content));
  return SW_OK;
}

static guint16
cmd_put_data (TkeVcardEngine *self, const Apdu *apdu, Reply *reply)
{
  const guint8 *p = apdu->data;
  gsize left = apdu->lc;
  TkeTlv id_tlv, content;
  guint32 id;

  if (apdu->p1 != 0x3F || apdu->p2 != 0xFF)
    return SW_WRONG_P1P2;
  if (!self->mgmt_authenticated)
    return SW_SECURITY_NOT_SATISFIED;
  if (apdu->lc == 0 || !tke_tlv_next (&p, &left, &id_tlv, NULL) || id_tlv.tag != 0x5C)
    return SW_INCORRECT_DATA;
  id = object_id_from_tlv (&id_tlv);
  if (id == 0 || id == 0x7E)
    return SW_INCORRECT_DATA;
  if (!tke_tlv_next (&p, &left, &content, NULL) || left != 0 || content.tag != 0x53)
    return SW_INCORRECT_DATA;
  if (content.len > TKE_VCARD_OBJECT_MAX_LEN)
    return SW_NOT_ENOUGH_MEMORY;

  if (content.len == 0)
    g_hash_table_remove (self->objects, GUINT_TO_POINTER (id));
  else
    g_hash_table_insert (self->objects, GUINT_TO_POINTER (id),
                         g_bytes_new (content.value, content.len));
  if (!persist (self))
    return SW_MEMORY_FAILURE;
  return SW_OK;
}

/* Reads the optional PIN and touch policy TLVs (AA, AB) of GENERATE and IMPORT KEY. */
static gboolean
parse_policies (const guint8 *data, gsize len, guint8 *pin_policy, guint8 *touch_policy)
{
  TkeTlv tlv;

  *pin_policy = TKE_VCARD_PIN_POLICY_DEFAULT;
  *touch_policy = TKE_VCARD_TOUCH_POLICY_DEFAULT;
  if (find_tag (data, len, 0xAA, &tlv))
    {
      if (tlv.len != 1 || tlv.value[0] > TKE_VCARD_PIN_POLICY_ALWAYS)
        return FALSE;
      *pin_policy = tlv.value[0];
    }
  if (find_tag (data, len, 0xAB, &tlv))
    {
      if (tlv.len != 1 || tlv.value[0] > 3)
        return FALSE;
      *touch_policy = tlv.value[0];
    }
  return TRUE;
}

static void
slot_install (TkeVcardSlot *slot, guint8 alg, EVP_PKEY *key, guint8 pin_policy, guint8 touch_policy,
              guint8 origin)
{
  slot_clear (slot);
  slot->alg = alg;
  slot->key = key;
  slot->pin_policy =
      pin_policy != TKE_VCARD_PIN_POLICY_DEFAULT ? pin_policy : slot_default_pin_policy (slot->id);
  slot->touch_policy =
      touch_policy != TKE_VCARD_TOUCH_POLICY_DEFAULT ? touch_policy : TKE_VCARD_TOUCH_POLICY_NEVER;
  slot->origin = origin;
}

static guint16
cmd_generate (TkeVcardEngine *self, const Apdu *apdu, Reply *reply)
{
  TkeVcardSlot *slot;
  TkeTlv template, alg_tlv;
  guint8 pin_policy, touch_policy;
  guint8 pub[1 + 2 * 48];
  gsize pub_len;
  EVP_PKEY *key;
  gsize field_len;

  if (apdu->p1 != 0x00)
    return SW_WRONG_P1P2;
  slot = tke_vcard_engine_find_slot (self, apdu->p2);
  if (slot == NULL)
    return SW_REFERENCE_NOT_FOUND;
  if (!self->mgmt_authenticated)
    return SW_SECURITY_NOT_SATISFIED;

  if (apdu->lc == 0 || !tke_tlv_validate (apdu->data, apdu->lc, NULL) ||
      !find_tag (apdu->data, apdu->lc, 0xAC, &template) ||
      !tke_tlv_validate (template.value, template.len, NULL) ||
      !find_tag (template.value, template.len, 0x80, &alg_tlv) || alg_tlv.len != 1)
    return SW_INCORRECT_DATA;
  field_len = tke_vcard_alg_field_len (alg_tlv.value[0]);
  if (field_len == 0)
    return SW_INCORRECT_DATA;
  if (!parse_policies (template.value, template.len, &pin_policy, &touch_policy))
    return SW_INCORRECT_DATA;

  key = ec_key_generate (alg_tlv.value[0]);
  if (key == NULL || !ec_key_get_public (key, alg_tlv.value[0], pub, &pub_len))
    {
      EVP_PKEY_free (key);
      return SW_MEMORY_FAILURE;
    }
  slot_install (slot, alg_tlv.value[0], key, pin_policy, touch_policy, TKE_VCARD_ORIGIN_GENERATED);
  if (!persist (self))
    return SW_MEMORY_FAILURE;

  tke_tlv_append_header (reply->data, 0x7F49, tke_tlv_length_size (pub_len) + 1 + pub_len);
  tke_tlv_append (reply->data, 0x86, pub, pub_len);
  return SW_OK;
}

static guint16
cmd_import_key (TkeVcardEngine *self, const Apdu *apdu, Reply *reply)
{
  TkeVcardSlot *slot;
  TkeTlv scalar;
  guint8 pin_policy, touch_policy;
  gsize field_len = tke_vcard_alg_field_len (apdu->p1);
  EVP_PKEY *key;

  if (field_len == 0)
    return SW_WRONG_P1P2;
  slot = tke_vcard_engine_find_slot (self, apdu->p2);
  if (slot == NULL)
    return SW_REFERENCE_NOT_FOUND;
  if (!self->mgmt_authenticated)
    return SW_SECURITY_NOT_SATISFIED;

  if (apdu->lc == 0 || !tke_tlv_validate (apdu->data, apdu->lc, NULL) ||
      !find_tag (apdu->data, apdu->lc, 0x06, &scalar) || scalar.len != field_len ||
      !parse_policies (apdu->data, apdu->lc, &pin_policy, &touch_policy))
    return SW_INCORRECT_DATA;

  key = tke_vcard_ec_key_from_private (apdu->p1, scalar.value, scalar.len);
  if (key == NULL)
    return SW_INCORRECT_DATA;
  slot_install (slot, apdu->p1, key, pin_policy, touch_policy, TKE_VCARD_ORIGIN_IMPORTED);
  if (!persist (self))
    return SW_MEMORY_FAILURE;
  return SW_OK;
}

static guint16
auth_management (TkeVcardEngine *self, const Apdu *apdu, const guint8 *inner, gsize inner_len,
                 Reply *reply)
{
  gsize block = mgmt_block_len (self->mgmt_alg);
  TkeVcardMgmtStep step = self->mgmt_step;
  TkeTlv witness, challenge, response;
  gboolean has_witness, has_challenge, has_response;
  guint8 buf[16];

  /* Whatever happens next, a half-done authentication can't be resumed. */
  self->mgmt_step = TKE_VCARD_MGMT_STEP_NONE;

  if (apdu->p1 != self->mgmt_alg)
    return SW_INCORRECT_DATA;

  has_witness = find_tag (inner, inner_len, 0x80, &witness);
  has_challenge = find_tag (inner, inner_len, 0x81, &challenge);
  has_response = find_tag (inner, inner_len, 0x82, &response);

  if (has_witness && witness.len == 0 && !has_challenge && !has_response)
    {
      /* Step 1 of mutual authentication: send a random witness, encrypted. */
      if (RAND_bytes (self->mgmt_nonce, (int) block) != 1 ||
          !mgmt_cipher_block (self, TRUE, self->mgmt_nonce, buf))
        return SW_MEMORY_FAILURE;
      self->mgmt_step = TKE_VCARD_MGMT_STEP_WITNESS;
      tke_tlv_append_header (reply->data, 0x7C, 2 + block);
      tke_tlv_append (reply->data, 0x80, buf, block);
      OPENSSL_cleanse (buf, sizeof buf);
      return SW_OK;
    }

  if (has_witness && has_challenge && !has_response)
    {
      /* Step 2: the host decrypted the witness and challenges the card in turn. */
      gboolean match;

      if (witness.len != block || challenge.len != block)
        return SW_INCORRECT_DATA;
      match = step == TKE_VCARD_MGMT_STEP_WITNESS &&
              CRYPTO_memcmp (witness.value, self->mgmt_nonce, block) == 0;
      OPENSSL_cleanse (self->mgmt_nonce, sizeof self->mgmt_nonce);
      if (!match)
        return SW_SECURITY_NOT_SATISFIED;
      if (!mgmt_cipher_block (self, TRUE, challenge.value, buf))
        return SW_MEMORY_FAILURE;
      self->mgmt_authenticated = TRUE;
      tke_tlv_append_header (reply->data, 0x7C, 2 + block);
      tke_tlv_append (reply->data, 0x82, buf, block);
      OPENSSL_cleanse (buf, sizeof buf);
      return SW_OK;
    }

  if (has_challenge && challenge.len == 0 && !has_witness && !has_response)
    {
      /* External authentication, step 1: a plain challenge for the host to encrypt. */
      if (RAND_bytes (self->mgmt_nonce, (int) block) != 1)
        return SW_MEMORY_FAILURE;
      self->mgmt_step = TKE_VCARD_MGMT_STEP_CHALLENGE;
      tke_tlv_append_header (reply->data, 0x7C, 2 + block);
      tke_tlv_append (reply->data, 0x81, self->mgmt_nonce, block);
      return SW_OK;
    }

  if (has_response && !has_witness && !has_challenge)
    {
      gboolean match;

      if (response.len != block)
        return SW_INCORRECT_DATA;
      if (step != TKE_VCARD_MGMT_STEP_CHALLENGE ||
          !mgmt_cipher_block (self, TRUE, self->mgmt_nonce, buf))
        return SW_SECURITY_NOT_SATISFIED;
      match = CRYPTO_memcmp (buf, response.value, block) == 0;
      OPENSSL_cleanse (buf, sizeof buf);
      OPENSSL_cleanse (self->mgmt_nonce, sizeof self->mgmt_nonce);
      if (!match)
        return SW_SECURITY_NOT_SATISFIED;
      self->mgmt_authenticated = TRUE;
      return SW_OK;
    }

  return SW_INCORRECT_DATA;
}

static guint16
auth_sign (TkeVcardSlot *slot, const TkeTlv *digest, Reply *reply)
{
  EVP_PKEY_CTX *ctx;
  guint8 sig[160];
  size_t sig_len = sizeof sig;
  gboolean ok;

  if (digest->len == 0 || digest->len > tke_vcard_alg_field_len (slot->alg))
    return SW_INCORRECT_DATA;

  ctx = EVP_PKEY_CTX_new_from_pkey (NULL, slot->key, NULL);
  ok = ctx != NULL && EVP_PKEY_sign_init (ctx) == 1 &&
       EVP_PKEY_sign (ctx, sig, &sig_len, digest->value, digest->len) == 1;
  EVP_PKEY_CTX_free (ctx);
  if (!ok)
    return SW_MEMORY_FAILURE;

  tke_tlv_append_header (reply->data, 0x7C, 1 + tke_tlv_length_size (sig_len) + sig_len);
  tke_tlv_append (reply->data, 0x82, sig, sig_len);
  return SW_OK;
}

static guint16
auth_ecdh (TkeVcardSlot *slot, const TkeTlv *point, Reply *reply)
{
  gsize field_len = tke_vcard_alg_field_len (slot->alg);
  EVP_PKEY *peer;
  EVP_PKEY_CTX *ctx = NULL;
  guint8 secret[48];
  size_t secret_len = sizeof secret;
  gboolean ok;

  if (point->len != 1 + 2 * field_len || point->value[0] != 0x04)
    return SW_INCORRECT_DATA;
  peer = ec_key_from_params (slot->alg, NULL, point->value, point->len);
  if (peer == NULL)
    return SW_INCORRECT_DATA;

  ctx = EVP_PKEY_CTX_new_from_pkey (NULL, slot->key, NULL);
  ok = ctx != NULL && EVP_PKEY_derive_init (ctx) == 1 &&
       EVP_PKEY_derive_set_peer_ex (ctx, peer, 1) == 1 &&
       EVP_PKEY_derive (ctx, secret, &secret_len) == 1 && secret_len == field_len;
  EVP_PKEY_CTX_free (ctx);
  EVP_PKEY_free (peer);
  if (!ok)
    {
      OPENSSL_cleanse (secret, sizeof secret);
      return SW_INCORRECT_DATA;
    }

  tke_tlv_append_header (reply->data, 0x7C, 1 + tke_tlv_length_size (secret_len) + secret_len);
  tke_tlv_append (reply->data, 0x82, secret, secret_len);
  OPENSSL_cleanse (secret, sizeof secret);
  return SW_OK;
}

static guint16
cmd_general_authenticate (TkeVcardEngine *self, const Apdu *apdu, gboolean pin_just_verified,
                          Reply *reply)
{
  const guint8 *p = apdu->data;
  gsize left = apdu->lc;
  TkeTlv outer, response, challenge, exponent;
  TkeVcardSlot *slot;

  if (apdu->lc == 0 || !tke_tlv_next (&p, &left, &outer, NULL) || left != 0 || outer.tag != 0x7C ||
      !tke_tlv_validate (outer.value, outer.len, NULL))
    {
      self->mgmt_step = TKE_VCARD_MGMT_STEP_NONE;
      return SW_INCORRECT_DATA;
    }

  if (apdu->p2 == SLOT_MANAGEMENT)
    return auth_management (self, apdu, outer.value, outer.len, reply);
  self->mgmt_step = TKE_VCARD_MGMT_STEP_NONE;

  slot = tke_vcard_engine_find_slot (self, apdu->p2);
  if (slot == NULL || slot->alg == 0)
    return SW_REFERENCE_NOT_FOUND;
  if (apdu->p1 != slot->alg)
    return SW_INCORRECT_DATA;

  switch (slot->pin_policy)
    {
      case TKE_VCARD_PIN_POLICY_ALWAYS:
        if (!pin_just_verified)
          return SW_SECURITY_NOT_SATISFIED;
        break;
      case TKE_VCARD_PIN_POLICY_ONCE:
        if (!self->pin_verified)
          return SW_SECURITY_NOT_SATISFIED;
        break;
      default:
        break;
    }

  /* The answer goes in 82, which the host sends empty. */
  if (!find_tag (outer.value, outer.len, 0x82, &response) || response.len != 0)
    return SW_INCORRECT_DATA;
  if (find_tag (outer.value, outer.len, 0x81, &challenge))
    return auth_sign (slot, &challenge, reply);
  if (find_tag (outer.value, outer.len, 0x85, &exponent))
    return auth_ecdh (slot, &exponent, reply);
  return SW_INCORRECT_DATA;
}

static void
metadata_pin (const TkeVcardPin *pin, Reply *reply)
{
  const guint8 retries[] = { pin->retries_max, pin->retries_left };

  tke_tlv_append_byte (reply->data, 0x01, 0xFF);
  tke_tlv_append_byte (reply->data, 0x05, pin->is_default ? 1 : 0);
  tke_tlv_append (reply->data, 0x06, retries, sizeof retries);
}

static guint16
cmd_get_metadata (TkeVcardEngine *self, const Apdu *apdu, Reply *reply)
{
  TkeVcardSlot *slot;

  if (apdu->p1 != 0x00)
    return SW_WRONG_P1P2;

  reply->fixed_length = TRUE;
  switch (apdu->p2)
    {
      case REF_PIN:
        metadata_pin (&self->pin, reply);
        return SW_OK;
      case REF_PUK:
        metadata_pin (&self->puk, reply);
        return SW_OK;
      case SLOT_MANAGEMENT:
        {
          const guint8 policy[] = { 0x00, self->mgmt_touch_policy };

          tke_tlv_append_byte (reply->data, 0x01, self->mgmt_alg);
          tke_tlv_append (reply->data, 0x02, policy, sizeof policy);
          tke_tlv_append_byte (reply->data, 0x05, self->mgmt_is_default ? 1 : 0);
          return SW_OK;
        }
      default:
        break;
    }

  slot = tke_vcard_engine_find_slot (self, apdu->p2);
  if (slot == NULL || slot->alg == 0)
    return SW_REFERENCE_NOT_FOUND;

  {
    const guint8 policy[] = { slot->pin_policy, slot->touch_policy };
    guint8 pub[1 + 2 * 48];
    gsize pub_len;

    if (!ec_key_get_public (slot->key, slot->alg, pub, &pub_len))
      return SW_MEMORY_FAILURE;
    tke_tlv_append_byte (reply->data, 0x01, slot->alg);
    tke_tlv_append (reply->data, 0x02, policy, sizeof policy);
    tke_tlv_append_byte (reply->data, 0x03, slot->origin);
    tke_tlv_append_header (reply->data, 0x04, 1 + tke_tlv_length_size (pub_len) + pub_len);
    tke_tlv_append (reply->data, 0x86, pub, pub_len);
  }
  return SW_OK;
}

static guint16
cmd_set_management_key (TkeVcardEngine *self, const Apdu *apdu, Reply *reply)
{
  guint8 alg, len;

  if (apdu->p1 != 0xFF || (apdu->p2 != 0xFF && apdu->p2 != 0xFE))
    return SW_WRONG_P1P2;
  if (!self->mgmt_authenticated)
    return SW_SECURITY_NOT_SATISFIED;
  if (apdu->lc < 3)
    return SW_WRONG_LENGTH;

  alg = apdu->data[0];
  len = apdu->data[2];
  if (apdu->data[1] != SLOT_MANAGEMENT || apdu->lc != 3u + len ||
      !tke_vcard_mgmt_key_len_ok (alg, len))
    return SW_INCORRECT_DATA;

  OPENSSL_cleanse (self->mgmt_key, sizeof self->mgmt_key);
  memcpy (self->mgmt_key, apdu->data + 3, len);
  self->mgmt_key_len = len;
  self->mgmt_alg = alg;
  self->mgmt_is_default = FALSE;
  /* P2 FE asks for touch, which a virtual card records but has no button to enforce. */
  self->mgmt_touch_policy = apdu->p2 == 0xFE ? 2 : TKE_VCARD_TOUCH_POLICY_NEVER;
  if (!persist (self))
    return SW_MEMORY_FAILURE;
  return SW_OK;
}

static guint16
cmd_set_pin_retries (TkeVcardEngine *self, const Apdu *apdu, Reply *reply)
{
  if (!self->mgmt_authenticated || !self->pin_verified)
    return SW_SECURITY_NOT_SATISFIED;
  if (apdu->p1 == 0 || apdu->p2 == 0 || apdu->p1 > 15 || apdu->p2 > 15)
    return SW_WRONG_P1P2;

  /* As on a YubiKey: new counters bring the PIN and PUK back to their defaults. */
  pin_set_text (&self->pin, "123456");
  self->pin.retries_max = self->pin.retries_left = apdu->p1;
  self->pin.is_default = TRUE;
  pin_set_text (&self->puk, "12345678");
  self->puk.retries_max = self->puk.retries_left = apdu->p2;
  self->puk.is_default = TRUE;
  self->pin_verified = FALSE;
  if (!persist (self))
    return SW_MEMORY_FAILURE;
  return SW_OK;
}

static guint16
cmd_reset (TkeVcardEngine *self, const Apdu *apdu, Reply *reply)
{
  /* Only a card whose PIN and PUK are both blocked may be wiped. */
  if (self->pin.retries_left != 0 || self->puk.retries_left != 0)
    return SW_CONDITIONS_NOT_SATISFIED;
  /* The default key is 24 bytes: a card that had moved to AES-128 or AES-256 comes back with
   * AES-192, as a YubiKey 5.7 does. */
  factory_reset (self, self->mgmt_alg == TKE_VCARD_MGMT_ALG_3DES ? TKE_VCARD_MGMT_ALG_3DES
                                                                 : TKE_VCARD_MGMT_ALG_AES192);
  if (!persist (self))
    return SW_MEMORY_FAILURE;
  return SW_OK;
}

static guint16
dispatch (TkeVcardEngine *self, const Apdu *apdu, gboolean pin_just_verified, Reply *reply)
{
  switch (apdu->ins)
    {
      case INS_SELECT:
        return cmd_select (self, apdu, reply);
      case INS_VERIFY:
        return cmd_verify (self, apdu, reply);
      case INS_CHANGE_REFERENCE:
        return cmd_change_reference (self, apdu, reply);
      case INS_RESET_RETRY_COUNTER:
        return cmd_reset_retry_counter (self, apdu, reply);
      case INS_GET_DATA:
        return cmd_get_data (self, apdu, reply);
      case INS_PUT_DATA:
        return cmd_put_data (self, apdu, reply);
      case INS_GENERATE_KEY:
        return cmd_generate (self, apdu, reply);
      case INS_GENERAL_AUTHENTICATE:
        return cmd_general_authenticate (self, apdu, pin_just_verified, reply);
      case INS_GET_METADATA:
        return cmd_get_metadata (self, apdu, reply);
      case INS_SET_MANAGEMENT_KEY:
        return cmd_set_management_key (self, apdu, reply);
      case INS_IMPORT_KEY:
        return cmd_import_key (self, apdu, reply);
      case INS_SET_PIN_RETRIES:
        return cmd_set_pin_retries (self, apdu, reply);
      case INS_RESET:
        return cmd_reset (self, apdu, reply);
      case INS_GET_VERSION:
        {
          const guint8 version[] = { TKE_VCARD_VERSION_MAJOR, TKE_VCARD_VERSION_MINOR,
                                     TKE_VCARD_VERSION_PATCH };

          if (apdu->p1 != 0 || apdu->p2 != 0)
            return SW_WRONG_P1P2;
          reply->fixed_length = TRUE;
          reply_bytes (reply, version, sizeof version);
          return SW_OK;
        }
      case INS_GET_SERIAL:
        /* Serial 0: a PIV card of a maker without this extension, which has no serial to give. */
        if (self->serial == 0)
          return SW_INS_NOT_SUPPORTED;
        if (apdu->p1 != 0 || apdu->p2 != 0)
          return SW_WRONG_P1P2;
        reply->fixed_length = TRUE;
        reply_byte (reply, self->serial >> 24);
        reply_byte (reply, (self->serial >> 16) & 0xFF);
        reply_byte (reply, (self->serial >> 8) & 0xFF);
        reply_byte (reply, self->serial & 0xFF);
        return SW_OK;
      default:
        return SW_INS_NOT_SUPPORTED;
    }
}

/* Transport */

static GBytes *
sw_only (guint16 sw)
{
  const guint8 out[] = { sw >> 8, sw & 0xFF };

  return g_bytes_new (out, sizeof out);
}

/* Hands out up to ne bytes of the pending answer, with 61xx while more is left. */
static GBytes *
send_pending (TkeVcardEngine *self, gsize ne)
{
  gsize total = self->pending->len;
  gsize left = total - self->pending_offset;
  gsize n = MIN (ne, left);
  const guint8 *data = self->pending->data;
  GByteArray *out = g_byte_array_sized_new (n + 2);
  guint8 sw[2] = { 0x90, 0x00 };

  g_byte_array_append (out, data + self->pending_offset, n);
  self->pending_offset += n;
  left -= n;
  if (left > 0)
    {
      sw[0] = SW_BYTES_REMAINING >> 8;
      sw[1] = left >= 256 ? 0x00 : left;
    }
  else
    pending_clear (self);
  g_byte_array_append (out, sw, 2);
  return g_byte_array_free_to_bytes (out);
}

static GBytes *
process (TkeVcardEngine *self, const guint8 *buf, gsize len)
{
  Apdu apdu;
  g_auto (Reply) reply = { 0 };
  gboolean pin_just_verified;
  guint16 sw;
  GByteArray *full = NULL;

  /* PIN-always keys work only for the command right after VERIFY (its chained parts included):
   * any other APDU, even a malformed one, locks them again. */
  pin_just_verified = self->pin_just_verified;
  self->pin_just_verified = FALSE;

  if (!apdu_parse (buf, len, &apdu))
    {
      g_byte_array_set_size (self->chain, 0);
      pending_clear (self);
      self->mgmt_step = TKE_VCARD_MGMT_STEP_NONE;
      return sw_only (SW_WRONG_LENGTH);
    }

  if ((apdu.cla & ~0x10) != 0x00)
    {
      g_byte_array_set_size (self->chain, 0);
      pending_clear (self);
      self->mgmt_step = TKE_VCARD_MGMT_STEP_NONE;
      return sw_only (SW_CLA_NOT_SUPPORTED);
    }

  if (apdu.ins == INS_GET_RESPONSE && apdu.cla == 0x00)
    {
      if (apdu.p1 != 0 || apdu.p2 != 0)
        return sw_only (SW_WRONG_P1P2);
      if (self->pending == NULL)
        return sw_only (SW_CONDITIONS_NOT_SATISFIED);
      return send_pending (self, apdu.ne);
    }
  pending_clear (self);

  if (apdu.cla & 0x10 && apdu.ins == INS_GENERAL_AUTHENTICATE)
    self->pin_just_verified = pin_just_verified;
  /* A half-done management key authentication ends with any other command. */
  if (!(apdu.ins == INS_GENERAL_AUTHENTICATE && apdu.p2 == SLOT_MANAGEMENT))
    self->mgmt_step = TKE_VCARD_MGMT_STEP_NONE;

  /* Command chaining: collect the parts; another command abandons an unfinished chain. */
  if (self->chain->len > 0 &&
      (apdu.ins != self->chain_ins || apdu.p1 != self->chain_p1 || apdu.p2 != self->chain_p2))
    g_byte_array_set_size (self->chain, 0);

  if (apdu.cla & 0x10)
    {
      if (self->chain->len + apdu.lc > CHAIN_MAX)
        {
          g_byte_array_set_size (self->chain, 0);
          return sw_only (apdu.ins == INS_PUT_DATA ? SW_NOT_ENOUGH_MEMORY : SW_WRONG_LENGTH);
        }
      if (apdu.lc > 0)
        g_byte_array_append (self->chain, apdu.data, apdu.lc);
      self->chain_ins = apdu.ins;
      self->chain_p1 = apdu.p1;
      self->chain_p2 = apdu.p2;
      return sw_only (SW_OK);
    }

  if (self->chain->len > 0)
    {
      if (self->chain->len + apdu.lc > CHAIN_MAX)
        {
          g_byte_array_set_size (self->chain, 0);
          return sw_only (apdu.ins == INS_PUT_DATA ? SW_NOT_ENOUGH_MEMORY : SW_WRONG_LENGTH);
        }
      full = self->chain;
      self->chain = g_byte_array_new ();
      if (apdu.lc > 0)
        g_byte_array_append (full, apdu.data, apdu.lc);
      apdu.data = full->data;
      apdu.lc = full->len;
    }

  reply.data = g_byte_array_new ();
  sw = dispatch (self, &apdu, pin_just_verified, &reply);

  if (full != NULL)
    {
      OPENSSL_cleanse (full->data, full->len);
      g_byte_array_unref (full);
    }

  if (sw != SW_OK || reply.data->len == 0)
    return sw_only (sw);

  if (reply.fixed_length && apdu.has_le && apdu.ne < reply.data->len && reply.data->len <= 256)
    return sw_only (SW_WRONG_LE | reply.data->len);

  /* The answer becomes the pending buffer, wiped once it has all been fetched or dropped. */
  self->pending = g_steal_pointer (&reply.data);
  self->pending_offset = 0;
  return send_pending (self, MIN (apdu.ne, (gsize) 65536));
}

/* TkeVirtualCard */

static GBytes *
tke_vcard_engine_get_atr (TkeVirtualCard *card)
{
  return g_bytes_new_static (atr, sizeof atr);
}

static void
tke_vcard_engine_power_on (TkeVirtualCard *card)
{
  TkeVcardEngine *self = TKE_VCARD_ENGINE (card);

  g_mutex_lock (&self->lock);
  drop_security_state (self);
  g_mutex_unlock (&self->lock);
}

static void
tke_vcard_engine_power_off (TkeVirtualCard *card)
{
  TkeVcardEngine *self = TKE_VCARD_ENGINE (card);

  g_mutex_lock (&self->lock);
  drop_security_state (self);
  g_mutex_unlock (&self->lock);
}

static GBytes *
tke_vcard_engine_transmit (TkeVirtualCard *card, GBytes *command)
{
  TkeVcardEngine *self = TKE_VCARD_ENGINE (card);
  gsize len;
  const guint8 *buf = g_bytes_get_data (command, &len);
  GBytes *answer;

  g_mutex_lock (&self->lock);
  answer = process (self, buf, len);
  g_mutex_unlock (&self->lock);
  return answer;
}

static void
tke_vcard_engine_virtual_card_init (TkeVirtualCardInterface *iface)
{
  iface->get_atr = tke_vcard_engine_get_atr;
  iface->power_on = tke_vcard_engine_power_on;
  iface->power_off = tke_vcard_engine_power_off;
  iface->reset = tke_vcard_engine_power_off;
  iface->transmit = tke_vcard_engine_transmit;
}

/* GObject */

static void
tke_vcard_engine_finalize (GObject *object)
{
  TkeVcardEngine *self = TKE_VCARD_ENGINE (object);

  drop_security_state (self);
  for (guint i = 0; i < TKE_VCARD_N_SLOTS; i++)
    slot_clear (&self->slots[i]);
  OPENSSL_cleanse (self->mgmt_key, sizeof self->mgmt_key);
  OPENSSL_cleanse (&self->pin, sizeof self->pin);
  OPENSSL_cleanse (&self->puk, sizeof self->puk);
  g_clear_pointer (&self->objects, g_hash_table_unref);
  g_clear_pointer (&self->chain, g_byte_array_unref);
  g_clear_pointer (&self->path, g_free);
  g_mutex_clear (&self->lock);

  G_OBJECT_CLASS (tke_vcard_engine_parent_class)->finalize (object);
}

static void
tke_vcard_engine_class_init (TkeVcardEngineClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = tke_vcard_engine_finalize;
}

static void
tke_vcard_engine_init (TkeVcardEngine *self)
{
  g_mutex_init (&self->lock);
  self->objects =
      g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, (GDestroyNotify) g_bytes_unref);
  self->chain = g_byte_array_new ();
  for (guint i = 0; i < TKE_VCARD_N_SLOTS; i++)
    self->slots[i].id = slot_ids[i];
  factory_reset (self, TKE_VCARD_MGMT_ALG_3DES);
}

/* Public API */

TkeVcardEngine *
tke_vcard_engine_new_blank (guint32 serial, TkeVcardMgmtAlg mgmt_alg)
{
  TkeVcardEngine *self;

  g_return_val_if_fail (
      mgmt_alg == TKE_VCARD_MGMT_ALG_3DES || mgmt_alg == TKE_VCARD_MGMT_ALG_AES192, NULL);

  self = g_object_new (TKE_TYPE_VCARD_ENGINE, NULL);
  self->serial = serial;
  factory_reset (self, mgmt_alg);
  return self;
}

TkeVcardEngine *
tke_vcard_engine_load (const char *path, GError **error)
{
  g_autoptr (TkeVcardEngine) self = NULL;
  g_autofree char *data = NULL;
  gsize len = 0;
  g_autoptr (GError) local_error = NULL;

  g_return_val_if_fail (path != NULL, NULL);

  if (!g_file_get_contents (path, &data, &len, &local_error))
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_NOT_FOUND, "The card image %s could not be read: %s",
                   path, local_error->message);
      return NULL;
    }

  self = g_object_new (TKE_TYPE_VCARD_ENGINE, NULL);
  if (!tke_vcard_image_parse (self, data, len, &local_error))
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_CORRUPT_FILE,
                   "The card image %s is damaged and was not loaded: %s", path,
                   local_error->message);
      OPENSSL_cleanse (data, len);
      return NULL;
    }
  OPENSSL_cleanse (data, len);
  self->path = g_strdup (path);
  return g_steal_pointer (&self);
}

void
tke_vcard_engine_set_path (TkeVcardEngine *self, const char *path)
{
  g_return_if_fail (TKE_IS_VCARD_ENGINE (self));

  g_mutex_lock (&self->lock);
  g_free (self->path);
  self->path = g_strdup (path);
  g_mutex_unlock (&self->lock);
}

const char *
tke_vcard_engine_get_path (TkeVcardEngine *self)
{
  g_return_val_if_fail (TKE_IS_VCARD_ENGINE (self), NULL);
  return self->path;
}

/* The caller holds self->lock. */
static gboolean
save_locked (TkeVcardEngine *self, GError **error)
{
  g_autoptr (GBytes) image = NULL;
  g_autoptr (GError) local_error = NULL;
  gsize len;
  const char *data;
  gboolean ok;

  if (self->path == NULL)
    {
      g_set_error_literal (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                           "This virtual card lives in memory only: give it a file first.");
      return FALSE;
    }

  image = tke_vcard_image_serialize (self);
  data = g_bytes_get_data (image, &len);
  /* Temp file + fsync + rename: a crash leaves the old image or the new one, never half of one. */
  ok = g_file_set_contents_full (self->path, data, (gssize) len,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0600,
                                 &local_error);
  OPENSSL_cleanse ((gpointer) data, len);
  if (!ok)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_FAILED, "The card image %s could not be written: %s",
                   self->path, local_error->message);
      return FALSE;
    }
  return TRUE;
}

gboolean
tke_vcard_engine_save (TkeVcardEngine *self, GError **error)
{
  gboolean ok;

  g_return_val_if_fail (TKE_IS_VCARD_ENGINE (self), FALSE);

  g_mutex_lock (&self->lock);
  ok = save_locked (self, error);
  g_mutex_unlock (&self->lock);
  return ok;
}

guint32
tke_vcard_engine_get_serial (TkeVcardEngine *self)
{
  g_return_val_if_fail (TKE_IS_VCARD_ENGINE (self), 0);
  return self->serial;
}

TkeVcardMgmtAlg
tke_vcard_engine_get_mgmt_alg (TkeVcardEngine *self)
{
  g_return_val_if_fail (TKE_IS_VCARD_ENGINE (self), TKE_VCARD_MGMT_ALG_3DES);
  return self->mgmt_alg;
}

gboolean
tke_vcard_mgmt_alg_from_string (const char *name, TkeVcardMgmtAlg *alg, GError **error)
{
  static const struct
  {
    const char *name;
    TkeVcardMgmtAlg alg;
  } names[] = {
    { "3des", TKE_VCARD_MGMT_ALG_3DES },
    { "aes128", TKE_VCARD_MGMT_ALG_AES128 },
    { "aes192", TKE_VCARD_MGMT_ALG_AES192 },
    { "aes256", TKE_VCARD_MGMT_ALG_AES256 },
  };

  g_return_val_if_fail (name != NULL && alg != NULL, FALSE);

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (g_ascii_strcasecmp (name, names[i].name) == 0)
      {
        *alg = names[i].alg;
        return TRUE;
      }
  g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
               "“%s” is not a management key algorithm: use 3des, aes128, aes192 or aes256.", name);
  return FALSE;
}
