/* SPDX-License-Identifier: GPL-3.0-or-later */
/* What the files of the ceremony engine share: the engine object, the state of one run, a card
 * in a reader, and the functions one file of the engine offers the others. Not installed. */
#pragma once

#include <jansson.h>

#include "tke-card-profile.h"
#include "tke-card-signer.h"
#include "tke-ceremony.h"
#include "tke-command.h"
#include "tke-ec-key.h"
#include "tke-error.h"
#include "tke-files-dir.h"
#include "tke-key-part-file.h"
#include "tke-signature-key-file.h"
#include "tke-unit-client.h"
#include "tke-unit-error.h"
#include "tke-unit-jose.h"
#include "tke-vp.h"

G_BEGIN_DECLS

/* How often the engine looks at a reader while it waits for the operator to change cards. */
#define CARD_POLL_MS 150

struct _TkeCeremony
{
  GObject parent_instance;

  TkeReaderManager *readers;
  TkePrompter *prompter;
  TkeJournal *journal;
  char *reader_names[2];
  GPtrArray *units;   /* TkeCeremonyUnit */
  GPtrArray *signers; /* TkeSigner, used before cards */
};

/* The state of one run, on the worker thread. */
typedef struct
{
  TkeCeremony *self;
  TkeCeremonyOp op;
  json_t *params;
  GCancellable *cancellable;
  GMainContext *context;
  GHashTable *clients; /* service url -> TkeUnitClient */
  GPtrArray *units;    /* TkeCeremonyUnit (borrowed from self->units) */
  GPtrArray *states;   /* json_t, the state of each unit before the command */
  const char *const *steps;
  guint n_steps;
  TkeJournalEntry *entry;
} Run;

/* The steps of every unit operation, in the order its dialog lists them: the units are read,
 * the operation's own step (a card, a choice, the registers), the administrators sign, the
 * command is sent. */
typedef enum
{
  UNIT_STEP_READ,
  UNIT_STEP_OWN,
  UNIT_STEP_SIGN,
  UNIT_STEP_SEND,
} UnitStep;

/* A card in a reader, read: its connection, what it holds, the reader's name. */
typedef struct
{
  TkePivClient *piv;
  TkeCardInfo *info;
  char *reader;
} Card;

/* Decides whether a card that is in the reader is the one wanted. Returns FALSE with *why set
 * (a sentence for the prompt) when the operator must change it. */
typedef gboolean (*CardCheck) (Run *run, Card *card, gpointer data, char **why, GError **error);

/* The operation table (tke-ceremony.c) */
const char *tke_ceremony_op_wire_name (TkeCeremonyOp op);

/* Steps, parameters and questions (tke-ceremony.c) */
void tke_run_step (Run *run, guint index);
gboolean tke_run_check_cancelled (Run *run, GError **error);
const char *tke_run_param_string (Run *run, const char *key);
gboolean tke_run_param_uint (Run *run, const char *key, guint *value);

gboolean tke_run_check_admin_name (const char *text, gpointer data, GError **error);
gboolean tke_run_check_description (const char *text, gpointer data, GError **error);
char *tke_run_text (Run *run, const char *key, const char *title, const char *hint,
                    TkeTextCheck check, GError **error);
gboolean tke_run_number (Run *run, const char *key, const char *title, const char *hint, guint min,
                         guint max, guint *number, GError **error);

/* The card session: readers, cards, PINs (tke-ceremony-cards.c) */
char *tke_run_card_identity (const TkeCardInfo *info);
void tke_run_journal_card (Run *run, const char *key, const TkeCardInfo *info);
void tke_run_card_free (Card *card);
Card *tke_run_acquire_card (Run *run, TkeReaderRole role, const char *wanted, CardCheck check,
                            gpointer check_data, GError **error);
gboolean tke_run_get_pin (Run *run, Card *card, TkePinKind kind, const char *purpose,
                          TkeSecret **pin, gboolean *pin_pad, GError **error);
void tke_run_pin_pad_begin (Run *run, Card *card, gboolean pin_pad, const char *purpose);
void tke_run_pin_pad_end (Run *run, gboolean pin_pad);
gboolean tke_run_check_initialized (Run *run, Card *card, gpointer data, char **why,
                                    GError **error);
gboolean tke_run_check_blank (Run *run, Card *card, gpointer data, char **why, GError **error);
gboolean tke_run_check_no_signature_key (Run *run, Card *card, gpointer data, char **why,
                                         GError **error);
gboolean tke_run_check_has_signature_key (Run *run, Card *card, gpointer data, char **why,
                                          GError **error);
gboolean tke_run_check_new_administrator (Run *run, Card *card, gpointer data, char **why,
                                          GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Card, tke_run_card_free)

/* The unit set: states, sending, reading back (tke-ceremony-units.c) */
GPtrArray *tke_run_read_states (Run *run, GError **error);
gboolean tke_run_state_is_imprint (json_t *state);
guint tke_run_state_threshold (json_t *state, const char *which);
json_t *tke_run_state_admins (json_t *state);
const char *tke_run_state_register (json_t *state, const char *reg, const char *field);
char *tke_run_units_list (Run *run);
gboolean tke_run_refuse_early (GError **error, const char *format, ...) G_GNUC_PRINTF (2, 3);
/* A refusal the engine foresees from the units' states, before anything is asked or sent: the
 * error is the one a unit would return (TKE_UNIT_ERROR, code), so front ends treat both alike. */
gboolean tke_run_refuse (GError **error, TkeUnitErrorCode code, const char *format, ...)
    G_GNUC_PRINTF (3, 4);

TkeCeremonyResult *tke_run_unit_command (Run *run, json_t *args, guint required,
                                         const char *purpose, GError **error);
guint tke_run_max_required (Run *run, guint new_signature_threshold);

/* The quorum of administrator signatures (tke-ceremony-quorum.c) */
gboolean tke_run_collect_signatures (Run *run, TkeCommand *cmd, guint required, const char *purpose,
                                     guint first_step, GError **error);

/* The card operations (tke-ceremony-card-ops.c) */
char *tke_run_initialize_card (Run *run, GError **error);
char *tke_run_generate_signature_key (Run *run, GError **error);
char *tke_run_generate_key_part (Run *run, GError **error);
char *tke_run_copy_smart_card (Run *run, GError **error);

char *tke_run_copy_signature_key_file (Run *run, GError **error);
char *tke_run_copy_key_part_file (Run *run, GError **error);
/* Change PIN (the present PIN) and Unblock PIN (the PUK): a new PIN for the card. */
char *tke_run_set_pin (Run *run, GError **error);

/* The unit operations (tke-ceremony-unit-ops.c) */
TkeCeremonyResult *tke_run_add_administrator (Run *run, GError **error);
TkeCeremonyResult *tke_run_remove_administrator (Run *run, GError **error);
TkeCeremonyResult *tke_run_change_thresholds (Run *run, GError **error);
TkeCeremonyResult *tke_run_load (Run *run, GError **error);
TkeCeremonyResult *tke_run_register_op (Run *run, GError **error);

G_END_DECLS
