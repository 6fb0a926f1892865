/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Crypto units → Re-pin identity. */
#pragma once

#include "tke-window.h"

G_BEGIN_DECLS

void tke_repin_dialog_present (TkeWindow *window);

G_END_DECLS
