/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: every parser of card answers (BER-TLV, R-APDUs with 61xx/6Cxx, PIV answers,
 * the profile's directory and records) fed with answers from a card that says anything. */
#include "config.h"

#include <string.h>

#include "tke-apdu.h"
#include "tke-card-profile.h"
#include "tke-card-signer.h"
#include "tke-ec-key.h"
#include "tke-tlv.h"
#include "tke-virtual-reader.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

/* A card that answers each command with the next chunk of the input: [len][bytes]... */
#define FUZZ_TYPE_CARD (fuzz_card_get_type ())
G_DECLARE_FINAL_TYPE (FuzzCard, fuzz_card, FUZZ, CARD, GObject)

struct _FuzzCard
{
  GObject parent_instance;

  const guint8 *data;
  gsize left;
};

static void fuzz_card_iface_init (TkeVirtualCardInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (FuzzCard, fuzz_card, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (TKE_TYPE_VIRTUAL_CARD, fuzz_card_iface_init))

static GBytes *
fuzz_card_transmit (TkeVirtualCard *card, GBytes *command)
{
  FuzzCard *self = FUZZ_CARD (card);
  gsize n;
  GBytes *answer;

  if (self->left == 0)
    return g_bytes_new ((const guint8[]){ 0x6F, 0x00 }, 2);
  n = MIN (self->data[0], self->left - 1);
  answer = g_bytes_new (self->data + 1, n);
  self->data += 1 + n;
  self->left -= 1 + n;
  return answer;
}

static GBytes *
fuzz_card_get_atr (TkeVirtualCard *card)
{
  return g_bytes_new ((const guint8[]){ 0x3B, 0x80, 0x80, 0x01, 0x01 }, 5);
}

static void
fuzz_card_power (TkeVirtualCard *card)
{
}

static void
fuzz_card_iface_init (TkeVirtualCardInterface *iface)
{
  iface->get_atr = fuzz_card_get_atr;
  iface->power_on = fuzz_card_power;
  iface->power_off = fuzz_card_power;
  iface->reset = fuzz_card_power;
  iface->transmit = fuzz_card_transmit;
}

static void
fuzz_card_class_init (FuzzCardClass *klass)
{
}

static void
fuzz_card_init (FuzzCard *self)
{
}

static void
parse_plain (const guint8 *data, size_t size)
{
  g_autoptr (GBytes) response = g_bytes_new_static (data, size);
  g_autoptr (GBytes) body = NULL;
  g_autoptr (GPtrArray) parts = NULL;
  g_autofree char *description = NULL;
  TkeApdu apdu;
  TkeTlv tlv;
  guint16 sw;

  tke_tlv_validate (data, size, NULL);
  tke_tlv_find_optional (data, size, 0x53, &tlv, NULL);
  tke_apdu_decode (data, size, &apdu, NULL);
  body = tke_apdu_split_response (response, &sw, NULL);
  parts = tke_card_directory_parse (data, size, NULL, &description, NULL);
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  static TkeReaderManager *manager;
  static TkeSecret *pin;
  g_autoptr (FuzzCard) card = NULL;
  g_autoptr (TkeCardConnection) connection = NULL;
  g_autoptr (TkePivClient) piv = NULL;
  g_autoptr (GBytes) object = NULL;
  g_autoptr (EVP_PKEY) key = NULL;
  g_autoptr (GPtrArray) parts = NULL;
  g_autoptr (TkeCardInfo) info = NULL;
  g_autoptr (TkeSecret) part = NULL;
  g_autoptr (TkeCardSigner) signer = NULL;
  TkePivMetadata md;
  guint8 version[3], digest[32] = { 0 };
  guint32 serial;
  gboolean verified;
  int tries;

  if (manager == NULL)
    {
      manager = tke_virtual_reader_manager_new ();
      tke_virtual_reader_manager_add_reader (TKE_VIRTUAL_READER_MANAGER (manager), "Fuzz", NULL);
      pin = tke_secret_new_from ((const guint8 *) "123456", 6, NULL);
    }

  parse_plain (data, size);

  card = g_object_new (FUZZ_TYPE_CARD, NULL);
  card->data = data;
  card->left = size;
  tke_virtual_reader_manager_insert (TKE_VIRTUAL_READER_MANAGER (manager), "Fuzz",
                                     TKE_VIRTUAL_CARD (card), NULL);
  connection = tke_reader_manager_connect (manager, "Fuzz", NULL);
  piv = tke_piv_client_new (connection);

  tke_piv_client_select (piv, FALSE, NULL);
  tke_piv_client_get_version (piv, version, NULL);
  tke_piv_client_get_serial (piv, &serial, NULL);
  tke_piv_client_verify_status (piv, 0x80, &verified, &tries, NULL);
  tke_piv_client_verify (piv, 0x80, pin, &tries, NULL);
  object = tke_piv_client_get_data (piv, 0x5FC105, NULL);
  if (tke_piv_client_get_metadata (piv, 0x9A, &md, NULL))
    tke_piv_metadata_clear (&md);
  key = tke_piv_client_generate_key (piv, 0x9A, TKE_PIV_ALG_ECCP256, 0, 0, NULL);
  g_clear_pointer (&object, g_bytes_unref);
  object = tke_piv_client_sign_digest (piv, 0x9A, TKE_PIV_ALG_ECCP256, digest, 32, NULL);
  if (key != NULL)
    tke_secret_free (tke_piv_client_ecdh (piv, 0x9D, TKE_PIV_ALG_ECCP256, key, NULL));
  parts = tke_card_profile_list_parts (piv, NULL);
  info = tke_card_profile_read_info (piv, NULL);
  part = tke_card_profile_take_key_part (piv, pin, 1, NULL, NULL);
  signer = tke_card_signer_new (piv, pin, NULL);

  tke_virtual_reader_manager_remove (TKE_VIRTUAL_READER_MANAGER (manager), "Fuzz");
  return 0;
}
