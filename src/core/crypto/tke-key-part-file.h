/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Key part files: a 32-byte master-key part in a password-encrypted JWE, listable without it. */
#pragma once

#include <gio/gio.h>

#include "tke-secmem.h"
#include "tke-vp.h"

G_BEGIN_DECLS

#define TKE_KEY_PART_LEN             32
#define TKE_KEY_PART_FILE_SUFFIX     ".jwe"
#define TKE_KEY_PART_DESCRIPTION_MAX 64
/* PBKDF2-HMAC-SHA512 rounds for new files: about 0.4 s on a 2020s x86-64 core (docs/key-files.md). */
#define TKE_KEY_PART_FILE_ITERATIONS 1000000
/* What a file may ask for: RFC 7518's floor, and a ceiling so that a file cannot stall a load. */
#define TKE_KEY_PART_FILE_MIN_ITERATIONS 1000
#define TKE_KEY_PART_FILE_MAX_ITERATIONS 10000000

/* What a key part file shows without its password. */
typedef struct
{
  char *path;
  char *description;
  guint8 vp[TKE_VP_LEN];
  /* ISO 8601 UTC, or NULL when the file does not say. */
  char *created;
  guint iterations;
} TkeKeyPartFileInfo;

void tke_key_part_file_info_free (TkeKeyPartFileInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TkeKeyPartFileInfo, tke_key_part_file_info_free)

/* A description is 1..64 printable characters of UTF-8. */
gboolean tke_key_part_description_is_valid (const char *description, GError **error);

/* Writes part (32 bytes) to a new file at path, encrypted with the password. */
TkeKeyPartFileInfo *tke_key_part_file_create (const char *path, const TkeSecret *part,
                                              const char *description, const TkeSecret *password,
                                              GError **error);
/* The same with another PBES2 iteration count (between the MIN and MAX above): for tests and
 * interoperability checks, never for an operator's file. */
TkeKeyPartFileInfo *tke_key_part_file_create_with_iterations (const char *path,
                                                              const TkeSecret *part,
                                                              const char *description,
                                                              const TkeSecret *password,
                                                              guint iterations, GError **error);
/* The same with a part from the OpenSSL DRBG (RAND_priv_bytes); the part itself is not returned,
 * only its VP in the info. */
TkeKeyPartFileInfo *tke_key_part_file_create_random (const char *path, const char *description,
                                                     const TkeSecret *password, GError **error);
/* Decrypts the part; checks that its VP is the one the file shows. The info is optional. */
TkeSecret *tke_key_part_file_load (const char *path, const TkeSecret *password,
                                   TkeKeyPartFileInfo **info, GError **error);
/* Reads what needs no password; the whole structure is checked, so a damaged file is found here. */
TkeKeyPartFileInfo *tke_key_part_file_read_info (const char *path, GError **error);
/* The same for bytes already read (name is the file named in errors). */
TkeKeyPartFileInfo *tke_key_part_file_parse_info (const char *name, const guint8 *data, gsize len,
                                                  GError **error);
/* The key part files of a directory, sorted by path; an unreadable file is skipped and named in
 * *skipped (a newline-separated list of messages) when skipped is not NULL. */
GPtrArray *tke_key_part_file_list (const char *dir, char **skipped, GError **error);
gboolean tke_key_part_file_delete (const char *path, GError **error);

G_END_DECLS
