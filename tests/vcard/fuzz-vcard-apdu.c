/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: any sequence of APDUs and power events must get an answer from the card. */
#include "config.h"

#include <string.h>

#include <openssl/evp.h>

#include "tke-vcard-engine.h"

/* Input: one byte of setup flags, then records. A record is a length byte n and n APDU bytes;
 * n = 0xFF power-cycles the card instead and n = 0xFE resets it. */
#define SETUP_MGMT_AUTH 0x01 /* authenticate with the default management key first */
#define SETUP_PIN       0x02 /* verify the default PIN first */
#define SETUP_KEYS      0x04 /* put P-256 keys in 9A and 9C and a P-384 key in 9D */

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static const guint8 default_mgmt_key[24] = { 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4,
                                             5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8 };

static GBytes *
transmit (TkeVcardEngine *card, const guint8 *apdu, gsize len)
{
  g_autoptr (GBytes) command = g_bytes_new (apdu, len);
  GBytes *answer = tke_virtual_card_transmit (TKE_VIRTUAL_CARD (card), command);

  /* The contract: a card always answers, at least with a status word. */
  if (answer == NULL || g_bytes_get_size (answer) < 2)
    __builtin_trap ();
  return answer;
}

static gboolean
answered_ok (GBytes *answer)
{
  gsize len;
  const guint8 *a = g_bytes_get_data (answer, &len);

  return a[len - 2] == 0x90 && a[len - 1] == 0x00;
}

static void
authenticate (TkeVcardEngine *card)
{
  const guint8 step1[] = { 0x00, 0x87, 0x03, 0x9B, 0x04, 0x7C, 0x02, 0x80, 0x00 };
  g_autoptr (GBytes) witness = transmit (card, step1, sizeof step1);
  guint8 step2[5 + 22] = { 0x00, 0x87, 0x03, 0x9B, 0x16, 0x7C, 0x14, 0x80, 0x08 };
  const guint8 *w;
  EVP_CIPHER_CTX *ctx;
  int n = 0;

  if (!answered_ok (witness) || g_bytes_get_size (witness) != 14)
    __builtin_trap ();
  w = g_bytes_get_data (witness, NULL);
  ctx = EVP_CIPHER_CTX_new ();
  EVP_DecryptInit_ex2 (ctx, EVP_des_ede3_ecb (), default_mgmt_key, NULL, NULL);
  EVP_CIPHER_CTX_set_padding (ctx, 0);
  EVP_DecryptUpdate (ctx, step2 + 9, &n, w + 4, 8);
  EVP_CIPHER_CTX_free (ctx);
  step2[17] = 0x81;
  step2[18] = 0x08;
  memset (step2 + 19, 0x5A, 8);
  g_bytes_unref (transmit (card, step2, sizeof step2));
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  g_autoptr (TkeVcardEngine) card = NULL;
  guint8 setup;
  gsize off = 1;

  if (size < 1)
    return 0;
  setup = data[0];

  card = tke_vcard_engine_new_blank (1, TKE_VCARD_MGMT_ALG_3DES);
  tke_virtual_card_power_on (TKE_VIRTUAL_CARD (card));

  if (setup & (SETUP_MGMT_AUTH | SETUP_KEYS))
    authenticate (card);
  if (setup & SETUP_KEYS)
    {
      const guint8 gen9a[] = { 0x00, 0x47, 0x00, 0x9A, 0x05, 0xAC, 0x03, 0x80, 0x01, 0x11 };
      const guint8 gen9c[] = { 0x00, 0x47, 0x00, 0x9C, 0x05, 0xAC, 0x03, 0x80, 0x01, 0x11 };
      const guint8 gen9d[] = { 0x00, 0x47, 0x00, 0x9D, 0x05, 0xAC, 0x03, 0x80, 0x01, 0x14 };

      g_bytes_unref (transmit (card, gen9a, sizeof gen9a));
      g_bytes_unref (transmit (card, gen9c, sizeof gen9c));
      g_bytes_unref (transmit (card, gen9d, sizeof gen9d));
    }
  if (setup & SETUP_PIN)
    {
      const guint8 verify[] = { 0x00, 0x20, 0x00, 0x80, 0x08, '1', '2',
                                '3',  '4',  '5',  '6',  0xFF, 0xFF };

      g_bytes_unref (transmit (card, verify, sizeof verify));
    }

  while (off < size)
    {
      guint8 n = data[off++];

      if (n == 0xFF)
        {
          tke_virtual_card_power_off (TKE_VIRTUAL_CARD (card));
          tke_virtual_card_power_on (TKE_VIRTUAL_CARD (card));
          continue;
        }
      if (n == 0xFE)
        {
          tke_virtual_card_reset (TKE_VIRTUAL_CARD (card));
          continue;
        }
      n = MIN (n, size - off);
      g_bytes_unref (transmit (card, data + off, n));
      off += n;
    }
  return 0;
}
