/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Building and parsing short APDUs, and turning status words into sentences. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "tke-apdu.h"
#include "tke-error.h"

GBytes *
tke_apdu_encode (const TkeApdu *apdu, GError **error)
{
  GByteArray *out;

  g_return_val_if_fail (apdu != NULL, NULL);
  g_return_val_if_fail (apdu->data != NULL || apdu->len == 0, NULL);

  if (apdu->len > TKE_APDU_MAX_LC || apdu->ne > TKE_APDU_MAX_LE)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                   /* TRANSLATORS: the first number is the length of the command's data, the
                    * second the length of the answer it expects, both in bytes. */
                   _ ("A card command of %zu data bytes expecting %u bytes does not "
                      "fit in one short APDU."),
                   apdu->len, apdu->ne);
      return NULL;
    }

  out = g_byte_array_sized_new (4 + 1 + apdu->len + 1);
  g_byte_array_append (out, (const guint8[]){ apdu->cla, apdu->ins, apdu->p1, apdu->p2 }, 4);
  if (apdu->len > 0)
    {
      guint8 lc = apdu->len;

      g_byte_array_append (out, &lc, 1);
      g_byte_array_append (out, apdu->data, apdu->len);
    }
  if (apdu->ne > 0)
    {
      guint8 le = apdu->ne == TKE_APDU_MAX_LE ? 0 : apdu->ne;

      g_byte_array_append (out, &le, 1);
    }
  return g_byte_array_free_to_bytes (out);
}

gboolean
tke_apdu_decode (const guint8 *bytes, gsize len, TkeApdu *apdu, GError **error)
{
  g_return_val_if_fail (bytes != NULL || len == 0, FALSE);
  g_return_val_if_fail (apdu != NULL, FALSE);

  if (len < 4)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_MALFORMED,
                   _ ("A card command is shorter than its four header bytes."));
      return FALSE;
    }

  *apdu = (TkeApdu){ bytes[0], bytes[1], bytes[2], bytes[3], NULL, 0, 0 };

  if (len == 4)
    return TRUE; /* case 1 */
  if (len == 5)
    {
      /* case 2: Le only */
      apdu->ne = bytes[4] == 0 ? TKE_APDU_MAX_LE : bytes[4];
      return TRUE;
    }
  if (bytes[4] == 0)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_MALFORMED,
                   _ ("A card command uses extended lengths, which are not supported."));
      return FALSE;
    }
  apdu->len = bytes[4];
  if (len == 5 + apdu->len)
    {
      apdu->data = bytes + 5;
      return TRUE; /* case 3 */
    }
  if (len == 5 + apdu->len + 1)
    {
      apdu->data = bytes + 5;
      apdu->ne = bytes[len - 1] == 0 ? TKE_APDU_MAX_LE : bytes[len - 1];
      return TRUE; /* case 4 */
    }

  g_set_error (error, TKE_ERROR, TKE_ERROR_MALFORMED,
               /* TRANSLATORS: the first number is the value of the command's length byte, the
                * second the number of bytes the command really has. */
               _ ("A card command's length byte (%u) does not match its %zu bytes."), bytes[4],
               len);
  *apdu = (TkeApdu){ 0 };
  return FALSE;
}

GBytes *
tke_apdu_split_response (GBytes *response, guint16 *sw, GError **error)
{
  const guint8 *bytes;
  gsize len;

  g_return_val_if_fail (response != NULL, NULL);
  g_return_val_if_fail (sw != NULL, NULL);

  bytes = g_bytes_get_data (response, &len);
  if (len < 2)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_MALFORMED,
                   _ ("The card answered with %zu bytes, too few for a status word."), len);
      return NULL;
    }
  *sw = (bytes[len - 2] << 8) | bytes[len - 1];
  return g_bytes_new_from_bytes (response, 0, len - 2);
}

const char *
tke_sw_describe (guint16 sw)
{
  if (TKE_SW_IS_TRIES_LEFT (sw))
    return _ ("verification failed");
  if (TKE_SW_IS_MORE_DATA (sw))
    return _ ("more data available");
  if (TKE_SW_IS_WRONG_LE (sw))
    return _ ("wrong expected length");

  switch (sw)
    {
      case TKE_SW_OK:
        return _ ("success");
      case TKE_SW_WARNING_NO_CHANGE:
        return _ ("warning, state unchanged");
      case TKE_SW_MEMORY_FAILURE:
        return _ ("memory failure");
      case TKE_SW_WRONG_LENGTH:
        return _ ("wrong length");
      case TKE_SW_SECURITY_STATUS:
        return _ ("security status not satisfied");
      case TKE_SW_AUTH_BLOCKED:
        return _ ("authentication method blocked");
      case TKE_SW_CONDITIONS:
        return _ ("conditions of use not satisfied");
      case TKE_SW_COMMAND_NOT_ALLOWED:
        return _ ("command not allowed");
      case TKE_SW_INCORRECT_DATA:
        return _ ("incorrect data");
      case TKE_SW_FUNC_NOT_SUPPORTED:
        return _ ("function not supported");
      case TKE_SW_NOT_FOUND:
        return _ ("file or application not found");
      case TKE_SW_NO_SPACE:
        return _ ("not enough memory");
      case TKE_SW_INCORRECT_P1P2:
        return _ ("incorrect P1 P2");
      case TKE_SW_REF_NOT_FOUND:
        return _ ("referenced data not found");
      case TKE_SW_WRONG_P1P2:
        return _ ("wrong P1 P2");
      case TKE_SW_INS_NOT_SUPPORTED:
        return _ ("instruction not supported");
      case TKE_SW_CLA_NOT_SUPPORTED:
        return _ ("class not supported");
      case TKE_SW_UNKNOWN:
        return _ ("no precise diagnosis");
      default:
        return _ ("unknown status");
    }
}

void
tke_sw_set_error (GError **error, guint16 sw, const char *operation)
{
  g_return_if_fail (operation != NULL);

  if (TKE_SW_IS_TRIES_LEFT (sw))
    {
      guint n = TKE_SW_TRIES_LEFT (sw);

      if (n == 0)
        g_set_error (error, TKE_ERROR, TKE_ERROR_PIN_BLOCKED,
                     /* TRANSLATORS: %s is what the card was asked to do, such as "checking the
                      * PIN". */
                     _ ("The card refused %s: the PIN is wrong and now blocked; unblock it with "
                        "the PUK."),
                     operation);
      else
        g_set_error (error, TKE_ERROR, TKE_ERROR_PIN_WRONG,
                     g_dngettext (GETTEXT_PACKAGE,
                                  /* TRANSLATORS: %s is what the card was asked to do, such as
                                   * "checking the PIN"; %u is how many more wrong PINs the card
                                   * accepts. */
                                  "The card refused %s: the PIN is wrong, %u try left before the "
                                  "card is blocked.",
                                  "The card refused %s: the PIN is wrong, %u tries left before the "
                                  "card is blocked.",
                                  n),
                     operation, n);
      return;
    }

  switch (sw)
    {
      case TKE_SW_AUTH_BLOCKED:
        g_set_error (error, TKE_ERROR, TKE_ERROR_PIN_BLOCKED,
                     /* TRANSLATORS: %s is what the card was asked to do, such as "checking the
                      * PIN"; %04X is the card's status word in hexadecimal. */
                     _ ("The card refused %s: the PIN is blocked; unblock it with the PUK "
                        "(SW %04X)."),
                     operation, sw);
        break;
      case TKE_SW_SECURITY_STATUS:
        g_set_error (error, TKE_ERROR, TKE_ERROR_CARD_STATUS,
                     /* TRANSLATORS: the first %s is what the card was asked to do, such as
                      * "checking the PIN"; %04X is the card's status word in hexadecimal and the
                      * last %s its meaning, such as "security status not satisfied". */
                     _ ("The card refused %s because the PIN or the management key was not "
                        "presented first (SW %04X, %s)."),
                     operation, sw, tke_sw_describe (sw));
        break;
      case TKE_SW_NOT_FOUND:
      case TKE_SW_REF_NOT_FOUND:
        g_set_error (error, TKE_ERROR, TKE_ERROR_NOT_FOUND,
                     /* TRANSLATORS: the first %s is what the card was asked to do, such as
                      * "checking the PIN"; %04X is the card's status word in hexadecimal and the
                      * last %s its meaning, such as "file or application not found". */
                     _ ("The card refused %s: what was asked for is not on the card "
                        "(SW %04X, %s)."),
                     operation, sw, tke_sw_describe (sw));
        break;
      case TKE_SW_NO_SPACE:
        g_set_error (error, TKE_ERROR, TKE_ERROR_NO_SPACE,
                     /* TRANSLATORS: %s is what the card was asked to do, such as "writing object
                      * 5FC105"; %04X is the card's status word in hexadecimal. */
                     _ ("The card refused %s: it has no room left; delete a key part or use "
                        "another card (SW %04X)."),
                     operation, sw);
        break;
      default:
        g_set_error (error, TKE_ERROR, TKE_ERROR_CARD_STATUS,
                     /* TRANSLATORS: the first %s is what the card was asked to do, such as
                      * "checking the PIN"; %04X is the card's status word in hexadecimal and the
                      * last %s its meaning, such as "wrong length". */
                     _ ("The card refused %s (SW %04X, %s)."), operation, sw, tke_sw_describe (sw));
        break;
    }
}

gboolean
tke_sw_check (guint16 sw, const char *operation, GError **error)
{
  if (sw == TKE_SW_OK)
    return TRUE;
  tke_sw_set_error (error, sw, operation);
  return FALSE;
}
