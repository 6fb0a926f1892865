/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The project's error domain: one code for each kind of failure a ceremony can act on. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define TKE_ERROR (tke_error_quark ())

/* Append new codes at the end of their group; the numbers are not stored anywhere, but the
 * groups keep related failures together for readers. */
typedef enum
{
  TKE_ERROR_FAILED,
  /* Bytes from a card, a file or the network that do not parse. */
  TKE_ERROR_MALFORMED,
  /* The caller passed something that can never work (a bad name, a length out of range). */
  TKE_ERROR_INVALID_ARGUMENT,
  /* The OpenSSL secure heap is exhausted or could not be set up. */
  TKE_ERROR_SECURE_MEMORY,
  /* An OpenSSL operation failed. */
  TKE_ERROR_CRYPTO,

  /* Readers and cards. */
  TKE_ERROR_NO_READER,
  TKE_ERROR_NO_CARD,
  TKE_ERROR_CARD_REMOVED,
  TKE_ERROR_SHARING_VIOLATION,
  TKE_ERROR_READER_GONE,
  TKE_ERROR_TRANSMIT_FAILED,
  TKE_ERROR_CARD_STATUS,
  TKE_ERROR_PIN_WRONG,
  TKE_ERROR_PIN_BLOCKED,
  TKE_ERROR_NOT_FOUND,
  TKE_ERROR_NO_SPACE,

  /* Crypto units. */
  TKE_ERROR_UNIT_REFUSED,
  TKE_ERROR_UNIT_UNREACHABLE,
  TKE_ERROR_UNIT_CERTIFICATE,
  /* A unit presents another identity key than the one pinned for it. */
  TKE_ERROR_UNIT_IDENTITY,

  /* Files. */
  TKE_ERROR_WRONG_PASSWORD,
  TKE_ERROR_CORRUPT_FILE,
} TkeError;

GQuark tke_error_quark (void);

/* The sentence every cancelled operation ends with, in the app and in tkectl alike (translated). */
const char *tke_error_cancelled (void);
/* What to show of error: its message, or for a cancel that does not say what it left as it was
 * (GLib's own "Operation was cancelled"), tke_error_cancelled (). */
const char *tke_error_describe (const GError *error);

G_END_DECLS
