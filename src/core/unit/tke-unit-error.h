/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The stable refusal codes of a crypto unit (DESIGN §3), as a GError domain of their own. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define TKE_UNIT_ERROR (tke_unit_error_quark ())

/* The symbolic names travel on the wire; the numbers are only for C. Append only. */
typedef enum
{
  TKE_UNIT_ERROR_NOT_ENOUGH_SIGNATURES,
  TKE_UNIT_ERROR_BAD_SIGNATURE,
  TKE_UNIT_ERROR_UNKNOWN_SIGNER,
  TKE_UNIT_ERROR_IMPRINT_MODE,
  TKE_UNIT_ERROR_BAD_COUNTER,
  TKE_UNIT_ERROR_EXPIRED,
  TKE_UNIT_ERROR_NOT_A_TARGET,
  TKE_UNIT_ERROR_THRESHOLD_EXCEEDS_ADMINS,
  TKE_UNIT_ERROR_BELOW_THRESHOLD,
  TKE_UNIT_ERROR_ADMIN_EXISTS,
  TKE_UNIT_ERROR_TOO_MANY_ADMINS,
  TKE_UNIT_ERROR_VP_MISMATCH,
  TKE_UNIT_ERROR_REGISTER_STATE,
  TKE_UNIT_ERROR_BAD_KEY_PART,
  TKE_UNIT_ERROR_MALFORMED,
  /* Outside the command table: the HTTP layer and key storage. */
  TKE_UNIT_ERROR_UNAUTHORIZED,
  TKE_UNIT_ERROR_NOT_FOUND,
  TKE_UNIT_ERROR_TOO_LARGE,
  TKE_UNIT_ERROR_KEY_UNUSABLE,
  TKE_UNIT_ERROR_INTERNAL,
  /* A code this client does not know (a newer unit); the message still says what happened. */
  TKE_UNIT_ERROR_UNKNOWN_CODE,
} TkeUnitErrorCode;

GQuark tke_unit_error_quark (void);

/* "NOT_ENOUGH_SIGNATURES" and back; unknown names map to TKE_UNIT_ERROR_UNKNOWN_CODE. */
const char *tke_unit_error_code_to_string (TkeUnitErrorCode code);
TkeUnitErrorCode tke_unit_error_code_from_string (const char *name);
/* The HTTP status a refusal travels with. */
guint tke_unit_error_code_http_status (TkeUnitErrorCode code);

G_END_DECLS
