/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A TLS database in which only the pinned certificate is trusted, whatever the system store says. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define TKE_TYPE_PINNED_TLS_DATABASE (tke_pinned_tls_database_get_type ())
G_DECLARE_FINAL_TYPE (TkePinnedTlsDatabase, tke_pinned_tls_database, TKE, PINNED_TLS_DATABASE,
                      GTlsDatabase)

/* fingerprint: SHA-256 of the pinned certificate's DER, 64 lower-case hex digits; NULL trusts
 * nothing at all (a probe that only looks at what the peer presents). */
GTlsDatabase *tke_pinned_tls_database_new (const char *fingerprint);

/* The SHA-256 of a certificate's DER, lower-case hex, or NULL when it has none. */
char *tke_tls_certificate_fingerprint (GTlsCertificate *certificate);

/* Keeps the hex digits of text, lower-cased: "AB:cd" -> "abcd". */
char *tke_fingerprint_normalize (const char *text);

G_END_DECLS
