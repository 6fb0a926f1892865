/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Key part files as flattened JWE JSON (PBES2-HS512+A256KW, A256GCM), made with OpenSSL directly. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "tke-ec-key.h"
#include "tke-error.h"
#include "tke-files-dir.h"
#include "tke-key-part-file.h"
#include "tke-text.h"

/* libjose is not used here: it takes a PBES2 password as a jansson string and collects the
 * plaintext in realloc'ed buffers, so copies of both would be left in freed memory. With OpenSSL
 * the password, the derived key, the content key and the part stay in the secure heap. */

#define JWE_ALG         "PBES2-HS512+A256KW"
#define JWE_ENC         "A256GCM"
#define SALT_LEN        16
#define SALT_MIN_LEN    8
#define SALT_MAX_LEN    64
#define KEK_LEN         32
#define CEK_LEN         32
#define WRAPPED_CEK_LEN (CEK_LEN + 8)
#define IV_LEN          12
#define TAG_LEN         16

#define HDR_DESCRIPTION "tke_description"
#define HDR_VP          "tke_vp"
#define HDR_CREATED     "tke_created"

typedef struct
{
  TkeKeyPartFileInfo *info;
  char *protected_b64;
  char *aad_b64;
  guint8 salt[SALT_MAX_LEN];
  gsize salt_len;
  guint8 wrapped_cek[WRAPPED_CEK_LEN];
  guint8 iv[IV_LEN];
  guint8 ciphertext[TKE_KEY_PART_LEN];
  guint8 tag[TAG_LEN];
} ParsedFile;

static void
parsed_file_clear (ParsedFile *parsed)
{
  g_clear_pointer (&parsed->info, tke_key_part_file_info_free);
  g_clear_pointer (&parsed->protected_b64, g_free);
  g_clear_pointer (&parsed->aad_b64, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (ParsedFile, parsed_file_clear)

void
tke_key_part_file_info_free (TkeKeyPartFileInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->path);
  g_free (info->description);
  g_free (info->created);
  g_free (info);
}

gboolean
tke_key_part_description_is_valid (const char *description, GError **error)
{
  glong chars;

  if (description == NULL || !g_utf8_validate (description, -1, NULL))
    goto bad;
  chars = g_utf8_strlen (description, -1);
  if (chars < 1 || chars > TKE_KEY_PART_DESCRIPTION_MAX)
    goto bad;
  for (const char *p = description; *p != '\0'; p = g_utf8_next_char (p))
    if (!tke_text_char_is_safe (g_utf8_get_char (p)))
      goto bad;
  return TRUE;

bad:
  g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
               _ ("A key part description must be 1 to %d printable characters."),
               TKE_KEY_PART_DESCRIPTION_MAX);
  return FALSE;
}

G_GNUC_PRINTF (3, 4)
static gboolean
set_corrupt (GError **error, const char *name, const char *format, ...)
{
  g_autofree char *why = NULL;
  va_list args;

  va_start (args, format);
  why = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, TKE_ERROR, TKE_ERROR_CORRUPT_FILE,
               /* TRANSLATORS: the first %s is the file, the second what is wrong with it, such
                * as "its size is wrong". */
               _ ("The key part file %s is damaged or is not a key part file: %s."), name, why);
  return FALSE;
}

static gboolean
set_crypto_failed (GError **error, const char *message)
{
  g_set_error_literal (error, TKE_ERROR, TKE_ERROR_CRYPTO, message);
  return FALSE;
}

/* Base64url of exactly len bytes, in its one canonical spelling: a file whose text can change
 * without its bytes changing would hide damage. */
static gboolean
decode_member (const char *name, const json_t *value, const char *member, guint8 *out,
               gsize min_len, gsize max_len, gsize *out_len, GError **error)
{
  const char *text = json_string_value (value);
  g_autoptr (GBytes) bytes = NULL;
  g_autofree char *again = NULL;
  gsize len;

  if (text == NULL)
    return set_corrupt (error, name,
                        /* TRANSLATORS: %s is the name of a field of the file. */
                        _ ("\"%s\" is missing or not a string"), member);
  if (strlen (text) > 4 * max_len / 3 + 4)
    return set_corrupt (error, name,
                        /* TRANSLATORS: %s is the name of a field of the file. */
                        _ ("\"%s\" is too long"), member);
  bytes = tke_b64url_decode (text, NULL);
  if (bytes == NULL)
    return set_corrupt (error, name,
                        /* TRANSLATORS: %s is the name of a field of the file. */
                        _ ("\"%s\" is not base64url"), member);
  len = g_bytes_get_size (bytes);
  again = tke_b64url_encode (g_bytes_get_data (bytes, NULL), len);
  if (strcmp (again, text) != 0)
    return set_corrupt (error, name,
                        /* TRANSLATORS: %s is the name of a field of the file. */
                        _ ("\"%s\" is not base64url"), member);
  if (len < min_len || len > max_len)
    return set_corrupt (error, name,
                        /* TRANSLATORS: %s is the name of a field of the file, %zu its size. */
                        _ ("\"%s\" has %zu bytes"), member, len);
  memcpy (out, g_bytes_get_data (bytes, NULL), len);
  if (out_len != NULL)
    *out_len = len;
  return TRUE;
}

static json_t *
decode_json_member (const char *name, const char *text, const char *member, GError **error)
{
  g_autoptr (GBytes) bytes = NULL;
  g_autofree char *again = NULL;
  json_t *object;

  bytes = tke_b64url_decode (text, NULL);
  if (bytes == NULL)
    return set_corrupt (error, name,
                        /* TRANSLATORS: %s is the name of a field of the file. */
                        _ ("\"%s\" is not base64url"), member),
           NULL;
  again = tke_b64url_encode (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  if (strcmp (again, text) != 0)
    return set_corrupt (error, name,
                        /* TRANSLATORS: %s is the name of a field of the file. */
                        _ ("\"%s\" is not base64url"), member),
           NULL;
  object = json_loadb (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                       JSON_REJECT_DUPLICATES, NULL);
  if (!json_is_object (object))
    {
      json_decref (object);
      return set_corrupt (error, name,
                          /* TRANSLATORS: %s is the name of a field of the file. */
                          _ ("\"%s\" is not a JSON object"), member),
             NULL;
    }
  return object;
}

/* RFC 7516 §7.2.1: the protected, unprotected and per-recipient headers must not share names. */
static gboolean
merge_header (const char *name, json_t *into, const json_t *from, GError **error)
{
  const char *key;
  json_t *value;

  if (from == NULL)
    return TRUE;
  json_object_foreach ((json_t *) from, key, value)
    {
      if (json_object_get (into, key) != NULL)
        return set_corrupt (error, name,
                            /* TRANSLATORS: %s is the name of a header field of the file. */
                            _ ("the header \"%s\" appears twice"), key);
      json_object_set (into, key, value);
    }
  return TRUE;
}

static gboolean
parse_file (const char *name, const guint8 *data, gsize len, ParsedFile *parsed, GError **error)
{
  json_t *root = NULL;
  json_t *protected_hdr = NULL;
  json_t *header = NULL;
  json_t *aad = NULL;
  json_t *unprotected, *recipient_hdr;
  const char *protected_b64, *aad_b64;
  const char *description, *vp_hex, *created;
  json_int_t p2c;
  g_autoptr (TkeKeyPartFileInfo) info = NULL;
  gboolean ok = FALSE;

  if (len == 0 || len > TKE_FILES_MAX_SIZE)
    return set_corrupt (error, name, _ ("its size is wrong"));
  root = json_loadb ((const char *) data, len, JSON_REJECT_DUPLICATES, NULL);
  if (!json_is_object (root))
    {
      set_corrupt (error, name, _ ("it is not a JSON object"));
      goto out;
    }
  if (json_object_get (root, "recipients") != NULL)
    {
      set_corrupt (error, name, _ ("it is a JWE for several recipients, not the flattened form"));
      goto out;
    }

  protected_b64 = json_string_value (json_object_get (root, "protected"));
  if (protected_b64 == NULL)
    {
      set_corrupt (error, name, _ ("the protected header is missing"));
      goto out;
    }
  protected_hdr = decode_json_member (name, protected_b64, "protected", error);
  if (protected_hdr == NULL)
    goto out;
  unprotected = json_object_get (root, "unprotected");
  recipient_hdr = json_object_get (root, "header");
  if ((unprotected != NULL && !json_is_object (unprotected)) ||
      (recipient_hdr != NULL && !json_is_object (recipient_hdr)))
    {
      set_corrupt (error, name, _ ("a header is not a JSON object"));
      goto out;
    }
  header = json_deep_copy (protected_hdr);
  if (!merge_header (name, header, unprotected, error) ||
      !merge_header (name, header, recipient_hdr, error))
    goto out;

  if (g_strcmp0 (json_string_value (json_object_get (header, "alg")), JWE_ALG) != 0 ||
      g_strcmp0 (json_string_value (json_object_get (header, "enc")), JWE_ENC) != 0)
    {
      set_corrupt (error, name,
                   /* TRANSLATORS: the two %s are the names of encryption algorithms. */
                   _ ("it is not encrypted with %s and %s"), JWE_ALG, JWE_ENC);
      goto out;
    }
  if (json_object_get (header, "zip") != NULL || json_object_get (header, "crit") != NULL)
    {
      set_corrupt (error, name, _ ("it asks for compression or critical extensions"));
      goto out;
    }
  if (!json_is_integer (json_object_get (header, "p2c")))
    {
      set_corrupt (error, name, _ ("the iteration count p2c is missing"));
      goto out;
    }
  p2c = json_integer_value (json_object_get (header, "p2c"));
  if (p2c < TKE_KEY_PART_FILE_MIN_ITERATIONS || p2c > TKE_KEY_PART_FILE_MAX_ITERATIONS)
    {
      set_corrupt (error, name,
                   /* TRANSLATORS: the first number is the file's iteration count, the other two
                    * the smallest and the largest one allowed. */
                   _ ("the iteration count %lld is not between %d and %d"), (long long) p2c,
                   TKE_KEY_PART_FILE_MIN_ITERATIONS, TKE_KEY_PART_FILE_MAX_ITERATIONS);
      goto out;
    }
  if (!decode_member (name, json_object_get (header, "p2s"), "p2s", parsed->salt, SALT_MIN_LEN,
                      SALT_MAX_LEN, &parsed->salt_len, error) ||
      !decode_member (name, json_object_get (root, "encrypted_key"), "encrypted_key",
                      parsed->wrapped_cek, WRAPPED_CEK_LEN, WRAPPED_CEK_LEN, NULL, error) ||
      !decode_member (name, json_object_get (root, "iv"), "iv", parsed->iv, IV_LEN, IV_LEN, NULL,
                      error) ||
      !decode_member (name, json_object_get (root, "ciphertext"), "ciphertext", parsed->ciphertext,
                      TKE_KEY_PART_LEN, TKE_KEY_PART_LEN, NULL, error) ||
      !decode_member (name, json_object_get (root, "tag"), "tag", parsed->tag, TAG_LEN, TAG_LEN,
                      NULL, error))
    goto out;

  info = g_new0 (TkeKeyPartFileInfo, 1);
  info->iterations = (guint) p2c;
  description = json_string_value (json_object_get (header, HDR_DESCRIPTION));
  vp_hex = json_string_value (json_object_get (header, HDR_VP));
  if (description == NULL || !tke_key_part_description_is_valid (description, NULL))
    {
      set_corrupt (error, name,
                   _ ("the description is missing or not 1 to %d printable characters"),
                   TKE_KEY_PART_DESCRIPTION_MAX);
      goto out;
    }
  if (vp_hex == NULL || !tke_vp_from_hex (vp_hex, info->vp, NULL))
    {
      set_corrupt (error, name, _ ("the verification pattern is missing or not 64 hex digits"));
      goto out;
    }
  info->description = g_strdup (description);
  created = json_string_value (json_object_get (header, HDR_CREATED));
  info->created = g_strdup (created);

  /* The unprotected header is not authenticated; the additional authenticated data carries the
   * description, VP and date again, so that a changed label is found as damage at the latest when the
   * part is decrypted. */
  aad_b64 = json_string_value (json_object_get (root, "aad"));
  if (json_object_get (root, "aad") != NULL)
    {
      guint8 aad_vp[TKE_VP_LEN];
      const char *aad_vp_hex;

      if (aad_b64 == NULL)
        {
          set_corrupt (error, name, _ ("\"aad\" is not a string"));
          goto out;
        }
      aad = decode_json_member (name, aad_b64, "aad", error);
      if (aad == NULL)
        goto out;
      aad_vp_hex = json_string_value (json_object_get (aad, HDR_VP));
      if (g_strcmp0 (json_string_value (json_object_get (aad, HDR_DESCRIPTION)), description) !=
              0 ||
          aad_vp_hex == NULL || !tke_vp_from_hex (aad_vp_hex, aad_vp, NULL) ||
          memcmp (aad_vp, info->vp, TKE_VP_LEN) != 0 ||
          g_strcmp0 (json_string_value (json_object_get (aad, HDR_CREATED)), created) != 0)
        {
          set_corrupt (error, name, _ ("the description, the VP or the date was changed"));
          goto out;
        }
      parsed->aad_b64 = g_strdup (aad_b64);
    }

  parsed->protected_b64 = g_strdup (protected_b64);
  parsed->info = g_steal_pointer (&info);
  ok = TRUE;

out:
  json_decref (aad);
  json_decref (header);
  json_decref (protected_hdr);
  json_decref (root);
  return ok;
}

/* RFC 7518 §4.8.1.1: PBKDF2 with HMAC-SHA-512 over the salt UTF8(alg) || 0x00 || p2s. */
static TkeSecret *
derive_kek (const TkeSecret *password, const guint8 *salt, gsize salt_len, guint iterations,
            GError **error)
{
  g_autoptr (TkeSecret) kek = tke_secret_new (KEK_LEN, error);
  g_autoptr (GByteArray) full_salt = g_byte_array_new ();

  if (kek == NULL)
    return NULL;
  g_byte_array_append (full_salt, (const guint8 *) JWE_ALG, sizeof JWE_ALG);
  g_byte_array_append (full_salt, salt, salt_len);
  if (PKCS5_PBKDF2_HMAC ((const char *) tke_secret_peek (password), (int) tke_secret_len (password),
                         full_salt->data, (int) full_salt->len, (int) iterations, EVP_sha512 (),
                         KEK_LEN, tke_secret_data (kek)) != 1)
    return set_crypto_failed (error, _ ("Deriving the key from the password failed in OpenSSL.")),
           NULL;
  return g_steal_pointer (&kek);
}

/* AES key wrap (RFC 3394); unwrap fails when the key is not the one that wrapped, which is how a
 * wrong password shows. */
static gboolean
aes_key_wrap (gboolean wrap, const TkeSecret *kek, const guint8 *in, gsize in_len, guint8 *out,
              gsize *out_len)
{
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new ();
  int len = 0, final_len = 0;
  gboolean ok;

  ok = ctx != NULL &&
       EVP_CipherInit_ex (ctx, EVP_aes_256_wrap (), NULL, tke_secret_peek (kek), NULL, wrap) == 1 &&
       EVP_CipherUpdate (ctx, out, &len, in, (int) in_len) == 1 && len > 0 &&
       EVP_CipherFinal_ex (ctx, out + len, &final_len) == 1;
  *out_len = ok ? (gsize) (len + final_len) : 0;
  EVP_CIPHER_CTX_free (ctx);
  return ok;
}

static gboolean
aes_gcm (gboolean encrypt, const TkeSecret *cek, const guint8 iv[IV_LEN], const char *aad,
         const guint8 *in, guint8 *out, guint8 tag[TAG_LEN])
{
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new ();
  int len = 0, final_len = 0;
  gboolean ok;

  ok = ctx != NULL && EVP_CipherInit_ex (ctx, EVP_aes_256_gcm (), NULL, NULL, NULL, encrypt) == 1 &&
       EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_GCM_SET_IVLEN, IV_LEN, NULL) == 1 &&
       EVP_CipherInit_ex (ctx, NULL, NULL, tke_secret_peek (cek), iv, encrypt) == 1 &&
       EVP_CipherUpdate (ctx, NULL, &len, (const guint8 *) aad, (int) strlen (aad)) == 1 &&
       EVP_CipherUpdate (ctx, out, &len, in, TKE_KEY_PART_LEN) == 1 && len == TKE_KEY_PART_LEN &&
       (encrypt || EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) == 1) &&
       EVP_CipherFinal_ex (ctx, out + len, &final_len) == 1 && final_len == 0 &&
       (!encrypt || EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) == 1);
  EVP_CIPHER_CTX_free (ctx);
  return ok;
}

static char *
gcm_aad (const ParsedFile *parsed)
{
  if (parsed->aad_b64 != NULL)
    return g_strconcat (parsed->protected_b64, ".", parsed->aad_b64, NULL);
  return g_strdup (parsed->protected_b64);
}

static char *
b64_json (json_t *object)
{
  g_autofree char *text = json_dumps (object, JSON_COMPACT | JSON_SORT_KEYS);

  return tke_b64url_encode ((const guint8 *) text, strlen (text));
}

TkeKeyPartFileInfo *
tke_key_part_file_create (const char *path, const TkeSecret *part, const char *description,
                          const TkeSecret *password, GError **error)
{
  return tke_key_part_file_create_with_iterations (path, part, description, password,
                                                   TKE_KEY_PART_FILE_ITERATIONS, error);
}

TkeKeyPartFileInfo *
tke_key_part_file_create_with_iterations (const char *path, const TkeSecret *part,
                                          const char *description, const TkeSecret *password,
                                          guint iterations, GError **error)
{
  g_autoptr (TkeSecret) kek = NULL;
  g_autoptr (TkeSecret) cek = NULL;
  g_autoptr (TkeKeyPartFileInfo) info = NULL;
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *vp_hex = NULL;
  g_autofree char *salt_b64 = NULL;
  g_autofree char *protected_b64 = NULL;
  g_autofree char *aad_b64 = NULL;
  g_autofree char *aad = NULL;
  g_autofree char *wrapped_b64 = NULL;
  g_autofree char *iv_b64 = NULL;
  g_autofree char *ciphertext_b64 = NULL;
  g_autofree char *tag_b64 = NULL;
  g_autofree char *text = NULL;
  g_autofree char *with_newline = NULL;
  guint8 salt[SALT_LEN], wrapped[WRAPPED_CEK_LEN], iv[IV_LEN], ciphertext[TKE_KEY_PART_LEN],
      tag[TAG_LEN];
  gsize wrapped_len;
  json_t *protected_hdr, *aad_obj, *root;

  g_return_val_if_fail (path != NULL && part != NULL && password != NULL, NULL);
  g_return_val_if_fail (iterations >= TKE_KEY_PART_FILE_MIN_ITERATIONS &&
                            iterations <= TKE_KEY_PART_FILE_MAX_ITERATIONS,
                        NULL);

  if (tke_secret_len (part) != TKE_KEY_PART_LEN)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                   /* TRANSLATORS: the first number is the size of every key part, the second
                    * the size of the one given. */
                   _ ("A key part has %d bytes, not %zu."), TKE_KEY_PART_LEN,
                   tke_secret_len (part));
      return NULL;
    }
  if (!tke_key_part_description_is_valid (description, error))
    return NULL;
  if (tke_secret_len (password) == 0 || tke_secret_len (password) > G_MAXINT)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                   _ ("A key part file needs a password that is not empty."));
      return NULL;
    }

  info = g_new0 (TkeKeyPartFileInfo, 1);
  info->path = g_strdup (path);
  info->description = g_strdup (description);
  info->created = g_date_time_format (now, "%Y-%m-%dT%H:%M:%SZ");
  info->iterations = iterations;
  tke_vp_compute (tke_secret_peek (part), TKE_KEY_PART_LEN, info->vp);
  vp_hex = tke_vp_to_hex (info->vp);

  if (RAND_bytes (salt, sizeof salt) != 1 || RAND_bytes (iv, sizeof iv) != 1)
    return set_crypto_failed (error, _ ("Drawing the salt and IV failed in OpenSSL.")), NULL;
  cek = tke_secret_new_random (CEK_LEN, error);
  if (cek == NULL)
    return NULL;
  kek = derive_kek (password, salt, sizeof salt, iterations, error);
  if (kek == NULL)
    return NULL;
  if (!aes_key_wrap (TRUE, kek, tke_secret_peek (cek), CEK_LEN, wrapped, &wrapped_len) ||
      wrapped_len != WRAPPED_CEK_LEN)
    return set_crypto_failed (error, _ ("Wrapping the content key failed in OpenSSL.")), NULL;

  salt_b64 = tke_b64url_encode (salt, sizeof salt);
  protected_hdr = json_pack ("{s:s, s:s, s:s, s:i}", "alg", JWE_ALG, "enc", JWE_ENC, "p2s",
                             salt_b64, "p2c", (json_int_t) iterations);
  protected_b64 = b64_json (protected_hdr);
  json_decref (protected_hdr);
  aad_obj = json_pack ("{s:s, s:s, s:s}", HDR_CREATED, info->created, HDR_DESCRIPTION, description,
                       HDR_VP, vp_hex);
  aad_b64 = b64_json (aad_obj);
  json_decref (aad_obj);
  aad = g_strconcat (protected_b64, ".", aad_b64, NULL);

  if (!aes_gcm (TRUE, cek, iv, aad, tke_secret_peek (part), ciphertext, tag))
    return set_crypto_failed (error, _ ("Encrypting the key part failed in OpenSSL.")), NULL;

  wrapped_b64 = tke_b64url_encode (wrapped, sizeof wrapped);
  iv_b64 = tke_b64url_encode (iv, sizeof iv);
  ciphertext_b64 = tke_b64url_encode (ciphertext, sizeof ciphertext);
  tag_b64 = tke_b64url_encode (tag, sizeof tag);
  root = json_pack ("{s:s, s:{s:s, s:s, s:s}, s:s, s:s, s:s, s:s, s:s}", "protected", protected_b64,
                    "unprotected", HDR_DESCRIPTION, description, HDR_VP, vp_hex, HDR_CREATED,
                    info->created, "aad", aad_b64, "encrypted_key", wrapped_b64, "iv", iv_b64,
                    "ciphertext", ciphertext_b64, "tag", tag_b64);
  text = json_dumps (root, JSON_INDENT (2));
  json_decref (root);
  if (text == NULL)
    return set_crypto_failed (error, _ ("Writing the JSON failed in OpenSSL.")), NULL;
  with_newline = g_strconcat (text, "\n", NULL);
  if (!tke_files_dir_write (path, (const guint8 *) with_newline, strlen (with_newline), FALSE,
                            error))
    return NULL;
  return g_steal_pointer (&info);
}

TkeKeyPartFileInfo *
tke_key_part_file_create_random (const char *path, const char *description,
                                 const TkeSecret *password, GError **error)
{
  g_autoptr (TkeSecret) part = tke_secret_new_random (TKE_KEY_PART_LEN, error);

  if (part == NULL)
    return NULL;
  return tke_key_part_file_create (path, part, description, password, error);
}

TkeKeyPartFileInfo *
tke_key_part_file_parse_info (const char *name, const guint8 *data, gsize len, GError **error)
{
  g_auto (ParsedFile) parsed = { 0 };

  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (data != NULL || len == 0, NULL);

  if (!parse_file (name, data, len, &parsed, error))
    return NULL;
  parsed.info->path = g_strdup (name);
  return g_steal_pointer (&parsed.info);
}

static GBytes *
read_file (const char *path, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  GBytes *bytes = tke_files_dir_read (path, &local_error);

  if (bytes == NULL && g_error_matches (local_error, TKE_ERROR, TKE_ERROR_CORRUPT_FILE))
    set_corrupt (error, path, _ ("it is empty or larger than a key part file can be"));
  else if (bytes == NULL)
    g_propagate_error (error, g_steal_pointer (&local_error));
  return bytes;
}

TkeKeyPartFileInfo *
tke_key_part_file_read_info (const char *path, GError **error)
{
  g_autoptr (GBytes) bytes = NULL;

  g_return_val_if_fail (path != NULL, NULL);

  bytes = read_file (path, error);
  if (bytes == NULL)
    return NULL;
  return tke_key_part_file_parse_info (path, g_bytes_get_data (bytes, NULL),
                                       g_bytes_get_size (bytes), error);
}

TkeSecret *
tke_key_part_file_load (const char *path, const TkeSecret *password, TkeKeyPartFileInfo **info,
                        GError **error)
{
  g_auto (ParsedFile) parsed = { 0 };
  g_autoptr (GBytes) bytes = NULL;
  g_autoptr (TkeSecret) kek = NULL;
  g_autoptr (TkeSecret) cek = NULL;
  g_autoptr (TkeSecret) part = NULL;
  g_autofree char *aad = NULL;
  guint8 vp[TKE_VP_LEN];
  gsize cek_len;

  g_return_val_if_fail (path != NULL && password != NULL, NULL);

  if (tke_secret_len (password) > G_MAXINT)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT, _ ("The password is too long."));
      return NULL;
    }
  bytes = read_file (path, error);
  if (bytes == NULL ||
      !parse_file (path, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), &parsed, error))
    return NULL;

  kek = derive_kek (password, parsed.salt, parsed.salt_len, parsed.info->iterations, error);
  /* AES key wrap leaves its output in the secure heap too: it is the content key. */
  cek = kek != NULL ? tke_secret_new (WRAPPED_CEK_LEN, error) : NULL;
  if (cek == NULL)
    return NULL;
  if (!aes_key_wrap (FALSE, kek, parsed.wrapped_cek, WRAPPED_CEK_LEN, tke_secret_data (cek),
                     &cek_len) ||
      cek_len != CEK_LEN)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_WRONG_PASSWORD,
                   _ ("The password does not open the key part file %s (if it is the right one, "
                      "the file's salt or wrapped key is damaged)."),
                   path);
      return NULL;
    }

  part = tke_secret_new (TKE_KEY_PART_LEN, error);
  if (part == NULL)
    return NULL;
  aad = gcm_aad (&parsed);
  if (!aes_gcm (FALSE, cek, parsed.iv, aad, parsed.ciphertext, tke_secret_data (part), parsed.tag))
    {
      set_corrupt (error, path,
                   _ ("the password is right but the encrypted part or its header "
                      "fails its integrity check"));
      return NULL;
    }
  tke_vp_compute (tke_secret_peek (part), TKE_KEY_PART_LEN, vp);
  if (CRYPTO_memcmp (vp, parsed.info->vp, TKE_VP_LEN) != 0)
    {
      g_autofree char *shown = tke_vp_to_hex (parsed.info->vp);
      g_autofree char *actual = tke_vp_to_hex (vp);

      set_corrupt (error, path,
                   /* TRANSLATORS: the two %s are verification patterns: the one the file shows,
                    * then the one of the key part it holds. */
                   _ ("it shows the VP %s but the part in it has the VP %s"), shown, actual);
      return NULL;
    }

  if (info != NULL)
    {
      parsed.info->path = g_strdup (path);
      *info = g_steal_pointer (&parsed.info);
    }
  return g_steal_pointer (&part);
}

GPtrArray *
tke_key_part_file_list (const char *dir, char **skipped, GError **error)
{
  g_autoptr (GPtrArray) paths = NULL;
  g_autoptr (GPtrArray) infos = NULL;
  g_autoptr (GString) problems = g_string_new (NULL);

  g_return_val_if_fail (dir != NULL, NULL);

  paths = tke_files_dir_list (dir, TKE_KEY_PART_FILE_SUFFIX, error);
  if (paths == NULL)
    return NULL;
  infos = g_ptr_array_new_with_free_func ((GDestroyNotify) tke_key_part_file_info_free);
  for (guint i = 0; i < paths->len; i++)
    {
      g_autoptr (GError) local_error = NULL;
      TkeKeyPartFileInfo *info = tke_key_part_file_read_info (paths->pdata[i], &local_error);

      if (info != NULL)
        g_ptr_array_add (infos, info);
      else
        g_string_append_printf (problems, "%s%s", problems->len > 0 ? "\n" : "",
                                local_error->message);
    }
  if (skipped != NULL)
    *skipped = problems->len > 0 ? g_strdup (problems->str) : NULL;
  return g_steal_pointer (&infos);
}

gboolean
tke_key_part_file_delete (const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, FALSE);

  /* Only key part files (or what is left of one) are removed through this call. */
  if (!g_str_has_suffix (path, TKE_KEY_PART_FILE_SUFFIX))
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                   /* TRANSLATORS: the first %s is a file, the second the ending of the names of
                    * key part files. */
                   _ ("%s is not a key part file: its name does not end with %s."), path,
                   TKE_KEY_PART_FILE_SUFFIX);
      return FALSE;
    }
  return tke_files_dir_delete (path, error);
}
