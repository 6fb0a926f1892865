/* SPDX-License-Identifier: GPL-3.0-or-later */
/* tkectl: the command-line ceremony tool; everything but this file is in tke-cli. */
#include "config.h"

#include "tke-cli.h"

int
main (int argc, char **argv)
{
  return tke_cli_main (argc, argv);
}
