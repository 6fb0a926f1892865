/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A virtual PIV smart card (SP 800-73-4 with the Yubico extensions) behind TkeVirtualCard. */
#pragma once

#include <glib-object.h>

#include "tke-virtual-card.h"

G_BEGIN_DECLS

#define TKE_TYPE_VCARD_ENGINE (tke_vcard_engine_get_type ())

G_DECLARE_FINAL_TYPE (TkeVcardEngine, tke_vcard_engine, TKE, VCARD_ENGINE, GObject)

/* Management key algorithms, numbered as in GENERAL AUTHENTICATE's P1. */
typedef enum
{
  TKE_VCARD_MGMT_ALG_3DES = 0x03,
  TKE_VCARD_MGMT_ALG_AES128 = 0x08,
  TKE_VCARD_MGMT_ALG_AES192 = 0x0A,
  TKE_VCARD_MGMT_ALG_AES256 = 0x0C,
} TkeVcardMgmtAlg;

/* The largest object content (the value of tag 53) PUT DATA accepts, as on a YubiKey 5. */
#define TKE_VCARD_OBJECT_MAX_LEN 3063

/* The firmware version GET VERSION reports: 5.7 tells clients that GET METADATA works. */
#define TKE_VCARD_VERSION_MAJOR 5
#define TKE_VCARD_VERSION_MINOR 7
#define TKE_VCARD_VERSION_PATCH 1

/* A blank card: PIN 123456, PUK 12345678, the default management key, no keys, no objects.
 * It lives in memory only until tke_vcard_engine_set_path () gives it a file. */
TkeVcardEngine *tke_vcard_engine_new_blank (guint32 serial, TkeVcardMgmtAlg mgmt_alg);
/* Reads a card image; every later change the card must keep is written back to path. */
TkeVcardEngine *tke_vcard_engine_load (const char *path, GError **error);

/* Where the image is written (atomically, mode 0600) after each lasting change; NULL: memory only. */
void tke_vcard_engine_set_path (TkeVcardEngine *self, const char *path);
const char *tke_vcard_engine_get_path (TkeVcardEngine *self);
/* Writes the image now. Fails when no path is set. */
gboolean tke_vcard_engine_save (TkeVcardEngine *self, GError **error);

guint32 tke_vcard_engine_get_serial (TkeVcardEngine *self);
TkeVcardMgmtAlg tke_vcard_engine_get_mgmt_alg (TkeVcardEngine *self);

/* Parses a management key algorithm name: "3des", "aes128", "aes192" or "aes256". */
gboolean tke_vcard_mgmt_alg_from_string (const char *name, TkeVcardMgmtAlg *alg, GError **error);

G_END_DECLS
