/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The card's state, shared by the APDU handling (tke-vcard-engine.c) and the image file code. */
#pragma once

#include <openssl/evp.h>

#include "tke-vcard-engine.h"

G_BEGIN_DECLS

#define TKE_VCARD_PIN_LEN         8
#define TKE_VCARD_MGMT_KEY_MAX    32
#define TKE_VCARD_DEFAULT_RETRIES 3

/* Key slots: the four PIV slots and the twenty retired ones (82..95). */
#define TKE_VCARD_N_SLOTS 24

#define TKE_VCARD_ALG_ECCP256 0x11
#define TKE_VCARD_ALG_ECCP384 0x14

#define TKE_VCARD_PIN_POLICY_DEFAULT 0
#define TKE_VCARD_PIN_POLICY_NEVER   1
#define TKE_VCARD_PIN_POLICY_ONCE    2
#define TKE_VCARD_PIN_POLICY_ALWAYS  3

#define TKE_VCARD_TOUCH_POLICY_DEFAULT 0
#define TKE_VCARD_TOUCH_POLICY_NEVER   1

#define TKE_VCARD_ORIGIN_GENERATED 1
#define TKE_VCARD_ORIGIN_IMPORTED  2

typedef struct
{
  guint8 id;
  guint8 alg; /* 0: no key */
  guint8 pin_policy;
  guint8 touch_policy;
  guint8 origin;
  EVP_PKEY *key;
} TkeVcardSlot;

/* A PIN or PUK and its retry counter. */
typedef struct
{
  guint8 value[TKE_VCARD_PIN_LEN]; /* ASCII, FF-padded */
  guint8 retries_max;
  guint8 retries_left;
  gboolean is_default;
} TkeVcardPin;

typedef enum
{
  TKE_VCARD_MGMT_STEP_NONE,
  TKE_VCARD_MGMT_STEP_WITNESS,   /* the card sent an encrypted witness */
  TKE_VCARD_MGMT_STEP_CHALLENGE, /* the card sent a challenge to encrypt */
} TkeVcardMgmtStep;

struct _TkeVcardEngine
{
  GObject parent_instance;

  GMutex lock;
  char *path;

  /* What the image keeps. */
  guint32 serial;
  TkeVcardPin pin;
  TkeVcardPin puk;
  guint8 mgmt_alg;
  guint8 mgmt_key[TKE_VCARD_MGMT_KEY_MAX];
  gsize mgmt_key_len;
  gboolean mgmt_is_default;
  guint8 mgmt_touch_policy;
  TkeVcardSlot slots[TKE_VCARD_N_SLOTS];
  GHashTable *objects; /* object id -> GBytes (the value of tag 53) */

  /* Security state, dropped on power off and reset. */
  gboolean pin_verified;
  gboolean pin_just_verified; /* VERIFY was the last APDU: PIN-always keys may be used */
  gboolean mgmt_authenticated;
  TkeVcardMgmtStep mgmt_step;
  guint8 mgmt_nonce[16];

  /* Transport state: command chaining in, GET RESPONSE out. */
  GByteArray *chain;
  guint8 chain_ins, chain_p1, chain_p2;
  GByteArray *pending; /* the answer GET RESPONSE hands out */
  gsize pending_offset;
};

/* Slot helpers shared with the image code. */
TkeVcardSlot *tke_vcard_engine_find_slot (TkeVcardEngine *self, guint8 slot_id);
gsize tke_vcard_alg_field_len (guint8 alg);
EVP_PKEY *tke_vcard_ec_key_from_private (guint8 alg, const guint8 *d, gsize d_len);
gboolean tke_vcard_ec_key_get_private (EVP_PKEY *key, guint8 alg, guint8 *d, gsize d_len);
gboolean tke_vcard_mgmt_key_len_ok (guint8 alg, gsize len);

/* Image file (tke-vcard-image.c). */
GBytes *tke_vcard_image_serialize (TkeVcardEngine *self);
gboolean tke_vcard_image_parse (TkeVcardEngine *self, const char *data, gsize len, GError **error);

G_END_DECLS
