/* SPDX-License-Identifier: GPL-3.0-or-later */
/* ISO 7816-4 command APDUs (cases 1 to 4, short lengths) and the status words cards answer with. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Largest data field of one short command APDU; longer data is chained by the connection. */
#define TKE_APDU_MAX_LC 255
/* Largest answer one short APDU can ask for (Le = 00). */
#define TKE_APDU_MAX_LE 256

typedef struct
{
  guint8 cla;
  guint8 ins;
  guint8 p1;
  guint8 p2;
  const guint8 *data; /* Lc bytes; NULL when len is 0 */
  gsize len;
  /* Ne: 0 = no Le field (cases 1 and 3), 1..256 = Le (256 is encoded 00). */
  guint ne;
  /* The data or the answer is a secret (PIN, key): every copy the card layer makes is wiped. */
  gboolean sensitive;
} TkeApdu;

/* Status words the card layer names. */
typedef enum
{
  TKE_SW_OK = 0x9000,
  TKE_SW_WARNING_NO_CHANGE = 0x6200,
  TKE_SW_MEMORY_FAILURE = 0x6581,
  TKE_SW_WRONG_LENGTH = 0x6700,
  TKE_SW_SECURITY_STATUS = 0x6982,
  TKE_SW_AUTH_BLOCKED = 0x6983,
  TKE_SW_CONDITIONS = 0x6985,
  TKE_SW_COMMAND_NOT_ALLOWED = 0x6986,
  TKE_SW_INCORRECT_DATA = 0x6A80,
  TKE_SW_FUNC_NOT_SUPPORTED = 0x6A81,
  TKE_SW_NOT_FOUND = 0x6A82,
  TKE_SW_NO_SPACE = 0x6A84,
  TKE_SW_INCORRECT_P1P2 = 0x6A86,
  TKE_SW_REF_NOT_FOUND = 0x6A88,
  TKE_SW_WRONG_P1P2 = 0x6B00,
  TKE_SW_INS_NOT_SUPPORTED = 0x6D00,
  TKE_SW_CLA_NOT_SUPPORTED = 0x6E00,
  TKE_SW_UNKNOWN = 0x6F00,
} TkeSw;

#define TKE_SW_IS_MORE_DATA(sw)  (((sw) &0xFF00) == 0x6100)
#define TKE_SW_IS_WRONG_LE(sw)   (((sw) &0xFF00) == 0x6C00)
#define TKE_SW_IS_TRIES_LEFT(sw) (((sw) &0xFFF0) == 0x63C0)
#define TKE_SW_TRIES_LEFT(sw)    ((sw) &0x000F)

/* The bytes of a short APDU. Data over 255 bytes or Ne over 256 is an invalid argument. */
GBytes *tke_apdu_encode (const TkeApdu *apdu, GError **error);
/* Splits a parsed command back into its fields (the engine side and the fuzzer use it). */
gboolean tke_apdu_decode (const guint8 *bytes, gsize len, TkeApdu *apdu, GError **error);

/* Splits an R-APDU into its data (may be empty, never NULL on success) and SW1 SW2. */
GBytes *tke_apdu_split_response (GBytes *response, guint16 *sw, GError **error);

/* A short name for a status word ("security status not satisfied"); never NULL. */
const char *tke_sw_describe (guint16 sw);
/* Sets an error an operator can act on for a status word that is not 9000. operation names what
 * was refused in a few words ("reading the key part directory"). 63Cx gives
 * TKE_ERROR_PIN_WRONG, 6983 TKE_ERROR_PIN_BLOCKED, 6A82/6A88 TKE_ERROR_NOT_FOUND, 6A84
 * TKE_ERROR_NO_SPACE, anything else TKE_ERROR_CARD_STATUS. */
void tke_sw_set_error (GError **error, guint16 sw, const char *operation);
/* TRUE for 9000; otherwise sets the error above and returns FALSE. */
gboolean tke_sw_check (guint16 sw, const char *operation, GError **error);

G_END_DECLS
