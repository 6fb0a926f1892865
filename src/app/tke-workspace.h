/* SPDX-License-Identifier: GPL-3.0-or-later */
/* What the workstation knows between ceremonies: the crypto unit services it connects to, their
 * units numbered 1..n, which are selected, their last read state, and the ceremony journal. */
#pragma once

#include <gio/gio.h>
#include <jansson.h>

#include "tke-ceremony.h"
#include "tke-journal.h"

G_BEGIN_DECLS

#define TKE_TYPE_WORKSPACE (tke_workspace_get_type ())

G_DECLARE_FINAL_TYPE (TkeWorkspace, tke_workspace, TKE, WORKSPACE, GObject)

/* dir: where services.json and the journal live (created 0700). settings: where the selection is
 * kept ("selected-units"); NULL keeps it in memory only (demo mode). Signal "changed" after each
 * refresh and selection change; "refresh-failed" (message) when a service could not be read. */
TkeWorkspace *tke_workspace_new (const char *dir, GSettings *settings, GError **error);
const char *tke_workspace_get_dir (TkeWorkspace *self);
TkeJournal *tke_workspace_get_journal (TkeWorkspace *self);

/* Re-pinning the identity key a unit presents now (Crypto units tab): the text the operator
 * confirms, then the re-pin itself, journalled. Both refuse a unit whose key is the pinned one. */
char *tke_workspace_describe_repin (TkeWorkspace *self, guint num, GError **error);
gboolean tke_workspace_repin (TkeWorkspace *self, guint num, GError **error);

/* Adds a service after listing its units with the pinned fingerprint; persist: write it to
 * services.json (not for the demo's service). */
void tke_workspace_add_service_async (TkeWorkspace *self, const char *url, const char *fingerprint,
                                      const char *api_key, gboolean persist,
                                      GCancellable *cancellable, GAsyncReadyCallback callback,
                                      gpointer user_data);
gboolean tke_workspace_add_service_finish (TkeWorkspace *self, GAsyncResult *result,
                                           GError **error);
guint tke_workspace_get_n_services (TkeWorkspace *self);

/* Lists all units again and reads the state of the selected ones. */
void tke_workspace_refresh (TkeWorkspace *self);
gboolean tke_workspace_is_refreshing (TkeWorkspace *self);

/* Every listed unit (TkeCeremonyUnit, CRYPTO UNIT NUM order; transfer none). */
GPtrArray *tke_workspace_get_units (TkeWorkspace *self);
gboolean tke_workspace_is_selected (TkeWorkspace *self, const char *unit_id);
/* Selects or unselects by CRYPTO UNIT NUM; an unknown NUM is an error naming it. */
gboolean tke_workspace_select_nums (TkeWorkspace *self, const guint *nums, guint n_nums,
                                    gboolean selected, GError **error);
void tke_workspace_set_selected (TkeWorkspace *self, const char *unit_id, gboolean selected);
/* The selected units (TkeCeremonyUnit; a new array of copies). */
GPtrArray *tke_workspace_dup_selected (TkeWorkspace *self);
/* The last read state of a unit, or NULL. */
json_t *tke_workspace_get_state (TkeWorkspace *self, const char *unit_id);

/* "1 3 5" -> {1, 3, 5}; anything but numbers separated by spaces is an error. */
gboolean tke_parse_unit_nums (const char *text, GArray **nums, GError **error);

G_END_DECLS
