/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The identity keys of the crypto units this workstation has seen, pinned the first time. */
#pragma once

#include <gio/gio.h>
#include <jansson.h>

#include "tke-unit-client.h"

G_BEGIN_DECLS

#define TKE_UNIT_PINS_FILE_NAME "unit-pins.json"

#define TKE_TYPE_UNIT_PINS (tke_unit_pins_get_type ())
G_DECLARE_FINAL_TYPE (TkeUnitPins, tke_unit_pins, TKE, UNIT_PINS, GObject)

/* Reads dir/unit-pins.json; an absent file is no pin yet. A damaged file is an error, never an
 * empty set: that would pin whatever answers next. */
TkeUnitPins *tke_unit_pins_load (const char *dir, GError **error);

/* What the listing of one unit says against its pin. */
typedef enum
{
  TKE_UNIT_PIN_MATCHES,
  TKE_UNIT_PIN_NEW,     /* never seen: pinned now */
  TKE_UNIT_PIN_CHANGED, /* another identity key than the pinned one: refused */
} TkeUnitPinStatus;

/* Compares the identity key that info presents with the pin of its unit, and pins a unit seen
 * for the first time (saving the file). A CHANGED unit sets error to a sentence that names the
 * unit, the date of the pin and both thumbprints. */
TkeUnitPinStatus tke_unit_pins_check (TkeUnitPins *self, const char *service_url,
                                      const TkeUnitInfo *info, GError **error);

/* The pinned identity key (borrowed), its thumbprint and when it was pinned (ISO 8601), or
 * NULL for a unit never pinned. */
const json_t *tke_unit_pins_get_jwk (TkeUnitPins *self, const char *unit_id);
const char *tke_unit_pins_get_thumbprint (TkeUnitPins *self, const char *unit_id);
const char *tke_unit_pins_get_date (TkeUnitPins *self, const char *unit_id);

/* Replaces the pin of info's unit by the identity key it presents now: the operator's explicit
 * decision, after comparing the thumbprint with the unit's operator. */
gboolean tke_unit_pins_repin (TkeUnitPins *self, const char *service_url, const TkeUnitInfo *info,
                              GError **error);

/* The RFC 7638 SHA-256 thumbprint of a public JWK, base64url, or NULL when it is not one. */
char *tke_jwk_thumbprint (const json_t *jwk);

G_END_DECLS
