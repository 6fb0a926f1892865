/* SPDX-License-Identifier: GPL-3.0-or-later */
/* tkectl: the command-line ceremony tool; everything but this file is in tke-cli. */
#include "config.h"

#include <glib.h>

#include "tke-cli.h"
#include "tke-process.h"

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;

  if (!tke_process_harden (&error))
    {
      g_printerr ("tkectl: %s\n", error->message);
      return 1;
    }
  return tke_cli_main (argc, argv);
}
