/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Readers through pcsc-lite. Every thread that talks to PC/SC has its own SCARDCONTEXT: the
 * watching thread, each waiting caller, and each card connection. */
#pragma once

#include "tke-reader-manager.h"

G_BEGIN_DECLS

#define TKE_TYPE_PCSC_READER_MANAGER (tke_pcsc_reader_manager_get_type ())

G_DECLARE_FINAL_TYPE (TkePcscReaderManager, tke_pcsc_reader_manager, TKE, PCSC_READER_MANAGER,
                      TkeReaderManager)

TkeReaderManager *tke_pcsc_reader_manager_new (void);

G_END_DECLS
