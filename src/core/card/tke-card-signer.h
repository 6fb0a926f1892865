/* SPDX-License-Identifier: GPL-3.0-or-later */
/* An administrator's signature key on a TKE card (slot 9A) as a TkeSigner for signed commands. */
#pragma once

#include "tke-piv-client.h"
#include "tke-signer.h"

G_BEGIN_DECLS

#define TKE_TYPE_CARD_SIGNER (tke_card_signer_get_type ())
G_DECLARE_FINAL_TYPE (TkeCardSigner, tke_card_signer, TKE, CARD_SIGNER, GObject)

/* Reads the 9A certificate (name and public key). pin is copied into secure memory and verified
 * before each signature, in the same transaction; NULL uses the reader's PIN pad each time. */
TkeCardSigner *tke_card_signer_new (TkePivClient *piv, const TkeSecret *pin, GError **error);

G_END_DECLS
