/* SPDX-License-Identifier: GPL-3.0-or-later */
/* PC/SC part 10 feature discovery and PIN verification on the reader's PIN pad. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <reader.h>

#include "tke-error.h"
#include "tke-part10.h"

static TkeScardControlFunc control_func = SCardControl;

void
tke_part10_set_control_func (TkeScardControlFunc func)
{
  control_func = func != NULL ? func : SCardControl;
}

gboolean
tke_part10_get_features (SCARDHANDLE card, TkePart10Features *features, GError **error)
{
  guint8 buf[256];
  DWORD len = 0;
  LONG rv;

  g_return_val_if_fail (features != NULL, FALSE);

  *features = (TkePart10Features){ 0 };
  rv = control_func (card, CM_IOCTL_GET_FEATURE_REQUEST, NULL, 0, buf, sizeof buf, &len);
  if (rv == SCARD_E_UNSUPPORTED_FEATURE || rv == SCARD_E_INVALID_PARAMETER ||
      rv == SCARD_E_NOT_TRANSACTED)
    return TRUE; /* a reader without part 10 */
  if (rv != SCARD_S_SUCCESS)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_TRANSMIT_FAILED,
                   /* TRANSLATORS: %s is the smart card service's reason. */
                   _ ("The reader did not say whether it has a PIN pad: %s."),
                   pcsc_stringify_error (rv));
      return FALSE;
    }
  if (len > sizeof buf)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_MALFORMED,
                   _ ("The reader's feature list is longer than the buffer it was given."));
      return FALSE;
    }

  /* TLVs of tag, length 4, control code big-endian. */
  for (DWORD i = 0; i < len;)
    {
      guint8 tag, flen;
      guint32 code;

      if (len - i < 2 || buf[i + 1] > len - i - 2)
        {
          g_set_error (error, TKE_ERROR, TKE_ERROR_MALFORMED,
                       _ ("The reader's feature list is malformed."));
          *features = (TkePart10Features){ 0 };
          return FALSE;
        }
      tag = buf[i];
      flen = buf[i + 1];
      if (flen == 4)
        {
          code = ((guint32) buf[i + 2] << 24) | (buf[i + 3] << 16) | (buf[i + 4] << 8) | buf[i + 5];
          if (tag == FEATURE_VERIFY_PIN_DIRECT)
            features->verify_pin_direct = code;
          else if (tag == FEATURE_MODIFY_PIN_DIRECT)
            features->modify_pin_direct = code;
        }
      i += 2 + flen;
    }
  return TRUE;
}

GBytes *
tke_part10_build_verify_pin (guint8 reference)
{
  const guint8 verify[] = { 0x00, 0x20, 0x00, reference, 0x08, 0xFF, 0xFF,
                            0xFF, 0xFF, 0xFF, 0xFF,      0xFF, 0xFF };
  GByteArray *out = g_byte_array_new ();
  guint8 header[19];
  guint32 data_len = sizeof verify;

  /* Multi-byte fields are little-endian, as CCID readers expect them. */
  header[0] = 0x00; /* bTimerOut: the reader's default */
  header[1] = 0x00; /* bTimerOut2 */
  header[2] = 0x82; /* bmFormatString: byte units, PIN at offset 0 of the block, ASCII */
  header[3] = 0x08; /* bmPINBlockString: no length field, an 8-byte block */
  header[4] = 0x00; /* bmPINLengthFormat: no length in the APDU */
  header[5] = 0x08; /* wPINMaxExtraDigit: at most 8 digits ... */
  header[6] = 0x06; /* ... and at least 6 */
  header[7] = 0x02; /* bEntryValidationCondition: the OK key */
  header[8] = 0x01; /* bNumberMessage */
  header[9] = 0x09; /* wLangId 0x0409 */
  header[10] = 0x04;
  header[11] = 0x00;                           /* bMsgIndex */
  header[12] = header[13] = header[14] = 0x00; /* bTeoPrologue */
  header[15] = data_len & 0xFF;
  header[16] = (data_len >> 8) & 0xFF;
  header[17] = (data_len >> 16) & 0xFF;
  header[18] = (data_len >> 24) & 0xFF;

  g_byte_array_append (out, header, sizeof header);
  g_byte_array_append (out, verify, sizeof verify);
  return g_byte_array_free_to_bytes (out);
}

gboolean
tke_part10_verify_pin (SCARDHANDLE card, guint32 control_code, guint8 reference, guint16 *sw,
                       GError **error)
{
  g_autoptr (GBytes) command = NULL;
  guint8 answer[16];
  DWORD len = 0;
  LONG rv;

  g_return_val_if_fail (sw != NULL, FALSE);

  if (control_code == 0)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                   _ ("This reader has no PIN pad: type the PIN on the workstation."));
      return FALSE;
    }

  command = tke_part10_build_verify_pin (reference);
  rv = control_func (card, control_code, g_bytes_get_data (command, NULL),
                     g_bytes_get_size (command), answer, sizeof answer, &len);
  if (rv == SCARD_W_REMOVED_CARD || rv == SCARD_E_NO_SMARTCARD)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_CARD_REMOVED,
                   _ ("The card was removed while the PIN was being entered on the reader."));
      return FALSE;
    }
  if (rv != SCARD_S_SUCCESS)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_TRANSMIT_FAILED,
                   /* TRANSLATORS: %s is the smart card service's reason. */
                   _ ("The PIN pad did not complete the PIN entry: %s."),
                   pcsc_stringify_error (rv));
      return FALSE;
    }
  if (len != 2)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_MALFORMED,
                   _ ("The PIN pad answered with %lu bytes instead of a status word."),
                   (unsigned long) len);
      return FALSE;
    }
  *sw = (answer[0] << 8) | answer[1];
  return TRUE;
}
