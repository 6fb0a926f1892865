/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The virtual PIV card through TkeVirtualCard with raw APDUs: every command and status word. */
#include "config.h"

#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "tke-error.h"
#include "tke-vcard-engine.h"

#define SERIAL 12345678

static const guint8 default_mgmt_key[24] = { 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4,
                                             5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8 };

/* Helpers */

static GByteArray *
hex_to_bytes (const char *hex)
{
  GByteArray *out = g_byte_array_new ();
  int hi = -1;

  for (const char *p = hex; *p != '\0'; p++)
    {
      int v = g_ascii_xdigit_value (*p);

      if (v < 0)
        {
          g_assert_true (*p == ' ' || *p == ':');
          continue;
        }
      if (hi < 0)
        hi = v;
      else
        {
          guint8 byte = (hi << 4) | v;
          g_byte_array_append (out, &byte, 1);
          hi = -1;
        }
    }
  g_assert_cmpint (hi, <, 0);
  return out;
}

static GBytes *
transmit_raw (TkeVcardEngine *card, const guint8 *data, gsize len)
{
  g_autoptr (GBytes) command = g_bytes_new (data, len);
  GBytes *answer = tke_virtual_card_transmit (TKE_VIRTUAL_CARD (card), command);

  g_assert_nonnull (answer);
  g_assert_cmpuint (g_bytes_get_size (answer), >=, 2);
  return answer;
}

static GBytes *
transmit_hex (TkeVcardEngine *card, const char *hex)
{
  g_autoptr (GByteArray) command = hex_to_bytes (hex);

  return transmit_raw (card, command->data, command->len);
}

static guint16
sw_of (GBytes *answer)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (answer, &len);

  return (data[len - 2] << 8) | data[len - 1];
}

static gsize
data_len_of (GBytes *answer)
{
  return g_bytes_get_size (answer) - 2;
}

/* Sends one APDU and checks its status word; returns the answer's data (without SW). */
static GBytes *
expect_sw (TkeVcardEngine *card, const char *hex, guint16 sw)
{
  g_autoptr (GBytes) answer = transmit_hex (card, hex);

  if (sw_of (answer) != sw)
    g_error ("APDU %s answered %04X, expected %04X", hex, sw_of (answer), sw);
  return g_bytes_new_from_bytes (answer, 0, data_len_of (answer));
}

#define check_sw(card, hex, sw) g_bytes_unref (expect_sw ((card), (hex), (sw)))

static TkeVcardEngine *
new_card (TkeVcardMgmtAlg alg)
{
  TkeVcardEngine *card = tke_vcard_engine_new_blank (SERIAL, alg);

  tke_virtual_card_power_on (TKE_VIRTUAL_CARD (card));
  check_sw (card, "00 A4 04 00 05 A0 00 00 03 08", 0x9000);
  return card;
}

static void
ecb (const char *cipher_name, const guint8 *key, gboolean encrypt, const guint8 *in, guint8 *out,
     int len)
{
  EVP_CIPHER *cipher = EVP_CIPHER_fetch (NULL, cipher_name, NULL);
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new ();
  int n = 0;

  g_assert_nonnull (cipher);
  g_assert_cmpint (EVP_CipherInit_ex2 (ctx, cipher, key, NULL, encrypt, NULL), ==, 1);
  EVP_CIPHER_CTX_set_padding (ctx, 0);
  g_assert_cmpint (EVP_CipherUpdate (ctx, out, &n, in, len), ==, 1);
  g_assert_cmpint (n, ==, len);
  EVP_CIPHER_CTX_free (ctx);
  EVP_CIPHER_free (cipher);
}

static const char *
cipher_for (guint8 alg)
{
  switch (alg)
    {
      case 0x03:
        return "DES-EDE3-ECB";
      case 0x08:
        return "AES-128-ECB";
      case 0x0A:
        return "AES-192-ECB";
      default:
        return "AES-256-ECB";
    }
}

/* Mutual authentication with the management key; returns the SW of the second step. */
static guint16
mgmt_auth_with (TkeVcardEngine *card, guint8 alg, const guint8 *key)
{
  int block = alg == 0x03 ? 8 : 16;
  g_autofree char *step1 = g_strdup_printf ("00 87 %02X 9B 04 7C 02 80 00", alg);
  g_autoptr (GBytes) witness_answer = expect_sw (card, step1, 0x9000);
  const guint8 *w = g_bytes_get_data (witness_answer, NULL);
  guint8 witness[16], challenge[16], expected[16];
  g_autoptr (GByteArray) cmd = g_byte_array_new ();
  guint8 header[] = { 0x00, 0x87, alg, 0x9B, 6 + 2 * block, 0x7C, 4 + 2 * block, 0x80, block };
  guint8 tag81[] = { 0x81, block };
  g_autoptr (GBytes) answer = NULL;
  const guint8 *a;

  g_assert_cmpuint (g_bytes_get_size (witness_answer), ==, 4 + block);
  g_assert_cmpint (w[0], ==, 0x7C);
  g_assert_cmpint (w[2], ==, 0x80);
  g_assert_cmpint (w[3], ==, block);
  ecb (cipher_for (alg), key, FALSE, w + 4, witness, block);
  for (int i = 0; i < block; i++)
    challenge[i] = 0xA0 + i;

  g_byte_array_append (cmd, header, sizeof header);
  g_byte_array_append (cmd, witness, block);
  g_byte_array_append (cmd, tag81, sizeof tag81);
  g_byte_array_append (cmd, challenge, block);
  answer = transmit_raw (card, cmd->data, cmd->len);
  if (sw_of (answer) != 0x9000)
    return sw_of (answer);

  g_assert_cmpuint (data_len_of (answer), ==, 4 + block);
  a = g_bytes_get_data (answer, NULL);
  g_assert_cmpint (a[2], ==, 0x82);
  ecb (cipher_for (alg), key, TRUE, challenge, expected, block);
  g_assert_cmpmem (a + 4, block, expected, block);
  return 0x9000;
}

static void
mgmt_auth (TkeVcardEngine *card, guint8 alg)
{
  g_assert_cmpuint (mgmt_auth_with (card, alg, default_mgmt_key), ==, 0x9000);
}

static void
verify_default_pin (TkeVcardEngine *card)
{
  check_sw (card, "00 20 00 80 08 31 32 33 34 35 36 FF FF", 0x9000);
}

/* Generates a key in slot, returns the public point (04 X Y). */
static GBytes *
generate (TkeVcardEngine *card, guint8 slot, guint8 alg, int pin_policy)
{
  g_autofree char *apdu = NULL;
  g_autoptr (GBytes) answer = NULL;
  const guint8 *a;
  gsize len, point_len = alg == 0x11 ? 65 : 97;

  if (pin_policy > 0)
    apdu = g_strdup_printf ("00 47 00 %02X 08 AC 06 80 01 %02X AA 01 %02X", slot, alg, pin_policy);
  else
    apdu = g_strdup_printf ("00 47 00 %02X 05 AC 03 80 01 %02X", slot, alg);
  answer = expect_sw (card, apdu, 0x9000);
  a = g_bytes_get_data (answer, &len);
  g_assert_cmpint (a[0], ==, 0x7F);
  g_assert_cmpint (a[1], ==, 0x49);
  g_assert_cmpuint (a[2], ==, point_len + 2);
  g_assert_cmpint (a[3], ==, 0x86);
  g_assert_cmpuint (a[4], ==, point_len);
  g_assert_cmpint (a[5], ==, 0x04);
  g_assert_cmpuint (len, ==, 5 + point_len);
  return g_bytes_new (a + 5, point_len);
}

static EVP_PKEY *
public_key_from_point (GBytes *point)
{
  gsize len;
  const guint8 *p = g_bytes_get_data (point, &len);
  OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new ();
  OSSL_PARAM *params;
  EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name (NULL, "EC", NULL);
  EVP_PKEY *key = NULL;

  OSSL_PARAM_BLD_push_utf8_string (bld, OSSL_PKEY_PARAM_GROUP_NAME, len == 65 ? "P-256" : "P-384",
                                   0);
  OSSL_PARAM_BLD_push_octet_string (bld, OSSL_PKEY_PARAM_PUB_KEY, p, len);
  params = OSSL_PARAM_BLD_to_param (bld);
  g_assert_cmpint (EVP_PKEY_fromdata_init (ctx), ==, 1);
  g_assert_cmpint (EVP_PKEY_fromdata (ctx, &key, EVP_PKEY_PUBLIC_KEY, params), ==, 1);
  OSSL_PARAM_free (params);
  OSSL_PARAM_BLD_free (bld);
  EVP_PKEY_CTX_free (ctx);
  return key;
}

/* Signs digest with slot through GENERAL AUTHENTICATE; returns the SW and the DER signature. */
static guint16
sign (TkeVcardEngine *card, guint8 slot, guint8 alg, const guint8 *digest, gsize digest_len,
      GBytes **signature)
{
  g_autoptr (GByteArray) cmd = g_byte_array_new ();
  guint8 header[] = { 0x00,           0x87, alg,  slot, 6 + digest_len, 0x7C,
                      4 + digest_len, 0x82, 0x00, 0x81, digest_len };
  g_autoptr (GBytes) answer = NULL;
  const guint8 *a;

  g_byte_array_append (cmd, header, sizeof header);
  g_byte_array_append (cmd, digest, digest_len);
  answer = transmit_raw (card, cmd->data, cmd->len);
  if (sw_of (answer) != 0x9000)
    return sw_of (answer);
  a = g_bytes_get_data (answer, NULL);
  g_assert_cmpint (a[0], ==, 0x7C);
  g_assert_cmpuint (a[1], ==, data_len_of (answer) - 2);
  g_assert_cmpint (a[2], ==, 0x82);
  g_assert_cmpuint (a[3], ==, data_len_of (answer) - 4);
  if (signature != NULL)
    *signature = g_bytes_new (a + 4, a[3]);
  return 0x9000;
}

static void
assert_signature_verifies (GBytes *point, const guint8 *digest, gsize digest_len, GBytes *signature)
{
  EVP_PKEY *key = public_key_from_point (point);
  EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey (NULL, key, NULL);
  gsize sig_len;
  const guint8 *sig = g_bytes_get_data (signature, &sig_len);

  g_assert_cmpint (EVP_PKEY_verify_init (ctx), ==, 1);
  g_assert_cmpint (EVP_PKEY_verify (ctx, sig, sig_len, digest, digest_len), ==, 1);
  EVP_PKEY_CTX_free (ctx);
  EVP_PKEY_free (key);
}

static char *
temp_image_path (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("tke-vcard-XXXXXX", &error);

  g_assert_no_error (error);
  return g_build_filename (dir, "card.img", NULL);
}

static void
remove_image (const char *path)
{
  g_autofree char *dir = g_path_get_dirname (path);

  g_unlink (path);
  g_rmdir (dir);
}

/* Tests */

static void
test_atr_and_select (void)
{
  g_autoptr (TkeVcardEngine) card = tke_vcard_engine_new_blank (SERIAL, TKE_VCARD_MGMT_ALG_3DES);
  g_autoptr (GBytes) atr = tke_virtual_card_get_atr (TKE_VIRTUAL_CARD (card));
  /* T=1 offered (TD2 = 01), historical bytes "TKEVCARD", and a check byte that makes the XOR of
   * T0..TCK zero. */
  const guint8 expected_atr[] = { 0x3B, 0x88, 0x80, 0x01, 0x54, 0x4B, 0x45,
                                  0x56, 0x43, 0x41, 0x52, 0x44, 0x11 };
  guint8 check = 0;
  g_autoptr (GBytes) apt = NULL;
  const guint8 *a;

  g_assert_cmpmem (g_bytes_get_data (atr, NULL), g_bytes_get_size (atr), expected_atr,
                   sizeof expected_atr);
  for (gsize i = 1; i < sizeof expected_atr; i++)
    check ^= expected_atr[i];
  g_assert_cmpint (check, ==, 0);

  tke_virtual_card_power_on (TKE_VIRTUAL_CARD (card));
  /* OpenSC's long AID form and yubico-piv-tool's short one. */
  apt = expect_sw (card, "00 A4 04 00 09 A0 00 00 03 08 00 00 10 00", 0x9000);
  a = g_bytes_get_data (apt, NULL);
  g_assert_cmpint (a[0], ==, 0x61);
  g_assert_cmpint (a[2], ==, 0x4F);
  check_sw (card, "00 A4 04 00 05 A0 00 00 03 08", 0x9000);
  check_sw (card, "00 A4 04 00 05 A0 00 00 03 08 00", 0x9000);

  /* Another application is not here, and PIV stays selected. */
  check_sw (card, "00 A4 04 00 07 A0 00 00 05 27 47 11", 0x6A82);
  check_sw (card, "00 A4 04 00 04 A0 00 00 03", 0x6A82);
  check_sw (card, "00 FD 00 00", 0x9000);
  check_sw (card, "00 A4 01 00 02 3F 00", 0x6B00);
}

static void
test_version_serial (void)
{
  g_autoptr (TkeVcardEngine) card = new_card (TKE_VCARD_MGMT_ALG_3DES);
  g_autoptr (GBytes) version = expect_sw (card, "00 FD 00 00", 0x9000);
  g_autoptr (GBytes) serial = expect_sw (card, "00 F8 00 00", 0x9000);
  const guint8 expected_serial[] = { 0x00, 0xBC, 0x61, 0x4E };
  const guint8 *v = g_bytes_get_data (version, NULL);

  g_assert_cmpuint (g_bytes_get_size (version), ==, 3);
  g_assert_cmpint (v[0], ==, 5);
  g_assert_cmpint (v[1], ==, 7);
  g_assert_cmpmem (g_bytes_get_data (serial, NULL), g_bytes_get_size (serial), expected_serial,
                   sizeof expected_serial);

  /* A too small Le on a short fixed answer: the card names the right one. */
  check_sw (card, "00 F8 00 00 02", 0x6C04);
  check_sw (card, "00 F8 00 00 04", 0x9000);
  check_sw (card, "00 FD 01 00", 0x6B00);
  g_assert_cmpuint (tke_vcard_engine_get_serial (card), ==, SERIAL);
}

static void
test_malformed (void)
{
  g_autoptr (TkeVcardEngine) card = new_card (TKE_VCARD_MGMT_ALG_3DES);
  const guint8 tiny[] = { 0x00, 0xA4, 0x04 };

  g_bytes_unref (transmit_raw (card, tiny, 0));
  {
    g_autoptr (GBytes) a = transmit_raw (card, tiny, sizeof tiny);
    g_assert_cmphex (sw_of (a), ==, 0x6700);
  }
  /* Lc says 9 bytes, 3 are there. */
  check_sw (card, "00 A4 04 00 09 A0 00 00", 0x6700);
  /* Lc and Le, then a stray byte. */
  check_sw (card, "00 A4 04 00 02 A0 00 00 00", 0x6700);
  check_sw (card, "80 FD 00 00", 0x6E00);
  check_sw (card, "00 12 00 00", 0x6D00);
  check_sw (card, "00 CB 3F FF 02 5C 01", 0x6A80);
  check_sw (card, "00 CB 3F FF 05 5C 03 5F C1", 0x6700);
  check_sw (card, "00 CB 3F FF 05 5C 03 12 34 56", 0x6A80);
  check_sw (card, "00 CB 3F 00 05 5C 03 5F C1 05", 0x6B00);
  check_sw (card, "00 C0 00 00 10", 0x6985);
  /* Extended length: GET SERIAL with Le 00 00 04 and a case 3 extended SELECT. */
  check_sw (card, "00 F8 00 00 00 00 04", 0x9000);
  check_sw (card, "00 A4 04 00 00 00 05 A0 00 00 03 08", 0x9000);
  check_sw (card, "00 A4 04 00 00 00 09 A0 00 00 03 08", 0x6700);
}

static void
test_verify_pin_blocking_and_unblock (void)
{
  g_autoptr (TkeVcardEngine) card = new_card (TKE_VCARD_MGMT_ALG_3DES);

  /* Status: not verified, 3 tries. */
  check_sw (card, "00 20 00 80", 0x63C3);
  check_sw (card, "00 20 00 80 00", 0x63C3);
  verify_default_pin (card);
  check_sw (card, "00 20 00 80", 0x9000);
  /* Logout. */
  check_sw (card, "00 20 FF 80", 0x9000);
  check_sw (card, "00 20 00 80", 0x63C3);

  /* Malformed PINs do not count. */
  check_sw (card, "00 20 00 80 06 31 32 33 34 35 36", 0x6700);
  check_sw (card, "00 20 00 80 08 31 32 33 34 35 FF FF FF", 0x6A80);
  check_sw (card, "00 20 00 80 08 31 32 33 FF 35 36 FF FF", 0x6A80);
  check_sw (card, "00 20 00 82 08 31 32 33 34 35 36 FF FF", 0x6A88);
  check_sw (card, "00 20 00 80", 0x63C3);

  check_sw (card, "00 20 00 80 08 39 39 39 39 39 39 FF FF", 0x63C2);
  /* A right PIN brings the counter back. */
  verify_default_pin (card);
  check_sw (card, "00 20 00 80 08 39 39 39 39 39 39 FF FF", 0x63C2);
  check_sw (card, "00 20 00 80 08 39 39 39 39 39 39 FF FF", 0x63C1);
  check_sw (card, "00 20 00 80", 0x63C1);
  check_sw (card, "00 20 00 80 08 39 39 39 39 39 39 FF FF", 0x6983);
  /* Blocked: even the right PIN is refused, and so is a status query. */
  check_sw (card, "00 20 00 80 08 31 32 33 34 35 36 FF FF", 0x6983);
  check_sw (card, "00 20 00 80", 0x6983);

  /* A wrong PUK counts too. */
  check_sw (card, "00 2C 00 80 10 38 38 38 38 38 38 38 38 36 35 34 33 32 31 FF FF", 0x63C2);
  check_sw (card, "00 2C 00 81 10 31 32 33 34 35 36 37 38 36 35 34 33 32 31 FF FF", 0x6A88);
  check_sw (card, "00 2C 00 80 08 31 32 33 34 35 36 37 38", 0x6700);
  /* The right PUK sets a new PIN and brings back both counters. */
  check_sw (card, "00 2C 00 80 10 31 32 33 34 35 36 37 38 36 35 34 33 32 31 FF FF", 0x9000);
  check_sw (card, "00 20 00 80", 0x63C3);
  check_sw (card, "00 20 00 81", 0x63C3);
  check_sw (card, "00 20 00 80 08 31 32 33 34 35 36 FF FF", 0x63C2);
  check_sw (card, "00 20 00 80 08 36 35 34 33 32 31 FF FF", 0x9000);
}

static void
test_puk_blocking (void)
{
  g_autoptr (TkeVcardEngine) card = new_card (TKE_VCARD_MGMT_ALG_3DES);

  for (guint16 left = 2;; left--)
    {
      check_sw (card, "00 2C 00 80 10 30 30 30 30 30 30 30 30 31 31 31 31 31 31 FF FF",
                left == 0 ? 0x6983 : 0x63C0 | left);
      if (left == 0)
        break;
    }
  check_sw (card, "00 2C 00 80 10 31 32 33 34 35 36 37 38 31 31 31 31 31 31 FF FF", 0x6983);
  check_sw (card, "00 20 00 81", 0x6983);
  /* Reset is refused while the PIN still works. */
  check_sw (card, "00 FB 00 00", 0x6985);
  for (int i = 0; i < 3; i++)
    check_sw (card, "00 20 00 80 08 30 30 30 30 30 30 FF FF", i == 2 ? 0x6983 : 0x63C2 - i);
  /* Both blocked: the card may be wiped back to its defaults. */
  check_sw (card, "00 FB 00 00", 0x9000);
  verify_default_pin (card);
  mgmt_auth (card, 0x03);
}

static void
test_reset_after_aes256 (void)
{
  g_autoptr (TkeVcardEngine) card = new_card (TKE_VCARD_MGMT_ALG_3DES);

  mgmt_auth (card, 0x03);
  g_bytes_unref (generate (card, 0x9A, 0x11, 0));
  check_sw (card, "00 DB 3F FF 08 5C 03 5F C1 0D 53 01 AA", 0x9000);
  check_sw (card,
            "00 FF FF FF 23 0C 9B 20 10 11 12 13 14 15 16 17 18 19 1A 1B 1C 1D 1E 1F 20 21 "
            "22 23 24 25 26 27 28 29 2A 2B 2C 2D 2E 2F",
            0x9000);
  for (int i = 0; i < 3; i++)
    {
      check_sw (card, "00 20 00 80 08 30 30 30 30 30 30 FF FF", i == 2 ? 0x6983 : 0x63C2 - i);
      check_sw (card, "00 24 00 81 10 30 30 30 30 30 30 30 30 31 31 31 31 31 31 31 31",
                i == 2 ? 0x6983 : 0x63C2 - i);
    }
  check_sw (card, "00 FB 00 00", 0x9000);

  /* The 24-byte default key comes back as AES-192; keys and objects are gone. */
  mgmt_auth (card, 0x0A);
  check_sw (card, "00 F7 00 9A", 0x6A88);
  check_sw (card, "00 CB 3F FF 05 5C 03 5F C1 0D", 0x6A82);
  verify_default_pin (card);
  check_sw (card, "00 20 00 81 08 31 32 33 34 35 36 37 38", 0x9000);
}

static void
test_change_reference (void)
{
  g_autoptr (TkeVcardEngine) card = new_card (TKE_VCARD_MGMT_ALG_3DES);
  g_autoptr (GBytes) meta = NULL;

  meta = expect_sw (card, "00 F7 00 80", 0x9000);
  g_assert_cmpmem (g_bytes_get_data (meta, NULL), g_bytes_get_size (meta),
                   "\x01\x01\xFF\x05\x01\x01\x06\x02\x03\x03", 10);
  g_clear_pointer (&meta, g_bytes_unref);

  check_sw (card, "00 24 00 80 10 39 39 39 39 39 39 FF FF 31 31 31 31 31 31 31 31", 0x63C2);
  check_sw (card, "00 24 00 80 10 31 32 33 34 35 36 FF FF 31 31 31 FF FF FF FF FF", 0x6A80);
  check_sw (card, "00 24 00 80 08 31 32 33 34 35 36 FF FF", 0x6700);
  check_sw (card, "00 24 00 83 10 31 32 33 34 35 36 FF FF 31 31 31 31 31 31 31 31", 0x6A88);
  check_sw (card, "00 24 00 80 10 31 32 33 34 35 36 FF FF 31 31 31 31 31 31 31 31", 0x9000);
  check_sw (card, "00 20 00 80 08 31 31 31 31 31 31 31 31", 0x9000);
  check_sw (card, "00 20 00 80 08 31 32 33 34 35 36 FF FF", 0x63C2);

  meta = expect_sw (card, "00 F7 00 80", 0x9000);
  g_assert_cmpmem (g_bytes_get_data (meta, NULL), g_bytes_get_size (meta),
                   "\x01\x01\xFF\x05\x01\x00\x06\x02\x03\x02", 10);
  g_clear_pointer (&meta, g_bytes_unref);

  /* The PUK changes the same way. */
  check_sw (card, "00 24 00 81 10 31 32 33 34 35 36 37 38 38 37 36 35 34 33 32 31", 0x9000);
  check_sw (card, "00 2C 00 80 10 38 37 36 35 34 33 32 31 31 32 33 34 35 36 FF FF", 0x9000);
  verify_default_pin (card);
}

static void
test_mgmt_auth (gconstpointer data)
{
  TkeVcardMgmtAlg alg = GPOINTER_TO_UINT (data);
  g_autoptr (TkeVcardEngine) card = new_card (alg);
  guint8 wrong_key[24];
  g_autoptr (GBytes) meta = NULL;
  const guint8 *m;

  meta = expect_sw (card, "00 F7 00 9B", 0x9000);
  m = g_bytes_get_data (meta, NULL);
  g_assert_cmpint (m[0], ==, 0x01);
  g_assert_cmpint (m[2], ==, alg);

  /* PUT DATA before: refused. */
  check_sw (card, "00 DB 3F FF 08 5C 03 5F C1 0D 53 01 AA", 0x6982);

  /* The wrong algorithm, a wrong key, a second step without a first. */
  check_sw (card, alg == 0x03 ? "00 87 0A 9B 04 7C 02 80 00" : "00 87 03 9B 04 7C 02 80 00",
            0x6A80);
  memcpy (wrong_key, default_mgmt_key, sizeof wrong_key);
  wrong_key[0] ^= 0x40;
  g_assert_cmphex (mgmt_auth_with (card, alg, wrong_key), ==, 0x6982);
  check_sw (card,
            alg == 0x03 ? "00 87 03 9B 16 7C 14 80 08 01 02 03 04 05 06 07 08 81 08 01 02 03 04 "
                          "05 06 07 08"
                        : "00 87 0A 9B 26 7C 24 80 10 01 02 03 04 05 06 07 08 01 02 03 04 05 06 "
                          "07 08 81 10 01 02 03 04 05 06 07 08 01 02 03 04 05 06 07 08",
            0x6982);
  check_sw (card, "00 DB 3F FF 08 5C 03 5F C1 0D 53 01 AA", 0x6982);

  mgmt_auth (card, alg);
  check_sw (card, "00 DB 3F FF 08 5C 03 5F C1 0D 53 01 AA", 0x9000);

  /* Power off forgets it. */
  tke_virtual_card_power_off (TKE_VIRTUAL_CARD (card));
  tke_virtual_card_power_on (TKE_VIRTUAL_CARD (card));
  check_sw (card, "00 DB 3F FF 08 5C 03 5F C1 0D 53 01 BB", 0x6982);
  mgmt_auth (card, alg);
  tke_virtual_card_reset (TKE_VIRTUAL_CARD (card));
  check_sw (card, "00 DB 3F FF 08 5C 03 5F C1 0D 53 01 BB", 0x6982);
}

static void
test_mgmt_external_auth (void)
{
  g_autoptr (TkeVcardEngine) card = new_card (TKE_VCARD_MGMT_ALG_AES192);
  g_autoptr (GBytes) challenge = expect_sw (card, "00 87 0A 9B 04 7C 02 81 00", 0x9000);
  const guint8 *c = g_bytes_get_data (challenge, NULL);
  guint8 response[16];
  g_autoptr (GByteArray) cmd = hex_to_bytes ("00 87 0A 9B 14 7C 12 82 10");
  g_autoptr (GBytes) answer = NULL;

  g_assert_cmpuint (g_bytes_get_size (challenge), ==, 20);
  g_assert_cmpint (c[2], ==, 0x81);
  ecb ("AES-192-ECB", default_mgmt_key, TRUE, c + 4, response, 16);
  g_byte_array_append (cmd, response, 16);
  answer = transmit_raw (card, cmd->data, cmd->len);
  g_assert_cmphex (sw_of (answer), ==, 0x9000);
  check_sw (card, "00 DB 3F FF 08 5C 03 5F C1 0D 53 01 AA", 0x9000);

  /* The same response again, without a fresh challenge, is refused. */
  tke_virtual_card_power_off (TKE_VIRTUAL_CARD (card));
  g_clear_pointer (&answer, g_bytes_unref);
  answer = transmit_raw (card, cmd->data, cmd->len);
  g_assert_cmphex (sw_of (answer), ==, 0x6982);
}

static void
test_set_management_key (void)
{
  g_autoptr (TkeVcardEngine) card = new_card (TKE_VCARD_MGMT_ALG_3DES);
  const guint8 aes256_key[32] = { 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1A,
                                  0x1B, 0x1C, 0x1D, 0x1E, 0x1F, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25,
                                  0x26, 0x27, 0x28, 0x29, 0x2A, 0x2B, 0x2C, 0x2D, 0x2E, 0x2F };
  const guint8 aes128_key[16] = { 0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xA8,
                                  0xA9, 0xAA, 0xAB, 0xAC, 0xAD, 0xAE, 0xAF, 0xB0 };
  g_autoptr (GBytes) meta = NULL;

  check_sw (card,
            "00 FF FF FF 23 0C 9B 20 10 11 12 13 14 15 16 17 18 19 1A 1B 1C 1D 1E 1F 20 21 "
            "22 23 24 25 26 27 28 29 2A 2B 2C 2D 2E 2F",
            0x6982);
  mgmt_auth (card, 0x03);
  /* A length that does not fit the algorithm. */
  check_sw (card, "00 FF FF FF 13 0C 9B 10 10 11 12 13 14 15 16 17 18 19 1A 1B 1C 1D 1E 1F",
            0x6A80);
  check_sw (card, "00 FF FF FF 13 0C 9A 10 10 11 12 13 14 15 16 17 18 19 1A 1B 1C 1D 1E 1F",
            0x6A80);
  check_sw (card, "00 FF 00 FF 03 0C 9B 00", 0x6B00);
  check_sw (card,
            "00 FF FF FF 23 0C 9B 20 10 11 12 13 14 15 16 17 18 19 1A 1B 1C 1D 1E 1F 20 21 "
            "22 23 24 25 26 27 28 29 2A 2B 2C 2D 2E 2F",
            0x9000);
  meta = expect_sw (card, "00 F7 00 9B", 0x9000);
  g_assert_cmpmem (g_bytes_get_data (meta, NULL), g_bytes_get_size (meta),
                   "\x01\x01\x0C\x02\x02\x00\x01\x05\x01\x00", 10);

  tke_virtual_card_reset (TKE_VIRTUAL_CARD (card));
  check_sw (card, "00 87 03 9B 04 7C 02 80 00", 0x6A80);
  g_assert_cmphex (mgmt_auth_with (card, 0x0C, aes256_key), ==, 0x9000);

  /* And on to AES-128. */
  check_sw (card, "00 FF FF FF 13 08 9B 10 A1 A2 A3 A4 A5 A6 A7 A8 A9 AA AB AC AD AE AF B0",
            0x9000);
  tke_virtual_card_reset (TKE_VIRTUAL_CARD (card));
  g_assert_cmphex (mgmt_auth_with (card, 0x08, aes128_key), ==, 0x9000);
}

static void
test_objects (void)
{
  g_autoptr (TkeVcardEngine) card = new_card (TKE_VCARD_MGMT_ALG_3DES);
  g_autoptr (GBytes) object = NULL;

  check_sw (card, "00 CB 3F FF 05 5C 03 5F C1 05", 0x6A82);
  mgmt_auth (card, 0x03);
  check_sw (card, "00 DB 3F FF 0B 5C 03 5F C1 05 53 04 70 02 30 00", 0x9000);
  object = expect_sw (card, "00 CB 3F FF 05 5C 03 5F C1 05 00", 0x9000);
  g_assert_cmpmem (g_bytes_get_data (object, NULL), g_bytes_get_size (object),
                   "\x53\x04\x70\x02\x30\x00", 6);

  /* Any id in 5F0000..5FFFFF is an object; others are not. */
  check_sw (card, "00 DB 3F FF 08 5C 03 5F 00 01 53 01 42", 0x9000);
  check_sw (card, "00 CB 3F FF 05 5C 03 5F 00 01", 0x9000);
  check_sw (card, "00 DB 3F FF 08 5C 03 4F 00 01 53 01 42", 0x6A80);
  /* Trailing bytes, a missing 53, a 53 that lies about its length. */
  check_sw (card, "00 DB 3F FF 09 5C 03 5F 00 01 53 01 42 00", 0x6A80);
  check_sw (card, "00 DB 3F FF 05 5C 03 5F 00 01", 0x6A80);
  check_sw (card, "00 DB 3F FF 08 5C 03 5F 00 01 53 05 42", 0x6A80);

  /* 53 00 deletes. */
  check_sw (card, "00 DB 3F FF 07 5C 03 5F 00 01 53 00", 0x9000);
  check_sw (card, "00 CB 3F FF 05 5C 03 5F 00 01", 0x6A82);

  /* Printed information needs the PIN to read. */
  check_sw (card, "00 DB 3F FF 0A 5C 03 5F C1 09 53 03 88 01 00", 0x9000);
  check_sw (card, "00 CB 3F FF 05 5C 03 5F C1 09", 0x6982);
  verify_default_pin (card);
  check_sw (card, "00 CB 3F FF 05 5C 03 5F C1 09", 0x9000);

  /* The discovery object is always there. */
  g_clear_pointer (&object, g_bytes_unref);
  object = expect_sw (card, "00 CB 3F FF 03 5C 01 7E", 0x9000);
  g_assert_cmpint (((const guint8 *) g_bytes_get_data (object, NULL))[0], ==, 0x7E);
}

/* Sends data with PUT DATA in 255-byte chained blocks; returns the last SW. */
static guint16
put_data_chained (TkeVcardEngine *card, guint32 id, gsize content_len)
{
  g_autoptr (GByteArray) body = g_byte_array_new ();
  const guint8 head[] = { 0x5C, 0x03, id >> 16,         (id >> 8) & 0xFF,  id & 0xFF,
                          0x53, 0x82, content_len >> 8, content_len & 0xFF };
  gsize off = 0;

  g_byte_array_append (body, head, sizeof head);
  for (gsize i = 0; i < content_len; i++)
    {
      guint8 b = i * 7 + 1;
      g_byte_array_append (body, &b, 1);
    }

  while (TRUE)
    {
      gsize n = MIN (255, body->len - off);
      gboolean last = off + n == body->len;
      g_autoptr (GByteArray) apdu = g_byte_array_new ();
      const guint8 h[] = { last ? 0x00 : 0x10, 0xDB, 0x3F, 0xFF, n };
      g_autoptr (GBytes) answer = NULL;

      g_byte_array_append (apdu, h, sizeof h);
      g_byte_array_append (apdu, body->data + off, n);
      answer = transmit_raw (card, apdu->data, apdu->len);
      off += n;
      if (last || sw_of (answer) != 0x9000)
        return sw_of (answer);
    }
}

/* Reads an object with GET RESPONSE, as a host with the given first Le would. */
static GByteArray *
get_data_long (TkeVcardEngine *card, guint32 id, guint8 le, guint *n_apdus)
{
  GByteArray *out = g_byte_array_new ();
  g_autofree char *apdu = g_strdup_printf ("00 CB 3F FF 05 5C 03 %02X %02X %02X %02X", id >> 16,
                                           (id >> 8) & 0xFF, id & 0xFF, le);
  g_autoptr (GBytes) answer = transmit_hex (card, apdu);

  *n_apdus = 1;
  while (TRUE)
    {
      guint16 sw = sw_of (answer);
      g_autofree char *get_response = NULL;

      g_byte_array_append (out, g_bytes_get_data (answer, NULL), data_len_of (answer));
      if (sw == 0x9000)
        return out;
      g_assert_cmphex (sw & 0xFF00, ==, 0x6100);
      get_response = g_strdup_printf ("00 C0 00 00 %02X", sw & 0xFF);
      g_clear_pointer (&answer, g_bytes_unref);
      answer = transmit_hex (card, get_response);
      (*n_apdus)++;
    }
}

static void
test_chaining_both_ways (void)
{
  g_autoptr (TkeVcardEngine) card = new_card (TKE_VCARD_MGMT_ALG_3DES);
  g_autoptr (GByteArray) object = NULL;
  g_autoptr (GBytes) first = NULL;
  guint n_apdus;

  mgmt_auth (card, 0x03);
  g_assert_cmphex (put_data_chained (card, 0x5FC10D, TKE_VCARD_OBJECT_MAX_LEN), ==, 0x9000);
  g_assert_cmphex (put_data_chained (card, 0x5FC10E, TKE_VCARD_OBJECT_MAX_LEN + 1), ==, 0x6A84);
  check_sw (card, "00 CB 3F FF 05 5C 03 5F C1 0E", 0x6A82);

  object = get_data_long (card, 0x5FC10D, 0x00, &n_apdus);
  g_assert_cmpuint (object->len, ==, 4 + TKE_VCARD_OBJECT_MAX_LEN);
  g_assert_cmpint (object->data[0], ==, 0x53);
  g_assert_cmpint (object->data[1], ==, 0x82);
  g_assert_cmpuint ((object->data[2] << 8) | object->data[3], ==, TKE_VCARD_OBJECT_MAX_LEN);
  for (gsize i = 0; i < TKE_VCARD_OBJECT_MAX_LEN; i++)
    g_assert_cmpint (object->data[4 + i], ==, (guint8) (i * 7 + 1));
  g_assert_cmpuint (n_apdus, ==, (4 + TKE_VCARD_OBJECT_MAX_LEN + 255) / 256);

  /* OpenSC reads 8 bytes first to learn the length: Le is honoured, the rest waits. */
  first = expect_sw (card, "00 CB 3F FF 05 5C 03 5F C1 0D 08", 0x6100);
  g_assert_cmpuint (g_bytes_get_size (first), ==, 8);
  g_byte_array_unref (g_steal_pointer (&object));
  object = get_data_long (card, 0x5FC10D, 0x08, &n_apdus);
  g_assert_cmpuint (object->len, ==, 4 + TKE_VCARD_OBJECT_MAX_LEN);

  /* Any other command drops the rest of an answer. */
  check_sw (card, "00 CB 3F FF 05 5C 03 5F C1 0D", 0x6100);
  check_sw (card, "00 FD 00 00", 0x9000);
  check_sw (card, "00 C0 00 00 00", 0x6985);

  /* A chain abandoned for another command is forgotten. */
  check_sw (card, "10 DB 3F FF 05 5C 03 5F C1 0D", 0x9000);
  check_sw (card, "00 FD 00 00", 0x9000);
  check_sw (card, "00 DB 3F FF 03 53 01 AA", 0x6A80);
  /* Chained data past any command's size is refused: 16 blocks of 255 fit, the 17th does not. */
  {
    guint8 block[5 + 255] = { 0x10, 0xDB, 0x3F, 0xFF, 0xFF };

    for (int i = 0; i < 17; i++)
      {
        g_autoptr (GBytes) answer = transmit_raw (card, block, sizeof block);
        g_assert_cmphex (sw_of (answer), ==, i < 16 ? 0x9000 : 0x6A84);
      }
  }
}

static void
test_generate_and_sign (gconstpointer data)
{
  guint8 alg = GPOINTER_TO_UINT (data);
  gsize digest_len = alg == 0x11 ? 32 : 48;
  g_autoptr (TkeVcardEngine) card = new_card (TKE_VCARD_MGMT_ALG_3DES);
  g_autoptr (GBytes) point = NULL;
  g_autoptr (GBytes) signature = NULL;
  g_autoptr (GBytes) meta = NULL;
  guint8 digest[48];
  const guint8 *m;

  for (gsize i = 0; i < sizeof digest; i++)
    digest[i] = 0x30 + i;

  check_sw (card, "00 47 00 9A 05 AC 03 80 01 11", 0x6982);
  mgmt_auth (card, 0x03);
  check_sw (card, "00 47 00 9B 05 AC 03 80 01 11", 0x6A88);
  check_sw (card, "00 47 01 9A 05 AC 03 80 01 11", 0x6B00);
  check_sw (card, "00 47 00 9A 05 AC 03 80 01 07", 0x6A80);
  check_sw (card, "00 47 00 9A 05 AC 04 80 01 11", 0x6A80);
  check_sw (card, "00 47 00 9A 08 AC 06 80 01 11 AA 01 07", 0x6A80);

  /* No key yet. */
  g_assert_cmphex (sign (card, 0x9A, alg, digest, digest_len, NULL), ==, 0x6A88);
  check_sw (card, "00 F7 00 9A", 0x6A88);

  point = generate (card, 0x9A, alg, 0);
  meta = expect_sw (card, "00 F7 00 9A", 0x9000);
  m = g_bytes_get_data (meta, NULL);
  g_assert_cmpint (m[2], ==, alg);
  g_assert_cmpint (m[5], ==, 2); /* 9A: PIN once by default */
  g_assert_cmpint (m[6], ==, 1);
  g_assert_cmpint (m[9], ==, 1); /* generated */
  g_assert_cmpint (m[10], ==, 0x04);
  g_assert_cmpmem (m + g_bytes_get_size (meta) - g_bytes_get_size (point), g_bytes_get_size (point),
                   g_bytes_get_data (point, NULL), g_bytes_get_size (point));

  /* PIN once: needed, then good until power off. */
  g_assert_cmphex (sign (card, 0x9A, alg, digest, digest_len, NULL), ==, 0x6982);
  verify_default_pin (card);
  g_assert_cmphex (sign (card, 0x9A, alg, digest, digest_len, &signature), ==, 0x9000);
  assert_signature_verifies (point, digest, digest_len, signature);
  check_sw (card, "00 FD 00 00", 0x9000);
  g_clear_pointer (&signature, g_bytes_unref);
  g_assert_cmphex (sign (card, 0x9A, alg, digest, 20, &signature), ==, 0x9000);
  assert_signature_verifies (point, digest, 20, signature);

  /* Wrong algorithm, too long a digest, no 82. */
  g_assert_cmphex (sign (card, 0x9A, alg == 0x11 ? 0x14 : 0x11, digest, 32, NULL), ==, 0x6A80);
  if (alg == 0x11)
    g_assert_cmphex (sign (card, 0x9A, alg, digest, 48, NULL), ==, 0x6A80);
  check_sw (card,
            alg == 0x11 ? "00 87 11 9A 06 7C 04 81 02 01 02" : "00 87 14 9A 06 7C 04 81 02 01 02",
            0x6A80);
  check_sw (card, alg == 0x11 ? "00 87 11 9A 04 7C 05 81 02" : "00 87 14 9A 04 7C 05 81 02",
            0x6A80);

  tke_virtual_card_power_off (TKE_VIRTUAL_CARD (card));
  tke_virtual_card_power_on (TKE_VIRTUAL_CARD (card));
  g_assert_cmphex (sign (card, 0x9A, alg, digest, digest_len, NULL), ==, 0x6982);
}

static void
test_pin_always (void)
{
  g_autoptr (TkeVcardEngine) card = new_card (TKE_VCARD_MGMT_ALG_AES192);
  g_autoptr (GBytes) point = NULL;
  g_autoptr (GBytes) signature = NULL;
  g_autoptr (GBytes) meta = NULL;
  guint8 digest[32] = { 1, 2, 3 };

  mgmt_auth (card, 0x0A);
  /* 9C defaults to PIN always. */
  point = generate (card, 0x9C, 0x11, 0);
  meta = expect_sw (card, "00 F7 00 9C", 0x9000);
  g_assert_cmpint (((const guint8 *) g_bytes_get_data (meta, NULL))[5], ==, 3);

  verify_default_pin (card);
  g_assert_cmphex (sign (card, 0x9C, 0x11, digest, 32, &signature), ==, 0x9000);
  assert_signature_verifies (point, digest, 32, signature);
  /* Used once: the next needs a new VERIFY. */
  g_assert_cmphex (sign (card, 0x9C, 0x11, digest, 32, NULL), ==, 0x6982);

  /* Any APDU in between locks it again, even SELECT or a PIN status query. */
  verify_default_pin (card);
  check_sw (card, "00 A4 04 00 05 A0 00 00 03 08", 0x9000);
  g_assert_cmphex (sign (card, 0x9C, 0x11, digest, 32, NULL), ==, 0x6982);
  verify_default_pin (card);
  check_sw (card, "00 20 00 80", 0x9000);
  g_assert_cmphex (sign (card, 0x9C, 0x11, digest, 32, NULL), ==, 0x6982);
  verify_default_pin (card);
  check_sw (card, "00 99 00 00", 0x6D00);
  g_assert_cmphex (sign (card, 0x9C, 0x11, digest, 32, NULL), ==, 0x6982);

  /* The PUK is not the PIN: verifying it does not unlock the key. */
  check_sw (card, "00 20 00 81 08 31 32 33 34 35 36 37 38", 0x9000);
  g_assert_cmphex (sign (card, 0x9C, 0x11, digest, 32, NULL), ==, 0x6982);

  /* The chained parts of the signature itself do not lock it. */
  verify_default_pin (card);
  {
    g_autoptr (GByteArray) first = hex_to_bytes ("10 87 11 9C 11 7C 24 82 00 81 20");
    g_autoptr (GByteArray) last = hex_to_bytes ("00 87 11 9C 00");
    g_autoptr (GBytes) part = NULL;
    g_autoptr (GBytes) answer = NULL;

    g_byte_array_append (first, digest, 11);
    part = transmit_raw (card, first->data, first->len);
    g_assert_cmphex (sw_of (part), ==, 0x9000);
    last->data[4] = 21;
    g_byte_array_append (last, digest + 11, 21);
    answer = transmit_raw (card, last->data, last->len);
    g_assert_cmphex (sw_of (answer), ==, 0x9000);
    g_clear_pointer (&signature, g_bytes_unref);
    signature = g_bytes_new (((const guint8 *) g_bytes_get_data (answer, NULL)) + 4,
                             data_len_of (answer) - 4);
    assert_signature_verifies (point, digest, 32, signature);
  }

  /* Logout takes the PIN back. */
  verify_default_pin (card);
  check_sw (card, "00 20 FF 80", 0x9000);
  check_sw (card, "00 20 00 80", 0x63C3);

  /* A PIN-once key in a slot that defaults to always, and a never key. */
  g_clear_pointer (&point, g_bytes_unref);
  point = generate (card, 0x9C, 0x11, 2);
  verify_default_pin (card);
  g_assert_cmphex (sign (card, 0x9C, 0x11, digest, 32, NULL), ==, 0x9000);
  g_assert_cmphex (sign (card, 0x9C, 0x11, digest, 32, NULL), ==, 0x9000);
  g_clear_pointer (&point, g_bytes_unref);
  point = generate (card, 0x9E, 0x11, 0);
  tke_virtual_card_reset (TKE_VIRTUAL_CARD (card));
  g_assert_cmphex (sign (card, 0x9E, 0x11, digest, 32, NULL), ==, 0x9000);
}

static void
test_ecdh (gconstpointer data)
{
  guint8 alg = GPOINTER_TO_UINT (data);
  gsize field = alg == 0x11 ? 32 : 48;
  g_autoptr (TkeVcardEngine) card = new_card (TKE_VCARD_MGMT_ALG_3DES);
  g_autoptr (GBytes) point = NULL;
  EVP_PKEY *peer = EVP_PKEY_Q_keygen (NULL, NULL, "EC", alg == 0x11 ? "P-256" : "P-384");
  guint8 peer_point[97];
  size_t peer_len = 0;
  g_autoptr (GByteArray) cmd = g_byte_array_new ();
  g_autoptr (GBytes) answer = NULL;
  EVP_PKEY *card_pub;
  EVP_PKEY_CTX *ctx;
  guint8 expected[48];
  size_t expected_len = sizeof expected;
  const guint8 *a;

  mgmt_auth (card, 0x03);
  point = generate (card, 0x9D, alg, 0);
  verify_default_pin (card);

  g_assert_cmpint (EVP_PKEY_get_octet_string_param (peer, OSSL_PKEY_PARAM_PUB_KEY, peer_point,
                                                    sizeof peer_point, &peer_len),
                   ==, 1);
  g_assert_cmpuint (peer_len, ==, 1 + 2 * field);
  {
    const guint8 h[] = { 0x00,         0x87, alg,  0x9D, 6 + peer_len, 0x7C,
                         4 + peer_len, 0x82, 0x00, 0x85, peer_len };
    g_byte_array_append (cmd, h, sizeof h);
    g_byte_array_append (cmd, peer_point, peer_len);
  }
  answer = transmit_raw (card, cmd->data, cmd->len);
  g_assert_cmphex (sw_of (answer), ==, 0x9000);
  a = g_bytes_get_data (answer, NULL);
  g_assert_cmpuint (data_len_of (answer), ==, 4 + field);
  g_assert_cmpint (a[0], ==, 0x7C);
  g_assert_cmpint (a[2], ==, 0x82);

  card_pub = public_key_from_point (point);
  ctx = EVP_PKEY_CTX_new_from_pkey (NULL, peer, NULL);
  g_assert_cmpint (EVP_PKEY_derive_init (ctx), ==, 1);
  g_assert_cmpint (EVP_PKEY_derive_set_peer (ctx, card_pub), ==, 1);
  g_assert_cmpint (EVP_PKEY_derive (ctx, expected, &expected_len), ==, 1);
  g_assert_cmpmem (a + 4, field, expected, expected_len);
  EVP_PKEY_CTX_free (ctx);
  EVP_PKEY_free (card_pub);

  /* A point off the curve, a compressed point, a short one: refused. */
  cmd->data[cmd->len - 1] ^= 0x01;
  g_clear_pointer (&answer, g_bytes_unref);
  answer = transmit_raw (card, cmd->data, cmd->len);
  g_assert_cmphex (sw_of (answer), ==, 0x6A80);
  cmd->data[cmd->len - 1] ^= 0x01;
  cmd->data[11] = 0x02;
  g_clear_pointer (&answer, g_bytes_unref);
  answer = transmit_raw (card, cmd->data, cmd->len);
  g_assert_cmphex (sw_of (answer), ==, 0x6A80);
  cmd->data[11] = 0x04;
  cmd->data[4]--;
  cmd->data[6]--;
  cmd->data[10]--;
  g_clear_pointer (&answer, g_bytes_unref);
  answer = transmit_raw (card, cmd->data, cmd->len - 1);
  g_assert_cmphex (sw_of (answer), ==, 0x6A80);

  EVP_PKEY_free (peer);
}

static void
test_import_key (void)
{
  g_autoptr (TkeVcardEngine) card = new_card (TKE_VCARD_MGMT_ALG_3DES);
  EVP_PKEY *key = EVP_PKEY_Q_keygen (NULL, NULL, "EC", "P-384");
  BIGNUM *d = NULL;
  guint8 scalar[48];
  guint8 point[97];
  size_t point_len = 0;
  g_autoptr (GByteArray) cmd = hex_to_bytes ("00 FE 14 9D 35 06 30");
  g_autoptr (GBytes) answer = NULL;
  g_autoptr (GBytes) meta = NULL;
  g_autoptr (GBytes) point_bytes = NULL;
  g_autoptr (GBytes) signature = NULL;
  guint8 digest[48] = { 9, 8, 7 };
  const guint8 *m;

  g_assert_cmpint (EVP_PKEY_get_bn_param (key, OSSL_PKEY_PARAM_PRIV_KEY, &d), ==, 1);
  g_assert_cmpint (BN_bn2binpad (d, scalar, sizeof scalar), ==, 48);
  g_assert_cmpint (EVP_PKEY_get_octet_string_param (key, OSSL_PKEY_PARAM_PUB_KEY, point,
                                                    sizeof point, &point_len),
                   ==, 1);
  g_byte_array_append (cmd, scalar, sizeof scalar);
  g_byte_array_append (cmd, (const guint8 *) "\xAA\x01\x01", 3);

  answer = transmit_raw (card, cmd->data, cmd->len);
  g_assert_cmphex (sw_of (answer), ==, 0x6982);
  mgmt_auth (card, 0x03);
  g_clear_pointer (&answer, g_bytes_unref);
  answer = transmit_raw (card, cmd->data, cmd->len);
  g_assert_cmphex (sw_of (answer), ==, 0x9000);

  meta = expect_sw (card, "00 F7 00 9D", 0x9000);
  m = g_bytes_get_data (meta, NULL);
  g_assert_cmpint (m[2], ==, 0x14);
  g_assert_cmpint (m[5], ==, 1); /* PIN never, as asked */
  g_assert_cmpint (m[9], ==, 2); /* imported */
  g_assert_cmpmem (m + g_bytes_get_size (meta) - 97, 97, point, point_len);

  point_bytes = g_bytes_new (point, point_len);
  g_assert_cmphex (sign (card, 0x9D, 0x14, digest, 48, &signature), ==, 0x9000);
  assert_signature_verifies (point_bytes, digest, 48, signature);

  /* A scalar of zero, the wrong length, the wrong algorithm. */
  memset (cmd->data + 7, 0, 48);
  g_clear_pointer (&answer, g_bytes_unref);
  answer = transmit_raw (card, cmd->data, cmd->len);
  g_assert_cmphex (sw_of (answer), ==, 0x6A80);
  cmd->data[2] = 0x11;
  g_clear_pointer (&answer, g_bytes_unref);
  answer = transmit_raw (card, cmd->data, cmd->len);
  g_assert_cmphex (sw_of (answer), ==, 0x6A80);
  cmd->data[2] = 0x07;
  g_clear_pointer (&answer, g_bytes_unref);
  answer = transmit_raw (card, cmd->data, cmd->len);
  g_assert_cmphex (sw_of (answer), ==, 0x6B00);
  cmd->data[2] = 0x14;
  cmd->data[3] = 0x9B;
  g_clear_pointer (&answer, g_bytes_unref);
  answer = transmit_raw (card, cmd->data, cmd->len);
  g_assert_cmphex (sw_of (answer), ==, 0x6A88);

  BN_clear_free (d);
  EVP_PKEY_free (key);
}

static void
test_metadata (void)
{
  g_autoptr (TkeVcardEngine) card = new_card (TKE_VCARD_MGMT_ALG_AES192);
  g_autoptr (GBytes) puk = expect_sw (card, "00 F7 00 81", 0x9000);

  g_assert_cmpmem (g_bytes_get_data (puk, NULL), g_bytes_get_size (puk),
                   "\x01\x01\xFF\x05\x01\x01\x06\x02\x03\x03", 10);
  check_sw (card, "00 F7 00 9B 03", 0x6C0A);
  check_sw (card, "00 F7 01 9B", 0x6B00);
  check_sw (card, "00 F7 00 42", 0x6A88);
  check_sw (card, "00 F7 00 95", 0x6A88);
}

static void
test_set_pin_retries (void)
{
  g_autoptr (TkeVcardEngine) card = new_card (TKE_VCARD_MGMT_ALG_3DES);

  check_sw (card, "00 FA 05 06", 0x6982);
  mgmt_auth (card, 0x03);
  verify_default_pin (card);
  check_sw (card, "00 FA 00 06", 0x6B00);
  check_sw (card, "00 FA 05 06", 0x9000);
  check_sw (card, "00 20 00 80", 0x63C5);
  check_sw (card, "00 20 00 81", 0x63C6);
}

static void
test_image_round_trip (void)
{
  g_autofree char *path = temp_image_path ();
  g_autoptr (TkeVcardEngine) card = new_card (TKE_VCARD_MGMT_ALG_3DES);
  g_autoptr (TkeVcardEngine) again = NULL;
  g_autoptr (GBytes) point = NULL;
  g_autoptr (GBytes) point2 = NULL;
  g_autoptr (GBytes) signature = NULL;
  g_autoptr (GBytes) object = NULL;
  g_autoptr (GError) error = NULL;
  guint8 digest[32] = { 0x42 };
  GStatBuf st;

  tke_vcard_engine_set_path (card, path);
  g_assert_true (tke_vcard_engine_save (card, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  mgmt_auth (card, 0x03);
  point = generate (card, 0x9A, 0x11, 0);
  point2 = generate (card, 0x85, 0x14, 3);
  check_sw (card, "00 DB 3F FF 0B 5C 03 5F C1 05 53 04 70 02 30 00", 0x9000);
  check_sw (card, "00 24 00 80 10 31 32 33 34 35 36 FF FF 37 37 37 37 37 37 37 FF", 0x9000);
  /* A wrong PIN is written before the answer: pulling the card now can't undo it. */
  check_sw (card, "00 20 00 80 08 31 32 33 34 35 36 FF FF", 0x63C2);
  check_sw (card,
            "00 FF FF FF 1B 0A 9B 18 11 22 33 44 55 66 77 88 11 22 33 44 55 66 77 88 11 22 "
            "33 44 55 66 77 88",
            0x9000);

  again = tke_vcard_engine_load (path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (again);
  g_assert_cmpstr (tke_vcard_engine_get_path (again), ==, path);
  g_assert_cmpuint (tke_vcard_engine_get_serial (again), ==, SERIAL);
  g_assert_cmpint (tke_vcard_engine_get_mgmt_alg (again), ==, TKE_VCARD_MGMT_ALG_AES192);
  tke_virtual_card_power_on (TKE_VIRTUAL_CARD (again));
  check_sw (again, "00 20 00 80", 0x63C2);
  check_sw (again, "00 20 00 80 08 37 37 37 37 37 37 37 FF", 0x9000);
  g_assert_cmphex (sign (again, 0x9A, 0x11, digest, 32, &signature), ==, 0x9000);
  assert_signature_verifies (point, digest, 32, signature);
  object = expect_sw (again, "00 CB 3F FF 05 5C 03 5F C1 05", 0x9000);
  g_assert_cmpuint (g_bytes_get_size (object), ==, 6);
  {
    g_autoptr (GBytes) meta = expect_sw (again, "00 F7 00 85", 0x9000);
    const guint8 *m = g_bytes_get_data (meta, NULL);

    g_assert_cmpint (m[2], ==, 0x14);
    g_assert_cmpint (m[5], ==, 3);
    g_assert_cmpmem (m + g_bytes_get_size (meta) - 97, 97, g_bytes_get_data (point2, NULL), 97);
  }
  {
    const guint8 key[24] = {
      0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x11, 0x22, 0x33, 0x44,
      0x55, 0x66, 0x77, 0x88, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88
    };
    g_assert_cmphex (mgmt_auth_with (again, 0x0A, key), ==, 0x9000);
  }

  /* Still 0600 after the rewrites (each a new file renamed over the old one). */
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  remove_image (path);
}

static void
test_image_corrupt (void)
{
  g_autofree char *path = temp_image_path ();
  g_autoptr (TkeVcardEngine) card = new_card (TKE_VCARD_MGMT_ALG_3DES);
  g_autoptr (GError) error = NULL;
  g_autofree char *contents = NULL;
  gsize len;
  TkeVcardEngine *loaded;

  mgmt_auth (card, 0x03);
  g_bytes_unref (generate (card, 0x9D, 0x11, 0));
  tke_vcard_engine_set_path (card, path);
  g_assert_true (tke_vcard_engine_save (card, &error));
  g_assert_true (g_file_get_contents (path, &contents, &len, &error));

  /* Truncated at many points: every one is a clear error, never a half card. */
  for (gsize cut = 0; cut < len; cut += 1 + len / 40)
    {
      g_assert_true (g_file_set_contents (path, contents, cut, &error));
      loaded = tke_vcard_engine_load (path, &error);
      g_assert_null (loaded);
      g_assert_error (error, TKE_ERROR, TKE_ERROR_CORRUPT_FILE);
      g_assert_nonnull (strstr (error->message, path));
      g_clear_error (&error);
    }

  /* One byte changed. */
  contents[len / 2] ^= 0x01;
  g_assert_true (g_file_set_contents (path, contents, len, &error));
  loaded = tke_vcard_engine_load (path, &error);
  g_assert_null (loaded);
  g_assert_error (error, TKE_ERROR, TKE_ERROR_CORRUPT_FILE);
  g_clear_error (&error);

  /* Not there at all. */
  g_unlink (path);
  loaded = tke_vcard_engine_load (path, &error);
  g_assert_null (loaded);
  g_assert_error (error, TKE_ERROR, TKE_ERROR_NOT_FOUND);
  remove_image (path);
}

static void
test_save_without_path (void)
{
  g_autoptr (TkeVcardEngine) card = new_card (TKE_VCARD_MGMT_ALG_3DES);
  g_autoptr (GError) error = NULL;

  /* A memory-only card works without a file and says so when asked to save. */
  check_sw (card, "00 20 00 80 08 30 30 30 30 30 30 FF FF", 0x63C2);
  g_assert_false (tke_vcard_engine_save (card, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT);
}

static void
test_image_unwritable (void)
{
  g_autoptr (TkeVcardEngine) card = new_card (TKE_VCARD_MGMT_ALG_3DES);

  /* A card that can't store a change says so instead of pretending: 6581. */
  tke_vcard_engine_set_path (card, "/nonexistent-tke-dir/card.img");
  check_sw (card, "00 20 00 80 08 30 30 30 30 30 30 FF FF", 0x6581);
  check_sw (card, "00 FD 00 00", 0x9000);
}

static void
test_mgmt_alg_names (void)
{
  TkeVcardMgmtAlg alg;
  g_autoptr (GError) error = NULL;

  g_assert_true (tke_vcard_mgmt_alg_from_string ("3des", &alg, &error));
  g_assert_cmpint (alg, ==, TKE_VCARD_MGMT_ALG_3DES);
  g_assert_true (tke_vcard_mgmt_alg_from_string ("AES192", &alg, &error));
  g_assert_cmpint (alg, ==, TKE_VCARD_MGMT_ALG_AES192);
  g_assert_false (tke_vcard_mgmt_alg_from_string ("des", &alg, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/vcard/atr-select", test_atr_and_select);
  g_test_add_func ("/vcard/version-serial", test_version_serial);
  g_test_add_func ("/vcard/malformed", test_malformed);
  g_test_add_func ("/vcard/verify/blocking-unblock", test_verify_pin_blocking_and_unblock);
  g_test_add_func ("/vcard/verify/puk-blocking-reset", test_puk_blocking);
  g_test_add_func ("/vcard/verify/reset-after-aes256", test_reset_after_aes256);
  g_test_add_func ("/vcard/change-reference", test_change_reference);
  g_test_add_data_func ("/vcard/mgmt/3des", GUINT_TO_POINTER (TKE_VCARD_MGMT_ALG_3DES),
                        test_mgmt_auth);
  g_test_add_data_func ("/vcard/mgmt/aes192", GUINT_TO_POINTER (TKE_VCARD_MGMT_ALG_AES192),
                        test_mgmt_auth);
  g_test_add_func ("/vcard/mgmt/external", test_mgmt_external_auth);
  g_test_add_func ("/vcard/mgmt/set-key", test_set_management_key);
  g_test_add_func ("/vcard/objects", test_objects);
  g_test_add_func ("/vcard/chaining", test_chaining_both_ways);
  g_test_add_data_func ("/vcard/sign/p256", GUINT_TO_POINTER (0x11), test_generate_and_sign);
  g_test_add_data_func ("/vcard/sign/p384", GUINT_TO_POINTER (0x14), test_generate_and_sign);
  g_test_add_func ("/vcard/pin-always", test_pin_always);
  g_test_add_data_func ("/vcard/ecdh/p256", GUINT_TO_POINTER (0x11), test_ecdh);
  g_test_add_data_func ("/vcard/ecdh/p384", GUINT_TO_POINTER (0x14), test_ecdh);
  g_test_add_func ("/vcard/import-key", test_import_key);
  g_test_add_func ("/vcard/metadata", test_metadata);
  g_test_add_func ("/vcard/set-pin-retries", test_set_pin_retries);
  g_test_add_func ("/vcard/image/round-trip", test_image_round_trip);
  g_test_add_func ("/vcard/image/corrupt", test_image_corrupt);
  g_test_add_func ("/vcard/image/memory-only", test_save_without_path);
  g_test_add_func ("/vcard/image/unwritable", test_image_unwritable);
  g_test_add_func ("/vcard/mgmt-alg-names", test_mgmt_alg_names);

  return g_test_run ();
}
