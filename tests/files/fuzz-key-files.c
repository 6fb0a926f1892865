/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: bytes from a files directory into the key part file and signature key file parsers. */
#include "config.h"

#include <stdint.h>
#include <unistd.h>

#include "tke-files-dir.h"
#include "tke-key-part-file.h"
#include "tke-signature-key-file.h"

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* The password of the seed files in fuzz-corpus/. */
#define FUZZ_PASSWORD "fuzz"
/* A load with the password runs the KDFs; above this many rounds an input only costs time. */
#define FUZZ_MAX_LOAD_ITERATIONS 20000

static TkeSecret *password;
static char *part_path;
static char *key_path;
static char *scratch_dir;

static void
write_input (const char *path, const uint8_t *data, size_t size)
{
  g_autoptr (GError) error = NULL;

  unlink (path);
  if (!tke_files_dir_write (path, data, size, FALSE, &error))
    g_error ("%s", error->message);
}

/* Scratch files in tmpfs, made before the first input so that one-time allocations are not
 * counted as leaks of an input. */
int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  g_autoptr (GError) error = NULL;
  const char *base = g_file_test ("/dev/shm", G_FILE_TEST_IS_DIR) ? "/dev/shm" : g_get_tmp_dir ();
  g_autofree char *tmpl = g_build_filename (base, "tke-fuzz-files-XXXXXX", NULL);

  scratch_dir = g_mkdtemp (g_steal_pointer (&tmpl));
  g_assert_nonnull (scratch_dir);
  password = tke_secret_new_from ((const guint8 *) FUZZ_PASSWORD, sizeof FUZZ_PASSWORD - 1, &error);
  g_assert_no_error (error);
  part_path = g_build_filename (scratch_dir, "input.jwe", NULL);
  key_path = g_build_filename (scratch_dir, "input.p12", NULL);

  /* Error quarks and OpenSSL's error strings are allocated once, on first use. */
  write_input (key_path, (const guint8 *) "\x30\x03\x02\x01\x03", 5);
  g_assert_null (tke_signature_key_file_load (key_path, password, NULL, NULL, &error));
  g_clear_error (&error);
  write_input (part_path, (const guint8 *) "{}", 2);
  g_assert_null (tke_key_part_file_load (part_path, password, NULL, &error));
  g_clear_error (&error);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (TkeKeyPartFileInfo) part_info = NULL;
  g_autoptr (TkeSignatureKeyFileInfo) key_info = NULL;
  g_autoptr (TkeSecret) part = NULL;
  g_autoptr (TkeSigner) signer = NULL;
  g_autoptr (EVP_PKEY) private_key = NULL;
  g_autoptr (GBytes) certificate = NULL;

  if (size == 0 || size > TKE_FILES_MAX_SIZE)
    return 0;

  part_info = tke_key_part_file_parse_info ("input.jwe", data, size, NULL);
  if (part_info != NULL && part_info->iterations <= FUZZ_MAX_LOAD_ITERATIONS)
    {
      write_input (part_path, data, size);
      part = tke_key_part_file_load (part_path, password, NULL, NULL);
    }

  /* The PKCS#12 loader checks its own iteration counts (up to 10 million) before any KDF; the
   * seeds use one round, and mutations rarely raise it. */
  key_info = tke_signature_key_file_parse_info ("input.p12", data, size, NULL);
  if (size > 4 && data[0] == 0x30)
    {
      write_input (key_path, data, size);
      signer = tke_signature_key_file_load (key_path, password, &private_key, &certificate, NULL);
    }
  return 0;
}
