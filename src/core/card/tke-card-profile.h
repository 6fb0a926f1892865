/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The TKE card profile on PIV (DESIGN §4, docs/card-profile.md): an administrator signature key
 * in 9A, a key-management key in 9D, key parts encrypted to 9D in objects listed by a directory,
 * and a random management key stored PIN-protected so that the PIN is all an operator needs.
 *
 * Each call is one step: it reserves the card, selects PIV, and orders its writes so that a card
 * pulled at any moment reads back as before or after the step. PIN arguments may be NULL to
 * have the operator type the PIN on the reader's PIN pad. */
#pragma once

#include "tke-piv-client.h"
#include "tke-vp.h"

G_BEGIN_DECLS

#define TKE_CARD_PROFILE_VERSION 1
/* The directory object and the first key part object. */
#define TKE_CARD_OBJ_DIRECTORY 0x5FD000
#define TKE_CARD_OBJ_PART_BASE 0x5FD000
#define TKE_CARD_MAX_PARTS     20
/* Descriptions (card and key part), in bytes of UTF-8. */
#define TKE_CARD_DESCRIPTION_MAX 64
#define TKE_KEY_PART_LEN         32

typedef struct
{
  guint id; /* 1..TKE_CARD_MAX_PARTS; the record is object 5FD000 + id */
  char *description;
  gint64 created; /* Unix seconds */
  guint8 vp[TKE_VP_LEN];
} TkeKeyPartInfo;

void tke_key_part_info_free (TkeKeyPartInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TkeKeyPartInfo, tke_key_part_info_free)

typedef struct
{
  gboolean has_serial;
  guint32 serial;
  gboolean has_version;
  guint8 version[3];
  /* The profile: FALSE on a blank card (no directory). */
  gboolean initialized;
  guint profile_version;
  char *description;
  /* The administrator: the CN of the 9A certificate, NULL when the card has no signature key. */
  char *admin_name;
  /* What tells the card from every other: the SHA-256 of its 9D certificate (the key made on the
   * card when it was initialized), hex; NULL on a card without one. */
  char *key_id;
  GPtrArray *parts; /* TkeKeyPartInfo */
  /* -1 when the PIN is verified at the moment (the card does not tell then); 0 blocked. */
  int pin_tries_left;
} TkeCardInfo;

void tke_card_info_free (TkeCardInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TkeCardInfo, tke_card_info_free)

/* Makes a blank PIV card a TKE card: 9D key and certificate, a random management key stored
 * PIN-protected (ykman convention), the PIN changed from current_pin to new_pin (6..8 digits;
 * skipped when they are equal), optionally the PUK from current_puk to new_puk, and the directory
 * with the description written last. Refused on a card that already has a directory. */
gboolean tke_card_profile_initialize (TkePivClient *piv, const TkeSecret *current_pin,
                                      const TkeSecret *new_pin, const TkeSecret *current_puk,
                                      const TkeSecret *new_puk, const char *description,
                                      GError **error);

/* Serial, description, administrator, key parts, PIN tries. Needs no PIN. */
TkeCardInfo *tke_card_profile_read_info (TkePivClient *piv, GError **error);
/* The key parts: one read of the directory object. */
GPtrArray *tke_card_profile_list_parts (TkePivClient *piv, GError **error);

/* Generates the administrator signature key (P-256) in 9A with a self-signed certificate whose
 * CN is name (1..30 characters). Refused when the card already has a signature key. */
EVP_PKEY *tke_card_profile_generate_signature_key (TkePivClient *piv, const TkeSecret *pin,
                                                   const char *name, GError **error);
/* Puts a signature key held in memory on the card (IMPORT KEY + certificate). */
gboolean tke_card_profile_import_signature_key (TkePivClient *piv, const TkeSecret *pin,
                                                EVP_PKEY *key, const char *name, GError **error);
/* The 9A certificate (DER), or TKE_ERROR_NOT_FOUND. */
GBytes *tke_card_profile_read_certificate (TkePivClient *piv, GError **error);

/* Generates a key part of 32 random bytes, stores it encrypted to the card's 9D key and lists
 * it. The part itself never leaves the secure heap; the returned info carries its VP. */
TkeKeyPartInfo *tke_card_profile_generate_key_part (TkePivClient *piv, const TkeSecret *pin,
                                                    const char *description, GError **error);
/* Stores a given part (from another card or a file) the same way. */
TkeKeyPartInfo *tke_card_profile_put_key_part (TkePivClient *piv, const TkeSecret *pin,
                                               const TkeSecret *part, const char *description,
                                               GError **error);
/* Decrypts part id with ECDH on the card (needs the PIN) into secure memory; its VP is checked
 * against the directory's. */
TkeSecret *tke_card_profile_take_key_part (TkePivClient *piv, const TkeSecret *pin, guint id,
                                           TkeKeyPartInfo **info, GError **error);
gboolean tke_card_profile_delete_key_part (TkePivClient *piv, const TkeSecret *pin, guint id,
                                           GError **error);

gboolean tke_card_profile_change_pin (TkePivClient *piv, const TkeSecret *old_pin,
                                      const TkeSecret *new_pin, GError **error);
gboolean tke_card_profile_unblock_pin (TkePivClient *piv, const TkeSecret *puk,
                                       const TkeSecret *new_pin, GError **error);

/* A new PIN must be 6..8 digits. */
gboolean tke_card_profile_check_new_pin (const TkeSecret *pin, GError **error);

/* The record and directory encodings, public for the fuzzer and for tests. */
GPtrArray *tke_card_directory_parse (const guint8 *data, gsize len, guint *profile_version,
                                     char **description, GError **error);
GBytes *tke_card_directory_build (const char *description, GPtrArray *parts);

G_END_DECLS
