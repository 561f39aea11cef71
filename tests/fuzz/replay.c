/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* replay.c — runs every file under the given directories through
 * LLVMFuzzerTestOneInput (TAP: one case per file). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static int n;

static void
run_file (const char *path)
{
  FILE *f = fopen (path, "rb");
  if (!f) {
    printf ("not ok %d - %s: cannot open\n", ++n, path);
    return;
  }
  fseek (f, 0, SEEK_END);
  long len = ftell (f);
  fseek (f, 0, SEEK_SET);
  uint8_t *buf = malloc (len > 0 ? (size_t) len : 1);
  size_t got = fread (buf, 1, (size_t) len, f);
  fclose (f);
  LLVMFuzzerTestOneInput (buf, got);   /* crashes are the failure */
  free (buf);
  printf ("ok %d - %s\n", ++n, path);
  fflush (stdout);
}

int
main (int argc, char **argv)
{
  for (int i = 1; i < argc; i++) {
    DIR *d = opendir (argv[i]);
    if (!d) {
      run_file (argv[i]);
      continue;
    }
    struct dirent *e;
    char **names = NULL;
    int count = 0;
    while ((e = readdir (d)))
      if (e->d_name[0] != '.') {
        names = realloc (names, sizeof (char *) * (count + 1));
        names[count++] = strdup (e->d_name);
      }
    closedir (d);
    for (int j = 0; j < count; j++) {
      char path[4096];
      snprintf (path, sizeof path, "%s/%s", argv[i], names[j]);
      run_file (path);
      free (names[j]);
    }
    free (names);
  }
  printf ("1..%d\n", n);
  return n > 0 ? 0 : 1;
}
