/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The project's error domain. */
#include "tke-error.h"

G_DEFINE_QUARK (tke - error - quark, tke_error)
