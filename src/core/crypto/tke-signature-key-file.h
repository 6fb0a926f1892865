/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Signature key files: an administrator's EC key and self-signed certificate in a PKCS#12 file. */
#pragma once

#include <gio/gio.h>
#include <openssl/evp.h>

#include "tke-ec-key.h"
#include "tke-secmem.h"
#include "tke-signer.h"

G_BEGIN_DECLS

#define TKE_SIGNATURE_KEY_FILE_SUFFIX ".p12"
/* PBKDF2-HMAC-SHA256 rounds for the shrouded key bag of new files (docs/key-files.md). */
#define TKE_SIGNATURE_KEY_FILE_ITERATIONS 1000000
/* PKCS#12 KDF (SHA-256) rounds for the file's MAC. A round costs about 0.4 of a PBKDF2 one, and
 * a guesser tries passwords against the cheaper of the two: 2.5 times the rounds makes them equal
 * (about 0.18 s each on a 2020s x86-64 core). */
#define TKE_SIGNATURE_KEY_FILE_MAC_ITERATIONS 2500000
/* What a file may ask for before it is refused as a way to stall a load. */
#define TKE_SIGNATURE_KEY_FILE_MAX_ITERATIONS 10000000

/* What a signature key file shows without its password: the certificate bag is not encrypted. */
typedef struct
{
  char *path;
  /* The certificate's CN, its key's SKI (SHA-256 of the point, hex) and curve; NULL and FALSE
   * when the file keeps its certificate encrypted too (as files from other tools may). */
  char *name;
  char *ski;
  TkeCurve curve;
  gboolean has_certificate;
} TkeSignatureKeyFileInfo;

void tke_signature_key_file_info_free (TkeSignatureKeyFileInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TkeSignatureKeyFileInfo, tke_signature_key_file_info_free)

/* Writes a new file at path with the private key and a self-signed certificate (CN = name). */
TkeSignatureKeyFileInfo *tke_signature_key_file_write (const char *path, const char *name,
                                                       EVP_PKEY *private_key,
                                                       const TkeSecret *password, GError **error);
/* The same with other iteration counts (1 .. MAX): for tests and interoperability checks, never
 * for an operator's file. */
TkeSignatureKeyFileInfo *tke_signature_key_file_write_with_iterations (
    const char *path, const char *name, EVP_PKEY *private_key, const TkeSecret *password,
    guint iterations, guint mac_iterations, GError **error);
/* Generates a key of the curve and writes it as above. */
TkeSignatureKeyFileInfo *tke_signature_key_file_create (const char *path, const char *name,
                                                        TkeCurve curve, const TkeSecret *password,
                                                        GError **error);
/* Opens a file with its password: a signer for the key (its name is the certificate's CN), and
 * optionally the private key (for IMPORT onto a card) and the certificate as stored (DER). */
TkeSigner *tke_signature_key_file_load (const char *path, const TkeSecret *password,
                                        EVP_PKEY **private_key, GBytes **certificate,
                                        GError **error);
/* Reads what needs no password. */
TkeSignatureKeyFileInfo *tke_signature_key_file_read_info (const char *path, GError **error);
/* The same for bytes already read (name is the file named in errors). */
TkeSignatureKeyFileInfo *tke_signature_key_file_parse_info (const char *name, const guint8 *data,
                                                            gsize len, GError **error);
/* The signature key files of a directory, sorted by path; an unreadable one is skipped and named
 * in *skipped (newline-separated messages) when skipped is not NULL. */
GPtrArray *tke_signature_key_file_list (const char *dir, char **skipped, GError **error);
gboolean tke_signature_key_file_delete (const char *path, GError **error);

G_END_DECLS
