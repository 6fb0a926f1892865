/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The profile's write operations as the fault-injection tests run and judge them, shared by the
 * in-process and the pcscd + vpcd tests. */
#pragma once

#include "tke-card-profile.h"

G_BEGIN_DECLS

typedef enum
{
  TKE_TEST_OP_INITIALIZE,
  TKE_TEST_OP_GENERATE_SIGNATURE_KEY,
  TKE_TEST_OP_IMPORT_SIGNATURE_KEY,
  TKE_TEST_OP_GENERATE_KEY_PART,
  TKE_TEST_OP_PUT_KEY_PART,
  TKE_TEST_OP_DELETE_KEY_PART,
  TKE_TEST_OP_CHANGE_PIN,
  TKE_TEST_N_OPS
} TkeTestOp;

/* The PIN the prepared cards have. */
#define TKE_TEST_PIN "13572468"

extern const char *const tke_test_op_names[TKE_TEST_N_OPS];

TkeSecret *tke_test_secret (const char *text);
/* Initializes a blank card with pin and the description "Domain 7 key parts". */
void tke_test_initialize (TkePivClient *piv, const char *pin);
/* Brings a blank card to the state before op. */
void tke_test_prepare (TkePivClient *piv, TkeTestOp op);
gboolean tke_test_run_op (TkePivClient *piv, TkeTestOp op, GError **error);
/* Reads the card back: "old" or "new" state of op; fails the test on anything else. */
const char *tke_test_judge (TkePivClient *piv, TkeTestOp op);
/* The PIN the card has in that state. */
const char *tke_test_pin_after (TkeTestOp op, const char *state);

G_END_DECLS
