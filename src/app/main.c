/* SPDX-License-Identifier: GPL-3.0-or-later */
/* tke: the Open TKE desktop application. */
#include "config.h"

#include <locale.h>

#include <glib/gi18n.h>

#include "tke-application.h"
#include "tke-process.h"
#include "tke-secmem.h"

int
main (int argc, char **argv)
{
  g_autoptr (TkeApplication) app = NULL;
  g_autoptr (GError) error = NULL;

  setlocale (LC_ALL, "");
  /* TKE_LOCALEDIR: the translations of a build tree (its po/ directory), for running uninstalled. */
  bindtextdomain (GETTEXT_PACKAGE,
                  g_getenv ("TKE_LOCALEDIR") != NULL ? g_getenv ("TKE_LOCALEDIR") : LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  if (!tke_process_harden (&error))
    {
      g_printerr ("tke: %s\n", error->message);
      return 1;
    }
  /* Before anything else allocates: key parts and PINs must never land in swappable memory. */
  if (!tke_secmem_init (&error))
    {
      g_printerr ("tke: %s\n", error->message);
      return 1;
    }

  app = tke_application_new ();
  return g_application_run (G_APPLICATION (app), argc, argv);
}
