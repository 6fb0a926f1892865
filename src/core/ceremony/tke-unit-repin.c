/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Re-pinning a crypto unit's identity key, confirmed and journalled. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "tke-error.h"
#include "tke-unit-repin.h"

static char *
presented_thumbprint (const TkeCeremonyUnit *unit, const TkeUnitInfo *presented, GError **error)
{
  char *thumbprint = tke_jwk_thumbprint (presented->identity_jwk);

  if (thumbprint == NULL)
    g_set_error (error, TKE_ERROR, TKE_ERROR_MALFORMED,
                 _ ("Crypto unit %u presents no valid identity key: it can't be pinned."),
                 unit->num);
  return thumbprint;
}

char *
tke_unit_repin_describe (const TkeCeremonyUnit *unit, const TkeUnitInfo *presented,
                         TkeUnitPins *pins, GError **error)
{
  g_autofree char *thumbprint = presented_thumbprint (unit, presented, error);

  if (thumbprint == NULL)
    return NULL;
  return g_strdup_printf (
      /* TRANSLATORS: the unit number, its id, the new thumbprint, the pinned one, the date it was pinned. */
      _ ("Crypto unit %u (%s) now presents the identity key with thumbprint %s instead of %s, "
         "pinned on %s. Compare it with what the unit's operator printed: from now on importer "
         "keys "
         "and receipts of this unit count only when the new key signed them."),
      unit->num, unit->id, thumbprint, tke_unit_pins_get_thumbprint (pins, unit->id),
      tke_unit_pins_get_date (pins, unit->id));
}

gboolean
tke_unit_repin (const TkeCeremonyUnit *unit, const TkeUnitInfo *presented, TkeUnitPins *pins,
                TkeJournal *journal, GError **error)
{
  g_autofree char *thumbprint = presented_thumbprint (unit, presented, error);
  g_autofree char *old = NULL;
  g_autoptr (TkeJournalEntry) entry = NULL;

  if (thumbprint == NULL)
    return FALSE;
  old = g_strdup (tke_unit_pins_get_thumbprint (pins, unit->id));
  if (!tke_unit_pins_repin (pins, unit->service_url, presented, error))
    return FALSE;
  entry = tke_journal_entry_new ("repin-unit-identity");
  tke_journal_entry_add_unit (entry, unit->id, unit->num, "OK", "identity key re-pinned", NULL);
  tke_journal_entry_add_detail (entry, "previous_identity", old);
  tke_journal_entry_add_detail (entry, "identity", thumbprint);
  return tke_journal_append (journal, entry, error);
}
