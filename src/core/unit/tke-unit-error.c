/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Names and HTTP statuses of the crypto unit's refusal codes. */
#include "config.h"

#include "tke-unit-error.h"

G_DEFINE_QUARK (tke - unit - error - quark, tke_unit_error)

static const struct
{
  const char *name;
  guint status;
} codes[] = {
  [TKE_UNIT_ERROR_NOT_ENOUGH_SIGNATURES] = { "NOT_ENOUGH_SIGNATURES", 403 },
  [TKE_UNIT_ERROR_BAD_SIGNATURE] = { "BAD_SIGNATURE", 403 },
  [TKE_UNIT_ERROR_UNKNOWN_SIGNER] = { "UNKNOWN_SIGNER", 403 },
  [TKE_UNIT_ERROR_IMPRINT_MODE] = { "IMPRINT_MODE", 409 },
  [TKE_UNIT_ERROR_BAD_COUNTER] = { "BAD_COUNTER", 409 },
  [TKE_UNIT_ERROR_EXPIRED] = { "EXPIRED", 403 },
  [TKE_UNIT_ERROR_NOT_A_TARGET] = { "NOT_A_TARGET", 403 },
  [TKE_UNIT_ERROR_THRESHOLD_EXCEEDS_ADMINS] = { "THRESHOLD_EXCEEDS_ADMINS", 409 },
  [TKE_UNIT_ERROR_BELOW_THRESHOLD] = { "BELOW_THRESHOLD", 409 },
  [TKE_UNIT_ERROR_ADMIN_EXISTS] = { "ADMIN_EXISTS", 409 },
  [TKE_UNIT_ERROR_TOO_MANY_ADMINS] = { "TOO_MANY_ADMINS", 409 },
  [TKE_UNIT_ERROR_VP_MISMATCH] = { "VP_MISMATCH", 409 },
  [TKE_UNIT_ERROR_REGISTER_STATE] = { "REGISTER_STATE", 409 },
  [TKE_UNIT_ERROR_BAD_KEY_PART] = { "BAD_KEY_PART", 400 },
  [TKE_UNIT_ERROR_MALFORMED] = { "MALFORMED", 400 },
  [TKE_UNIT_ERROR_UNAUTHORIZED] = { "UNAUTHORIZED", 401 },
  [TKE_UNIT_ERROR_NOT_FOUND] = { "NOT_FOUND", 404 },
  [TKE_UNIT_ERROR_TOO_LARGE] = { "TOO_LARGE", 413 },
  [TKE_UNIT_ERROR_KEY_UNUSABLE] = { "KEY_UNUSABLE", 409 },
  [TKE_UNIT_ERROR_INTERNAL] = { "INTERNAL", 500 },
  [TKE_UNIT_ERROR_UNKNOWN_CODE] = { "UNKNOWN_CODE", 500 },
};

const char *
tke_unit_error_code_to_string (TkeUnitErrorCode code)
{
  if ((guint) code >= G_N_ELEMENTS (codes))
    return "UNKNOWN_CODE";
  return codes[code].name;
}

TkeUnitErrorCode
tke_unit_error_code_from_string (const char *name)
{
  if (name == NULL)
    return TKE_UNIT_ERROR_UNKNOWN_CODE;
  for (guint i = 0; i < G_N_ELEMENTS (codes); i++)
    if (g_str_equal (name, codes[i].name))
      return i;
  return TKE_UNIT_ERROR_UNKNOWN_CODE;
}

guint
tke_unit_error_code_http_status (TkeUnitErrorCode code)
{
  if ((guint) code >= G_N_ELEMENTS (codes))
    return 500;
  return codes[code].status;
}
