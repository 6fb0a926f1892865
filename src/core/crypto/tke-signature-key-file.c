/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Signature key files as PKCS#12: AES-256-CBC with PBKDF2 for the key, HMAC-SHA256 MAC, certificate in the clear. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include "tke-error.h"
#include "tke-files-dir.h"
#include "tke-memory-signer.h"
#include "tke-signature-key-file.h"

/* What the walk through a file's bags found. */
typedef struct
{
  EVP_PKEY *key;
  STACK_OF (X509) * certificates;
  /* Safes or key bags that need the password to be read. */
  gboolean has_encrypted;
  /* An encrypted safe (certificates) that did not decrypt with the password. */
  gboolean safe_decrypt_failed;
} Contents;

static void
contents_clear (Contents *contents)
{
  g_clear_pointer (&contents->key, EVP_PKEY_free);
  if (contents->certificates != NULL)
    sk_X509_pop_free (contents->certificates, X509_free);
  contents->certificates = NULL;
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Contents, contents_clear)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PKCS12, PKCS12_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (X509, X509_free)

/* OpenSSL's PKCS#12 calls take the password as a C string: a NUL-terminated copy in the secure
 * heap, freed (and cleared) with this. */
typedef char SecurePassword;

static void
secure_password_free (SecurePassword *password)
{
  OPENSSL_secure_clear_free (password, strlen (password) + 1);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SecurePassword, secure_password_free)

void
tke_signature_key_file_info_free (TkeSignatureKeyFileInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->path);
  g_free (info->name);
  g_free (info->ski);
  g_free (info);
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
  ERR_clear_error ();
  g_set_error (error, TKE_ERROR, TKE_ERROR_CORRUPT_FILE,
               /* TRANSLATORS: the first %s is the file, the second what is wrong with it, such
                * as "its size is wrong". */
               _ ("The signature key file %s is damaged or is not a signature key file: %s."), name,
               why);
  return FALSE;
}

static gboolean
set_wrong_password (GError **error, const char *name)
{
  ERR_clear_error ();
  g_set_error (error, TKE_ERROR, TKE_ERROR_WRONG_PASSWORD,
               _ ("The password does not open the signature key file %s (if it is the right "
                  "one, the encrypted key in the file is damaged)."),
               name);
  return FALSE;
}

static SecurePassword *
secure_password_new (const TkeSecret *password, GError **error)
{
  gsize len = tke_secret_len (password);
  char *copy;

  if (memchr (tke_secret_peek (password), 0, len) != NULL || len > 1024)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                   _ ("A password must be at most 1024 bytes of text without NUL characters."));
      return NULL;
    }
  copy = OPENSSL_secure_zalloc (len + 1);
  if (copy == NULL)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_SECURE_MEMORY,
                   _ ("The secure memory is full: close other ceremonies and try again."));
      return NULL;
    }
  memcpy (copy, tke_secret_peek (password), len);
  return copy;
}

/* The iteration count a password-based algorithm identifier asks for (PBES2 with PBKDF2, or the
 * PKCS#12 PBEs), so that a file cannot make a load run for hours. */
static gboolean
check_pbe_iterations (const char *name, const X509_ALGOR *alg, GError **error)
{
  long iterations = -1;

  if (alg == NULL || alg->parameter == NULL)
    return set_corrupt (error, name, _ ("an encryption algorithm has no parameters"));
  if (OBJ_obj2nid (alg->algorithm) == NID_pbes2)
    {
      PBE2PARAM *pbe2 = ASN1_TYPE_unpack_sequence (ASN1_ITEM_rptr (PBE2PARAM), alg->parameter);

      if (pbe2 != NULL && pbe2->keyfunc != NULL &&
          OBJ_obj2nid (pbe2->keyfunc->algorithm) == NID_id_pbkdf2 &&
          pbe2->keyfunc->parameter != NULL)
        {
          PBKDF2PARAM *kdf =
              ASN1_TYPE_unpack_sequence (ASN1_ITEM_rptr (PBKDF2PARAM), pbe2->keyfunc->parameter);
          if (kdf != NULL && kdf->iter != NULL)
            iterations = ASN1_INTEGER_get (kdf->iter);
          PBKDF2PARAM_free (kdf);
        }
      PBE2PARAM_free (pbe2);
    }
  else
    {
      PBEPARAM *pbe = ASN1_TYPE_unpack_sequence (ASN1_ITEM_rptr (PBEPARAM), alg->parameter);

      if (pbe != NULL && pbe->iter != NULL)
        iterations = ASN1_INTEGER_get (pbe->iter);
      PBEPARAM_free (pbe);
    }
  if (iterations < 1 || iterations > TKE_SIGNATURE_KEY_FILE_MAX_ITERATIONS)
    return set_corrupt (error, name, _ ("an iteration count is missing or above %d"),
                        TKE_SIGNATURE_KEY_FILE_MAX_ITERATIONS);
  return TRUE;
}

/* PFX ::= SEQUENCE { version INTEGER {v3(3)}, ... }: OpenSSL does not look at the version, and
 * the MAC does not cover it, so a damaged one would go unnoticed. */
static gboolean
has_version_3 (const guint8 *data, gsize len)
{
  const unsigned char *p = data;
  long content_len;
  int tag, xclass, ret;

  ret = ASN1_get_object (&p, &content_len, &tag, &xclass, (long) len);
  if ((ret & 0x80) != 0 || tag != V_ASN1_SEQUENCE || (ret & V_ASN1_CONSTRUCTED) == 0)
    return FALSE;
  ret = ASN1_get_object (&p, &content_len, &tag, &xclass, (long) (data + len - p));
  return (ret & 0x80) == 0 && tag == V_ASN1_INTEGER && xclass == V_ASN1_UNIVERSAL &&
         content_len == 1 && p < data + len && p[0] == 3;
}

static PKCS12 *
parse_pkcs12 (const char *name, const guint8 *data, gsize len, GError **error)
{
  const unsigned char *p = data;
  PKCS12 *p12;
  const ASN1_INTEGER *mac_iterations = NULL;

  if (len == 0 || len > TKE_FILES_MAX_SIZE)
    return set_corrupt (error, name, _ ("its size is wrong")), NULL;
  p12 = d2i_PKCS12 (NULL, &p, (long) len);
  if (p12 == NULL || p != data + len || !has_version_3 (data, len))
    {
      PKCS12_free (p12);
      return set_corrupt (error, name, _ ("it is not a whole DER PKCS#12 file")), NULL;
    }
  if (PKCS12_mac_present (p12))
    {
      const X509_ALGOR *mac_digest = NULL;
      int parameter_type = V_ASN1_UNDEF;

      PKCS12_get0_mac (NULL, &mac_digest, NULL, &mac_iterations, p12);
      /* The digest's parameters are outside what the MAC covers, and OpenSSL ignores them: only
       * the two spellings of "none" are accepted, so that a changed byte there is found. */
      if (mac_digest != NULL)
        X509_ALGOR_get0 (NULL, &parameter_type, NULL, mac_digest);
      if (parameter_type != V_ASN1_UNDEF && parameter_type != V_ASN1_NULL)
        {
          PKCS12_free (p12);
          return set_corrupt (error, name, _ ("the MAC algorithm has unexpected parameters")), NULL;
        }
      if (mac_iterations != NULL &&
          (ASN1_INTEGER_get (mac_iterations) < 1 ||
           ASN1_INTEGER_get (mac_iterations) > TKE_SIGNATURE_KEY_FILE_MAX_ITERATIONS))
        {
          PKCS12_free (p12);
          return set_corrupt (error, name, _ ("the MAC iteration count is not between 1 and %d"),
                              TKE_SIGNATURE_KEY_FILE_MAX_ITERATIONS),
                 NULL;
        }
    }
  return p12;
}

static gboolean keep_key (const char *name, EVP_PKEY *key, Contents *contents,
                          gboolean *decrypt_failed, GError **error);

/* One bag: the key (decrypted when a password is given), or a certificate. */
static gboolean
read_bag (const char *name, const PKCS12_SAFEBAG *bag, const char *password, Contents *contents,
          gboolean *decrypt_failed, GError **error)
{
  PKCS8_PRIV_KEY_INFO *p8 = NULL;
  const X509_ALGOR *alg = NULL;
  EVP_PKEY *key;

  switch (PKCS12_SAFEBAG_get_nid (bag))
    {
      case NID_certBag:
        if (PKCS12_SAFEBAG_get_bag_nid (bag) == NID_x509Certificate)
          {
            X509 *certificate = PKCS12_SAFEBAG_get1_cert (bag);

            if (certificate == NULL)
              return set_corrupt (error, name, _ ("a certificate does not parse"));
            sk_X509_push (contents->certificates, certificate);
          }
        return TRUE;

      case NID_pkcs8ShroudedKeyBag:
        contents->has_encrypted = TRUE;
        if (password == NULL)
          return TRUE;
        X509_SIG_get0 (PKCS12_SAFEBAG_get0_pkcs8 (bag), &alg, NULL);
        if (!check_pbe_iterations (name, alg, error))
          return FALSE;
        p8 = PKCS12_decrypt_skey_ex (bag, password, -1, NULL, NULL);
        if (p8 == NULL)
          {
            *decrypt_failed = TRUE;
            ERR_clear_error ();
            return TRUE;
          }
        break;

      case NID_keyBag:
        /* A key in the clear has no place in a password-protected file. */
        return set_corrupt (error, name, _ ("its private key is not encrypted"));

      default:
        return TRUE;
    }

  /* Freeing a PKCS8_PRIV_KEY_INFO clears the private key bytes it holds. */
  key = EVP_PKCS82PKEY (p8);
  PKCS8_PRIV_KEY_INFO_free (p8);
  return keep_key (name, key, contents, decrypt_failed, error);
}

static gboolean
keep_key (const char *name, EVP_PKEY *key, Contents *contents, gboolean *decrypt_failed,
          GError **error)
{
  if (key == NULL)
    {
      *decrypt_failed = TRUE;
      ERR_clear_error ();
      return TRUE;
    }
  if (contents->key != NULL)
    {
      EVP_PKEY_free (key);
      return set_corrupt (error, name, _ ("it holds more than one private key"));
    }
  contents->key = key;
  return TRUE;
}

/* Walks the safes: the clear ones always, the encrypted ones and the key only with a password.
 * decrypt_failed says that something did not decrypt with the password. */
static gboolean
read_contents (const char *name, PKCS12 *p12, const char *password, Contents *contents,
               gboolean *decrypt_failed, GError **error)
{
  STACK_OF (PKCS7) *safes = PKCS12_unpack_authsafes (p12);
  gboolean ok = TRUE;

  *decrypt_failed = FALSE;
  contents->certificates = sk_X509_new_null ();
  if (safes == NULL)
    return set_corrupt (error, name, _ ("its contents do not parse"));

  for (int i = 0; ok && i < sk_PKCS7_num (safes); i++)
    {
      PKCS7 *safe = sk_PKCS7_value (safes, i);
      STACK_OF (PKCS12_SAFEBAG) *bags = NULL;

      if (PKCS7_type_is_data (safe))
        {
          bags = PKCS12_unpack_p7data (safe);
          if (bags == NULL)
            ok = set_corrupt (error, name, _ ("a safe does not parse"));
        }
      else if (PKCS7_type_is_encrypted (safe))
        {
          contents->has_encrypted = TRUE;
          if (password == NULL)
            continue;
          if (safe->d.encrypted == NULL || safe->d.encrypted->enc_data == NULL)
            ok = set_corrupt (error, name, _ ("an encrypted safe does not parse"));
          else if (!check_pbe_iterations (name, safe->d.encrypted->enc_data->algorithm, error))
            ok = FALSE;
          else
            {
              bags = PKCS12_unpack_p7encdata (safe, password, -1);
              if (bags == NULL)
                {
                  *decrypt_failed = TRUE;
                  contents->safe_decrypt_failed = TRUE;
                  ERR_clear_error ();
                }
            }
        }
      else
        ok = set_corrupt (error, name, _ ("a safe is neither data nor encrypted data"));

      for (int j = 0; ok && bags != NULL && j < sk_PKCS12_SAFEBAG_num (bags); j++)
        ok = read_bag (name, sk_PKCS12_SAFEBAG_value (bags, j), password, contents, decrypt_failed,
                       error);
      sk_PKCS12_SAFEBAG_pop_free (bags, PKCS12_SAFEBAG_free);
    }
  sk_PKCS7_pop_free (safes, PKCS7_free);
  return ok;
}

/* The certificate that goes with the key; without the key, the only one the file holds. */
static X509 *
find_certificate (const Contents *contents)
{
  int n = sk_X509_num (contents->certificates);

  for (int i = 0; i < n; i++)
    {
      X509 *certificate = sk_X509_value (contents->certificates, i);

      if (contents->key == NULL ? n == 1
                                : EVP_PKEY_eq (X509_get0_pubkey (certificate), contents->key) == 1)
        return certificate;
    }
  return NULL;
}

static GBytes *
certificate_der (X509 *certificate)
{
  unsigned char *der = NULL;
  int len = i2d_X509 (certificate, &der);
  GBytes *bytes;

  if (len <= 0)
    return NULL;
  bytes = g_bytes_new (der, (gsize) len);
  OPENSSL_free (der);
  return bytes;
}

/* An administrator certificate: self-signed, EC on one of the three curves, CN a valid name. */
static gboolean
check_certificate (const char *name, GBytes *der, char **admin_name, EVP_PKEY **public_key,
                   GError **error)
{
  g_autoptr (GError) local_error = NULL;

  if (der == NULL)
    return set_corrupt (error, name, _ ("its certificate cannot be encoded"));
  if (!tke_certificate_check_self_signed (g_bytes_get_data (der, NULL), g_bytes_get_size (der),
                                          admin_name, public_key, &local_error))
    return set_corrupt (error, name,
                        /* TRANSLATORS: %s says why the certificate is not an administrator's. */
                        _ ("its certificate is not an administrator's (%s)"), local_error->message);
  return TRUE;
}

TkeSignatureKeyFileInfo *
tke_signature_key_file_parse_info (const char *name, const guint8 *data, gsize len, GError **error)
{
  g_autoptr (PKCS12) p12 = NULL;
  g_auto (Contents) contents = { 0 };
  g_autoptr (TkeSignatureKeyFileInfo) info = NULL;
  g_autoptr (EVP_PKEY) public_key = NULL;
  g_autoptr (GBytes) der = NULL;
  gboolean decrypt_failed;
  X509 *certificate;

  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (data != NULL || len == 0, NULL);

  p12 = parse_pkcs12 (name, data, len, error);
  if (p12 == NULL || !read_contents (name, p12, NULL, &contents, &decrypt_failed, error))
    return NULL;
  if (!contents.has_encrypted)
    return set_corrupt (error, name, _ ("it holds no encrypted private key")), NULL;

  info = g_new0 (TkeSignatureKeyFileInfo, 1);
  info->path = g_strdup (name);
  certificate = find_certificate (&contents);
  if (certificate != NULL)
    {
      der = certificate_der (certificate);
      if (!check_certificate (name, der, &info->name, &public_key, error))
        return NULL;
      info->ski = tke_ec_key_get_ski (public_key, NULL);
      if (info->ski == NULL || !tke_ec_key_get_curve (public_key, &info->curve, NULL))
        return set_corrupt (error, name, _ ("its certificate's key cannot be read")), NULL;
      info->has_certificate = TRUE;
    }
  else if (sk_X509_num (contents.certificates) > 0)
    return set_corrupt (error, name, _ ("it holds several certificates")), NULL;
  return g_steal_pointer (&info);
}

static GBytes *
read_file (const char *path, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  GBytes *bytes = tke_files_dir_read (path, &local_error);

  if (bytes == NULL && g_error_matches (local_error, TKE_ERROR, TKE_ERROR_CORRUPT_FILE))
    set_corrupt (error, path, _ ("it is empty or larger than a signature key file can be"));
  else if (bytes == NULL)
    g_propagate_error (error, g_steal_pointer (&local_error));
  return bytes;
}

TkeSignatureKeyFileInfo *
tke_signature_key_file_read_info (const char *path, GError **error)
{
  g_autoptr (GBytes) bytes = NULL;

  g_return_val_if_fail (path != NULL, NULL);

  bytes = read_file (path, error);
  if (bytes == NULL)
    return NULL;
  return tke_signature_key_file_parse_info (path, g_bytes_get_data (bytes, NULL),
                                            g_bytes_get_size (bytes), error);
}

TkeSigner *
tke_signature_key_file_load (const char *path, const TkeSecret *password, EVP_PKEY **private_key,
                             GBytes **certificate, GError **error)
{
  g_autoptr (GBytes) bytes = NULL;
  g_autoptr (PKCS12) p12 = NULL;
  g_autoptr (SecurePassword) secure_password = NULL;
  g_auto (Contents) contents = { 0 };
  g_autoptr (GBytes) der = NULL;
  g_autofree char *name = NULL;
  g_autoptr (GError) local_error = NULL;
  TkeMemorySigner *signer;
  gboolean decrypt_failed, mac_ok;
  X509 *x509;

  g_return_val_if_fail (path != NULL && password != NULL, NULL);

  bytes = read_file (path, error);
  if (bytes == NULL)
    return NULL;
  p12 = parse_pkcs12 (path, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), error);
  if (p12 == NULL)
    return NULL;
  secure_password = secure_password_new (password, error);
  if (secure_password == NULL)
    return NULL;

  /* The key is decrypted before the MAC is checked: a key that decrypts to a valid private key
   * proves the password right, so a failing MAC then means damage, not a typing mistake. */
  if (!read_contents (path, p12, secure_password, &contents, &decrypt_failed, error))
    return NULL;
  mac_ok = !PKCS12_mac_present (p12) || PKCS12_verify_mac (p12, secure_password, -1) == 1;
  ERR_clear_error ();
  if (contents.key == NULL && decrypt_failed)
    {
      if (PKCS12_mac_present (p12) && mac_ok)
        return set_corrupt (error, path,
                            _ ("the password is right but the key does not decrypt (it may use "
                               "a legacy cipher such as RC2 or DES that OpenSSL 3 does not offer "
                               "by default: export the file again without -legacy)")),
               NULL;
      return set_wrong_password (error, path), NULL;
    }
  if (contents.key == NULL)
    return set_corrupt (error, path, _ ("it holds no private key")), NULL;
  if (contents.safe_decrypt_failed && mac_ok)
    return set_corrupt (error, path,
                        _ ("the password is right but its certificates are encrypted with a "
                           "legacy cipher such as RC2 that OpenSSL 3 does not offer by default: "
                           "export the file again without -legacy")),
           NULL;
  if (decrypt_failed || !mac_ok)
    return set_corrupt (error, path,
                        _ ("the password is right but the file fails its integrity check (MAC)")),
           NULL;

  x509 = find_certificate (&contents);
  if (x509 == NULL)
    return set_corrupt (error, path, _ ("it holds no certificate for its key")), NULL;
  der = certificate_der (x509);
  if (!check_certificate (path, der, &name, NULL, error))
    return NULL;
  if (!tke_ec_key_get_curve (contents.key, NULL, &local_error))
    return set_corrupt (error, path, "%s", local_error->message), NULL;

  signer = tke_memory_signer_new (name, contents.key, error);
  if (signer == NULL)
    return NULL;
  if (private_key != NULL)
    *private_key = g_steal_pointer (&contents.key);
  if (certificate != NULL)
    *certificate = g_steal_pointer (&der);
  return TKE_SIGNER (signer);
}

TkeSignatureKeyFileInfo *
tke_signature_key_file_write (const char *path, const char *name, EVP_PKEY *private_key,
                              const TkeSecret *password, GError **error)
{
  return tke_signature_key_file_write_with_iterations (
      path, name, private_key, password, TKE_SIGNATURE_KEY_FILE_ITERATIONS,
      TKE_SIGNATURE_KEY_FILE_MAC_ITERATIONS, error);
}

TkeSignatureKeyFileInfo *
tke_signature_key_file_write_with_iterations (const char *path, const char *name,
                                              EVP_PKEY *private_key, const TkeSecret *password,
                                              guint iterations, guint mac_iterations,
                                              GError **error)
{
  g_autoptr (SecurePassword) secure_password = NULL;
  g_autoptr (GBytes) der = NULL;
  g_autoptr (X509) x509 = NULL;
  g_autoptr (PKCS12) p12 = NULL;
  g_autoptr (TkeSignatureKeyFileInfo) info = NULL;
  const unsigned char *p;
  unsigned char *out = NULL;
  int out_len;
  gboolean written;
  TkeCurve curve;

  g_return_val_if_fail (path != NULL && private_key != NULL && password != NULL, NULL);
  g_return_val_if_fail (iterations >= 1 && iterations <= TKE_SIGNATURE_KEY_FILE_MAX_ITERATIONS,
                        NULL);
  g_return_val_if_fail (
      mac_iterations >= 1 && mac_iterations <= TKE_SIGNATURE_KEY_FILE_MAX_ITERATIONS, NULL);

  if (!tke_admin_name_is_valid (name, error) || !tke_ec_key_get_curve (private_key, &curve, error))
    return NULL;
  if (!tke_ec_key_has_private (private_key))
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                   _ ("A signature key file needs the private key, not only the public one."));
      return NULL;
    }
  if (tke_secret_len (password) == 0)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                   _ ("A signature key file needs a password that is not empty."));
      return NULL;
    }
  secure_password = secure_password_new (password, error);
  if (secure_password == NULL)
    return NULL;

  der = tke_ec_key_self_signed_certificate (private_key, name, 3650, error);
  if (der == NULL)
    return NULL;
  p = g_bytes_get_data (der, NULL);
  x509 = d2i_X509 (NULL, &p, (long) g_bytes_get_size (der));

  /* The certificate safe is not encrypted (nid_cert -1), so that files list with their names;
   * the MAC is added apart because PKCS12_create_ex would make it with SHA-1. */
  p12 = x509 == NULL ? NULL
                     : PKCS12_create_ex (secure_password, name, private_key, x509, NULL,
                                         NID_aes_256_cbc, -1, (int) iterations, -1, 0, NULL, NULL);
  if (p12 == NULL ||
      PKCS12_set_mac (p12, secure_password, -1, NULL, 0, (int) mac_iterations, EVP_sha256 ()) !=
          1 ||
      (out_len = i2d_PKCS12 (p12, &out)) <= 0)
    {
      ERR_clear_error ();
      g_set_error (error, TKE_ERROR, TKE_ERROR_CRYPTO,
                   _ ("OpenSSL could not make the PKCS#12 file: nothing was written."));
      return NULL;
    }
  written = tke_files_dir_write (path, out, (gsize) out_len, FALSE, error);
  OPENSSL_free (out);
  if (!written)
    return NULL;

  info = g_new0 (TkeSignatureKeyFileInfo, 1);
  info->path = g_strdup (path);
  info->name = g_strdup (name);
  info->ski = tke_ec_key_get_ski (private_key, error);
  info->curve = curve;
  info->has_certificate = TRUE;
  if (info->ski == NULL)
    return NULL;
  return g_steal_pointer (&info);
}

TkeSignatureKeyFileInfo *
tke_signature_key_file_create (const char *path, const char *name, TkeCurve curve,
                               const TkeSecret *password, GError **error)
{
  g_autoptr (EVP_PKEY) key = NULL;

  g_return_val_if_fail (path != NULL && password != NULL, NULL);

  if (!tke_admin_name_is_valid (name, error))
    return NULL;
  key = tke_ec_key_generate (curve, error);
  if (key == NULL)
    return NULL;
  return tke_signature_key_file_write (path, name, key, password, error);
}

GPtrArray *
tke_signature_key_file_list (const char *dir, char **skipped, GError **error)
{
  g_autoptr (GPtrArray) paths = NULL;
  g_autoptr (GPtrArray) infos = NULL;
  g_autoptr (GString) problems = g_string_new (NULL);

  g_return_val_if_fail (dir != NULL, NULL);

  paths = tke_files_dir_list (dir, TKE_SIGNATURE_KEY_FILE_SUFFIX, error);
  if (paths == NULL)
    return NULL;
  infos = g_ptr_array_new_with_free_func ((GDestroyNotify) tke_signature_key_file_info_free);
  for (guint i = 0; i < paths->len; i++)
    {
      g_autoptr (GError) local_error = NULL;
      TkeSignatureKeyFileInfo *info =
          tke_signature_key_file_read_info (paths->pdata[i], &local_error);

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
tke_signature_key_file_delete (const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, FALSE);

  if (!g_str_has_suffix (path, TKE_SIGNATURE_KEY_FILE_SUFFIX))
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                   /* TRANSLATORS: the first %s is a file, the second the ending of the names of
                    * signature key files. */
                   _ ("%s is not a signature key file: its name does not end with %s."), path,
                   TKE_SIGNATURE_KEY_FILE_SUFFIX);
      return FALSE;
    }
  return tke_files_dir_delete (path, error);
}
