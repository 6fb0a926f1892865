/* SPDX-License-Identifier: GPL-3.0-or-later */
/* tke_process_harden: what every program of the project does before it touches a secret. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "tke-error.h"
#include "tke-process.h"

gboolean
tke_process_harden (GError **error)
{
  const struct rlimit no_core = { 0, 0 };

  /* A core file or a debugger attached by another process of the user would see key parts and
   * PINs, which the secure heap keeps out of swap but not out of a dump. */
  if (setrlimit (RLIMIT_CORE, &no_core) != 0 || prctl (PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, TKE_ERROR, TKE_ERROR_FAILED,
                   /* TRANSLATORS: %s is the system's reason. */
                   _ ("The process could not be made non-dumpable: %s"), g_strerror (saved_errno));
      return FALSE;
    }
  /* The wire protocol is TLS 1.3 only, for the clients and for the embedded demo service;
   * glib-networking takes GnuTLS priorities from here. An administrator's own setting wins. The
   * unit client checks the version of every answer as well, whatever the TLS backend. */
  g_setenv ("G_TLS_GNUTLS_PRIORITY", "NORMAL:-VERS-ALL:+VERS-TLS1.3", FALSE);
  return TRUE;
}
