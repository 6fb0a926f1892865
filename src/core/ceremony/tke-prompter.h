/* SPDX-License-Identifier: GPL-3.0-or-later */
/* How a ceremony asks the operator: the GUI, tkectl and the tests each implement this. */
#pragma once

#include <gio/gio.h>

#include "tke-secmem.h"

G_BEGIN_DECLS

typedef enum
{
  TKE_READER_ROLE_1 = 1, /* the administrator signature card */
  TKE_READER_ROLE_2 = 2, /* the key part card, or the card being written */
} TkeReaderRole;

typedef struct
{
  TkeReaderRole role;
  /* The reader's PC/SC name; NULL when no reader is there for this role. */
  const char *reader_name;
  /* What card is wanted, as a sentence: "the smart card of an administrator who has not signed". */
  const char *wanted;
} TkeCardRequest;

typedef enum
{
  TKE_PIN_KIND_PIN,
  TKE_PIN_KIND_NEW_PIN, /* a new PIN: the front end asks for it twice */
  TKE_PIN_KIND_PUK,
  TKE_PIN_KIND_PASSWORD, /* the password of a key file */
  TKE_PIN_KIND_NEW_PUK,  /* a new PUK: asked for twice, like a new PIN */
} TkePinKind;

/* A new PIN or PUK: the front end asks for it twice. */
#define TKE_PIN_KIND_IS_NEW(kind) ((kind) == TKE_PIN_KIND_NEW_PIN || (kind) == TKE_PIN_KIND_NEW_PUK)

typedef struct
{
  TkePinKind kind;
  const char *reader_name;
  /* The card, as the operator knows it: "card 1234567, administrator Alice". */
  const char *card;
  /* What the PIN unlocks now: the operation, the units and the VP being signed. */
  const char *purpose;
  /* -1 when the card does not tell. */
  int tries_left;
} TkePinRequest;

/* Checks a text answer; on FALSE the front end shows the error and asks again. */
typedef gboolean (*TkeTextCheck) (const char *text, gpointer user_data, GError **error);

#define TKE_TYPE_PROMPTER (tke_prompter_get_type ())

G_DECLARE_INTERFACE (TkePrompter, tke_prompter, TKE, PROMPTER, GObject)

/* Every call comes from the ceremony worker thread and may block there until the operator answers;
 * the front end does its work on its own thread. A cancelled or declined prompt fails with
 * G_IO_ERROR_CANCELLED. */
struct _TkePrompterInterface
{
  GTypeInterface parent_iface;

  /* The ceremony waits for a card; it ends the prompt itself when the card arrives. */
  void (*card_wait_begin) (TkePrompter *self, const TkeCardRequest *request);
  void (*card_wait_end) (TkePrompter *self);
  TkeSecret *(*ask_pin) (TkePrompter *self, const TkePinRequest *request, GCancellable *cancellable,
                         GError **error);
  /* The operator types the PIN on the reader's PIN pad now. */
  void (*pin_pad_begin) (TkePrompter *self, const TkePinRequest *request);
  void (*pin_pad_end) (TkePrompter *self);
  gboolean (*choose) (TkePrompter *self, const char *title, const char *const *choices,
                      guint *choice, GCancellable *cancellable, GError **error);
  char *(*ask_text) (TkePrompter *self, const char *title, const char *hint, TkeTextCheck check,
                     gpointer check_data, GCancellable *cancellable, GError **error);
  /* hint: what the number means, in one sentence; may be NULL. */
  gboolean (*ask_number) (TkePrompter *self, const char *title, const char *hint, guint min,
                          guint max, guint *number, GCancellable *cancellable, GError **error);
  /* consequence: exactly what becomes irreversible. */
  gboolean (*confirm) (TkePrompter *self, const char *title, const char *consequence,
                       GCancellable *cancellable, GError **error);
  /* Progress: step index (0-based) of n_steps. */
  void (*step) (TkePrompter *self, guint index, guint n_steps, const char *description);
};

void tke_prompter_card_wait_begin (TkePrompter *self, const TkeCardRequest *request);
void tke_prompter_card_wait_end (TkePrompter *self);
TkeSecret *tke_prompter_ask_pin (TkePrompter *self, const TkePinRequest *request,
                                 GCancellable *cancellable, GError **error);
void tke_prompter_pin_pad_begin (TkePrompter *self, const TkePinRequest *request);
void tke_prompter_pin_pad_end (TkePrompter *self);
gboolean tke_prompter_choose (TkePrompter *self, const char *title, const char *const *choices,
                              guint *choice, GCancellable *cancellable, GError **error);
char *tke_prompter_ask_text (TkePrompter *self, const char *title, const char *hint,
                             TkeTextCheck check, gpointer check_data, GCancellable *cancellable,
                             GError **error);
gboolean tke_prompter_ask_number (TkePrompter *self, const char *title, const char *hint, guint min,
                                  guint max, guint *number, GCancellable *cancellable,
                                  GError **error);
gboolean tke_prompter_confirm (TkePrompter *self, const char *title, const char *consequence,
                               GCancellable *cancellable, GError **error);
void tke_prompter_step (TkePrompter *self, guint index, guint n_steps, const char *description);

G_END_DECLS
