/* SPDX-License-Identifier: GPL-3.0-or-later */
/* What every Open TKE program does first: no core files, no ptrace, TLS 1.3 only. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Makes the process non-dumpable (no core file, /proc/<pid>/mem and ptrace closed to other
 * processes of the same user) and keeps glib-networking to TLS 1.3. Call it before anything
 * holds a secret or opens a connection. */
gboolean tke_process_harden (GError **error);

G_END_DECLS
