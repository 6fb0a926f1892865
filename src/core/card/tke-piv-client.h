/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The PIV card application (NIST SP 800-73-4) and Yubico's extensions, over a card connection.
 * Every answer is length-checked and every status word becomes a sentence. */
#pragma once

#include <gio/gio.h>
#include <openssl/evp.h>

#include "tke-card-connection.h"
#include "tke-secmem.h"

G_BEGIN_DECLS

typedef enum
{
  TKE_PIV_ALG_3DES = 0x03,
  TKE_PIV_ALG_AES128 = 0x08,
  TKE_PIV_ALG_AES192 = 0x0A,
  TKE_PIV_ALG_AES256 = 0x0C,
  TKE_PIV_ALG_ECCP256 = 0x11,
  TKE_PIV_ALG_ECCP384 = 0x14,
} TkePivAlgorithm;

typedef enum
{
  TKE_PIV_SLOT_AUTHENTICATION = 0x9A,
  TKE_PIV_SLOT_MANAGEMENT = 0x9B,
  TKE_PIV_SLOT_SIGNATURE = 0x9C,
  TKE_PIV_SLOT_KEY_MANAGEMENT = 0x9D,
  TKE_PIV_SLOT_CARD_AUTHENTICATION = 0x9E,
} TkePivSlot;

/* Key references of VERIFY and friends. */
#define TKE_PIV_PIN 0x80
#define TKE_PIV_PUK 0x81

typedef enum
{
  TKE_PIV_PIN_POLICY_DEFAULT = 0,
  TKE_PIV_PIN_POLICY_NEVER = 1,
  TKE_PIV_PIN_POLICY_ONCE = 2,
  TKE_PIV_PIN_POLICY_ALWAYS = 3,
} TkePivPinPolicy;

typedef enum
{
  TKE_PIV_TOUCH_POLICY_DEFAULT = 0,
  TKE_PIV_TOUCH_POLICY_NEVER = 1,
  TKE_PIV_TOUCH_POLICY_ALWAYS = 2,
  TKE_PIV_TOUCH_POLICY_CACHED = 3,
} TkePivTouchPolicy;

/* Data objects the profile uses. */
#define TKE_PIV_OBJ_CERT_9A 0x5FC105
#define TKE_PIV_OBJ_CERT_9C 0x5FC10A
#define TKE_PIV_OBJ_CERT_9D 0x5FC10B
#define TKE_PIV_OBJ_CERT_9E 0x5FC101
#define TKE_PIV_OBJ_CHUID   0x5FC102
#define TKE_PIV_OBJ_PRINTED 0x5FC109
#define TKE_PIV_OBJ_PIVMAN  0x5FFF00

/* What GET METADATA tells; fields the card did not send are -1 (or NULL). */
typedef struct
{
  int algorithm;
  int pin_policy;
  int touch_policy;
  int origin; /* 1 generated on the card, 2 imported */
  int is_default;
  int retries_total;
  int retries_left;
  GBytes *public_point; /* EC: 04 || X || Y */
} TkePivMetadata;

void tke_piv_metadata_clear (TkePivMetadata *metadata);

#define TKE_TYPE_PIV_CLIENT (tke_piv_client_get_type ())

G_DECLARE_FINAL_TYPE (TkePivClient, tke_piv_client, TKE, PIV_CLIENT, GObject)

TkePivClient *tke_piv_client_new (TkeCardConnection *connection);
TkeCardConnection *tke_piv_client_get_connection (TkePivClient *self);

/* Reserves the card (SCardBeginTransaction) and selects PIV in it: the start of every step,
 * since other software may have selected another application in between. */
gboolean tke_piv_client_begin (TkePivClient *self, GError **error);
void tke_piv_client_end (TkePivClient *self);

/* SELECT with the full AID (A0 00 00 03 08 00 00 10 00) or the 5-byte prefix. */
gboolean tke_piv_client_select (TkePivClient *self, gboolean short_aid, GError **error);

/* VERIFY. A wrong PIN gives TKE_ERROR_PIN_WRONG with the tries left in the message and in
 * *tries_left; a blocked one TKE_ERROR_PIN_BLOCKED. Never retried. */
gboolean tke_piv_client_verify (TkePivClient *self, guint8 reference, const TkeSecret *pin,
                                int *tries_left, GError **error);
/* The same, with the PIN typed on the reader's PIN pad (PC/SC part 10). */
gboolean tke_piv_client_verify_pin_pad (TkePivClient *self, guint8 reference, int *tries_left,
                                        GError **error);
/* VERIFY without data: *verified, and the tries left (-1 when verified: the card doesn't say). */
gboolean tke_piv_client_verify_status (TkePivClient *self, guint8 reference, gboolean *verified,
                                       int *tries_left, GError **error);
/* VERIFY with P1 FF: the PIN is no longer verified. */
gboolean tke_piv_client_logout (TkePivClient *self, GError **error);

gboolean tke_piv_client_change_reference (TkePivClient *self, guint8 reference,
                                          const TkeSecret *old_value, const TkeSecret *new_value,
                                          int *tries_left, GError **error);
/* Unblocks the PIN with the PUK and sets a new PIN. */
gboolean tke_piv_client_reset_retry_counter (TkePivClient *self, const TkeSecret *puk,
                                             const TkeSecret *new_pin, int *tries_left,
                                             GError **error);

/* The contents (value of tag 53) of a data object; TKE_ERROR_NOT_FOUND when it is absent. */
GBytes *tke_piv_client_get_data (TkePivClient *self, guint32 object_id, GError **error);
/* Writes an object of any size up to the card's limit (chained); len 0 deletes it. */
gboolean tke_piv_client_put_data (TkePivClient *self, guint32 object_id, const guint8 *data,
                                  gsize len, GError **error);

/* Generates a key pair in slot and returns its public key. */
EVP_PKEY *tke_piv_client_generate_key (TkePivClient *self, guint8 slot, TkePivAlgorithm algorithm,
                                       TkePivPinPolicy pin_policy, TkePivTouchPolicy touch_policy,
                                       GError **error);
/* Imports a private EC key into slot (Yubico IMPORT KEY). */
gboolean tke_piv_client_import_key (TkePivClient *self, guint8 slot, EVP_PKEY *key,
                                    TkePivPinPolicy pin_policy, TkePivTouchPolicy touch_policy,
                                    GError **error);

/* ECDSA over a digest of the curve's size (32 bytes for P-256, 48 for P-384): DER. */
GBytes *tke_piv_client_sign_digest (TkePivClient *self, guint8 slot, TkePivAlgorithm algorithm,
                                    const guint8 *digest, gsize digest_len, GError **error);
/* ECDH of the slot's key with peer: the X coordinate of the shared point, in secure memory. */
TkeSecret *tke_piv_client_ecdh (TkePivClient *self, guint8 slot, TkePivAlgorithm algorithm,
                                EVP_PKEY *peer, GError **error);
/* Mutual authentication with the management key (3DES or AES-128/192/256). */
gboolean tke_piv_client_authenticate (TkePivClient *self, TkePivAlgorithm algorithm,
                                      const TkeSecret *key, GError **error);

/* Yubico extensions. */
gboolean tke_piv_client_get_version (TkePivClient *self, guint8 version[3], GError **error);
gboolean tke_piv_client_get_serial (TkePivClient *self, guint32 *serial, GError **error);
/* TKE_ERROR_NOT_FOUND for an empty slot; TKE_ERROR_CARD_STATUS where the card lacks it. */
gboolean tke_piv_client_get_metadata (TkePivClient *self, guint8 slot, TkePivMetadata *metadata,
                                      GError **error);
gboolean tke_piv_client_set_management_key (TkePivClient *self, TkePivAlgorithm algorithm,
                                            const TkeSecret *key, gboolean require_touch,
                                            GError **error);

/* Key length of a management key algorithm (24, 16, 24, 32), 0 for others. */
gsize tke_piv_management_key_len (TkePivAlgorithm algorithm);
/* Parses an EC point 04 || X || Y of P-256 or P-384 into a public key (checked on the curve). */
EVP_PKEY *tke_piv_public_key_from_point (TkePivAlgorithm algorithm, const guint8 *point, gsize len,
                                         GError **error);

G_END_DECLS
