/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Re-pinning a crypto unit's identity key: the explicit operator action that follows a unit's
 * operator confirming a new identity key, the same for tkectl and the app. */
#pragma once

#include "tke-ceremony.h"
#include "tke-journal.h"
#include "tke-unit-pins.h"

G_BEGIN_DECLS

/* What the operator confirms: the key the unit presents now (its listing, presented), the one
 * pinned and since when. NULL with an error when presented carries no valid identity key. */
char *tke_unit_repin_describe (const TkeCeremonyUnit *unit, const TkeUnitInfo *presented,
                               TkeUnitPins *pins, GError **error);
/* Pins presented's identity key for unit and journals it ("repin-unit-identity", with the
 * previous and the new thumbprint). */
gboolean tke_unit_repin (const TkeCeremonyUnit *unit, const TkeUnitInfo *presented,
                         TkeUnitPins *pins, TkeJournal *journal, GError **error);

G_END_DECLS
