/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The ceremony engine: each operation of DESIGN §5 run step by step on the calling thread (the
 * ceremony worker), asking the operator through a TkePrompter, fanning commands out to the
 * selected crypto units in parallel and writing each operation to the journal. */
#pragma once

#include <gio/gio.h>
#include <jansson.h>

#include "tke-journal.h"
#include "tke-prompter.h"
#include "tke-reader-manager.h"
#include "tke-unit-pins.h"

G_BEGIN_DECLS

typedef enum
{
  TKE_CEREMONY_INITIALIZE_CARD,
  TKE_CEREMONY_GENERATE_SIGNATURE_KEY,
  TKE_CEREMONY_GENERATE_KEY_PART,
  TKE_CEREMONY_COPY_SMART_CARD,
  TKE_CEREMONY_COPY_SIGNATURE_KEY_FILE,
  TKE_CEREMONY_COPY_KEY_PART_FILE,
  TKE_CEREMONY_ADD_ADMINISTRATOR,
  TKE_CEREMONY_REMOVE_ADMINISTRATOR,
  TKE_CEREMONY_CHANGE_THRESHOLDS,
  TKE_CEREMONY_LOAD,
  TKE_CEREMONY_COMMIT,
  TKE_CEREMONY_SET_IMMEDIATE,
  TKE_CEREMONY_ROTATE,
  TKE_CEREMONY_CLEAR_NEW,
  TKE_CEREMONY_CLEAR_CURRENT,
  TKE_CEREMONY_ZEROIZE,
  TKE_CEREMONY_CHANGE_PIN,
  TKE_CEREMONY_UNBLOCK_PIN,
} TkeCeremonyOp;

/* "generate-signature-key", the name of the window action and of the journal's operation. */
const char *tke_ceremony_op_to_string (TkeCeremonyOp op);
gboolean tke_ceremony_op_from_string (const char *name, TkeCeremonyOp *op);
/* Whether the operation talks to crypto units (else only to cards). */
gboolean tke_ceremony_op_uses_units (TkeCeremonyOp op);

/* A selected crypto unit: how to reach its service, and what the listing said of it. */
typedef struct
{
  char *service_url;
  char *fingerprint;
  char *api_key;
  guint num; /* CRYPTO UNIT NUM */
  char *id;
  char *instance;
  char *type;
  char *location;
  /* The pinned identity key, never the one of the latest listing: importer keys and receipts
   * count only when it signed them. NULL for a unit without a pin, which no command goes to. */
  json_t *identity_jwk;
  char *thumbprint;     /* of the pinned identity key */
  char *identity_error; /* set when the unit presents another key than the pinned one */
} TkeCeremonyUnit;

/* The unit of a listing, checked against (and, when new, added to) the identity pins. */
TkeCeremonyUnit *tke_ceremony_unit_new_listed (const TkeUnitInfo *info, const char *service_url,
                                               const char *fingerprint, const char *api_key,
                                               TkeUnitPins *pins);
TkeCeremonyUnit *tke_ceremony_unit_copy (const TkeCeremonyUnit *unit);
void tke_ceremony_unit_free (TkeCeremonyUnit *unit);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TkeCeremonyUnit, tke_ceremony_unit_free)

/* What became of the command on one unit. */
typedef struct
{
  guint num;
  char *id;
  gboolean accepted;
  char *code;    /* "OK", a unit refusal code, or "UNREACHABLE" */
  char *message; /* the unit's sentence, or the network error */
  json_t *state; /* the unit's state after the command (NULL when it could not be read) */
} TkeUnitOutcome;

void tke_unit_outcome_free (TkeUnitOutcome *outcome);
/* For a unit whose answer was lost: says in the outcome's message whether its state, read
 * afterwards, shows the command applied. */
void tke_unit_outcome_note_applied (TkeUnitOutcome *outcome, TkeCommand *cmd,
                                    const TkeCeremonyUnit *unit);

typedef struct
{
  TkeCeremonyOp op;
  /* One paragraph for the operator: what was done, with the VP where there is one. */
  char *summary;
  /* Per unit (empty for card-only operations), in CRYPTO UNIT NUM order. */
  GPtrArray *outcomes;
  /* Sentences naming where the selected units now differ (admins, thresholds, registers). */
  GPtrArray *differences;
  /* The operation's non-secret parameters, so that failed units can be retried. */
  json_t *params;
} TkeCeremonyResult;

void tke_ceremony_result_free (TkeCeremonyResult *result);
guint tke_ceremony_result_get_n_failed (const TkeCeremonyResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TkeCeremonyResult, tke_ceremony_result_free)

/* Sentences naming where units differ (mode, thresholds, administrators, registers) from the
 * first whose state is known; outcomes are TkeUnitOutcome with num and state. */
GPtrArray *tke_ceremony_compare_units (GPtrArray *outcomes);

/* How many administrator signatures a unit in this state (its public state as JSON) wants for op
 * (DESIGN §3); new_signature_threshold is the one a thresholds change sets. */
guint tke_ceremony_required_signatures (TkeCeremonyOp op, json_t *state,
                                        guint new_signature_threshold);
/* Whether the administrator with this SKI is installed in the unit. */
gboolean tke_ceremony_state_has_admin (json_t *state, const char *ski);

#define TKE_TYPE_CEREMONY (tke_ceremony_get_type ())

G_DECLARE_FINAL_TYPE (TkeCeremony, tke_ceremony, TKE, CEREMONY, GObject)

TkeCeremony *tke_ceremony_new (TkeReaderManager *readers, TkePrompter *prompter,
                               TkeJournal *journal);
/* NULL or "" picks the first (reader 1) or second (reader 2) reader in order of names. */
void tke_ceremony_set_reader_names (TkeCeremony *self, const char *reader1, const char *reader2);
/* Signers that sign before any card is asked for (signature key files, TkeSigner; referenced):
 * each counts once toward a quorum, like an administrator card. */
void tke_ceremony_set_signers (TkeCeremony *self, GPtrArray *signers);
/* The units later operations act on (TkeCeremonyUnit; copied). */
void tke_ceremony_set_units (TkeCeremony *self, GPtrArray *units);

/* Runs one operation to its end. params (may be NULL) answers questions beforehand: "name",
 * "description", "signature", "revocation", "ski", "parts" (2 or 3), "units" (an array of CRYPTO
 * UNIT NUMs to restrict to), "file" (a key file to copy onto a card) or "files_dir" (where to list
 * key files; the files directory by default); whatever is missing is asked. A cancel or an error before anything
 * was sent leaves cards and units as they were and returns NULL with the error; once a command
 * was sent, the result says what each unit did. Blocking: call it on the ceremony worker. */
TkeCeremonyResult *tke_ceremony_run (TkeCeremony *self, TkeCeremonyOp op, json_t *params,
                                     GCancellable *cancellable, GError **error);
/* Runs the operation of previous again on its failed units only, with fresh counters and
 * fresh signatures. */
TkeCeremonyResult *tke_ceremony_retry_failed (TkeCeremony *self, const TkeCeremonyResult *previous,
                                              GCancellable *cancellable, GError **error);

G_END_DECLS
