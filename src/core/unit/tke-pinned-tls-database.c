/* SPDX-License-Identifier: GPL-3.0-or-later */
/* TkePinnedTlsDatabase: the peer is trusted when its certificate is the pinned one, and only then.
 *
 * GIO's default database trusts every certificate that a system CA signed, and emits
 * accept-certificate only for the others; a pin compared there lets through any relay whose
 * certificate an enterprise TLS-inspection CA issued. With this database on the session, the
 * handshake itself fails for every certificate but the pinned one. */
#include "config.h"

#include <string.h>

#include "tke-pinned-tls-database.h"

struct _TkePinnedTlsDatabase
{
  GTlsDatabase parent_instance;

  char *fingerprint;
};

G_DEFINE_FINAL_TYPE (TkePinnedTlsDatabase, tke_pinned_tls_database, G_TYPE_TLS_DATABASE)

char *
tke_tls_certificate_fingerprint (GTlsCertificate *certificate)
{
  g_autoptr (GByteArray) der = NULL;

  g_return_val_if_fail (G_IS_TLS_CERTIFICATE (certificate), NULL);

  g_object_get (certificate, "certificate", &der, NULL);
  if (der == NULL || der->len == 0)
    return NULL;
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, der->data, der->len);
}

char *
tke_fingerprint_normalize (const char *text)
{
  GString *clean = g_string_new (NULL);

  for (const char *p = text; p != NULL && *p != '\0'; p++)
    if (g_ascii_isxdigit (*p))
      g_string_append_c (clean, g_ascii_tolower (*p));
  return g_string_free (clean, FALSE);
}

static GTlsCertificateFlags
tke_pinned_tls_database_verify_chain (GTlsDatabase *database, GTlsCertificate *chain,
                                      const char *purpose, GSocketConnectable *identity,
                                      GTlsInteraction *interaction, GTlsDatabaseVerifyFlags flags,
                                      GCancellable *cancellable, GError **error)
{
  TkePinnedTlsDatabase *self = TKE_PINNED_TLS_DATABASE (database);
  g_autofree char *actual = NULL;

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return G_TLS_CERTIFICATE_GENERIC_ERROR;
  /* Only the peer's own certificate counts: the chain above it, the name in it and its dates
   * are what a CA vouches for, and no CA is asked here. */
  actual = tke_tls_certificate_fingerprint (chain);
  if (self->fingerprint != NULL && actual != NULL && strlen (self->fingerprint) == 64 &&
      g_str_equal (actual, self->fingerprint))
    return 0;
  return G_TLS_CERTIFICATE_UNKNOWN_CA;
}

static GTlsCertificate *
tke_pinned_tls_database_lookup_certificate_issuer (GTlsDatabase *database,
                                                   GTlsCertificate *certificate,
                                                   GTlsInteraction *interaction,
                                                   GTlsDatabaseLookupFlags flags,
                                                   GCancellable *cancellable, GError **error)
{
  return NULL;
}

static GList *
tke_pinned_tls_database_lookup_certificates_issued_by (GTlsDatabase *database,
                                                       GByteArray *issuer_raw_dn,
                                                       GTlsInteraction *interaction,
                                                       GTlsDatabaseLookupFlags flags,
                                                       GCancellable *cancellable, GError **error)
{
  return NULL;
}

static void
tke_pinned_tls_database_finalize (GObject *object)
{
  TkePinnedTlsDatabase *self = TKE_PINNED_TLS_DATABASE (object);

  g_free (self->fingerprint);

  G_OBJECT_CLASS (tke_pinned_tls_database_parent_class)->finalize (object);
}

static void
tke_pinned_tls_database_class_init (TkePinnedTlsDatabaseClass *klass)
{
  GTlsDatabaseClass *database_class = G_TLS_DATABASE_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = tke_pinned_tls_database_finalize;
  database_class->verify_chain = tke_pinned_tls_database_verify_chain;
  database_class->lookup_certificate_issuer = tke_pinned_tls_database_lookup_certificate_issuer;
  database_class->lookup_certificates_issued_by =
      tke_pinned_tls_database_lookup_certificates_issued_by;
}

static void
tke_pinned_tls_database_init (TkePinnedTlsDatabase *self)
{
}

GTlsDatabase *
tke_pinned_tls_database_new (const char *fingerprint)
{
  TkePinnedTlsDatabase *self = g_object_new (TKE_TYPE_PINNED_TLS_DATABASE, NULL);

  self->fingerprint = fingerprint != NULL ? tke_fingerprint_normalize (fingerprint) : NULL;
  return G_TLS_DATABASE (self);
}
