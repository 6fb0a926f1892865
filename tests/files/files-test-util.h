/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Helpers shared by the key file tests: scratch directories, secrets from text, external tools. */
#pragma once

#include <gio/gio.h>

#include "tke-secmem.h"

G_BEGIN_DECLS

/* A new 0700 directory under the test's temporary directory, removed with its files at exit. */
char *files_test_make_dir (void);
TkeSecret *files_test_secret (const char *text);
/* Writes the password into a 0600 file in dir, for tools that read it with file: or -passin. */
char *files_test_password_file (const char *dir, const char *password);
/* Runs argv; returns the exit status (or -1 when it could not start) and its output. */
int files_test_run (const char *const *argv, char **out, char **err);
/* The file's bytes; and the same with one byte XOR'ed or the length cut, written to a new path. */
GBytes *files_test_read (const char *path);
void files_test_write (const char *path, const guint8 *data, gsize len);
/* Whether /usr/bin/python3 imports jwcrypto. */
gboolean files_test_have_jwcrypto (void);

G_END_DECLS
