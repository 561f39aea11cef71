/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz_model.c — the whole model load path on arbitrary bytes: safetensors
 * header, JSON metadata, tensor table, architecture validation, planning and,
 * for small models, one forward pass. Built as a libFuzzer target with clang
 * (-Dfuzzing=true), and always as a replay program that runs every file of a
 * corpus directory through the same function (CI, under ASan and valgrind). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "model.h"
#include "network.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char err[1024];
  err[0] = '\0';
  AttnModel *m = attn_model_load_bytes (data, size, "fuzz.safetensors", err,
                                        sizeof err);
  if (!m) {
    /* every rejection must say why */
    if (err[0] == '\0')
      __builtin_trap ();
    return 0;
  }
  /* plan at the model's own size and at an odd small one; run the small
   * models (a forward pass of a huge fuzzed width would only be slow) */
  int sizes[2][2] = { { m->pre.height, m->pre.width }, { 7, 5 } };
  for (int i = 0; i < 2; i++) {
    AttnNet *net = attn_net_new (m, sizes[i][0], sizes[i][1], err, sizeof err);
    if (!net)
      continue;
    if (attn_net_macs (net) < 2e7) {
      memset (attn_net_input (net), 0,
              sizeof (float) * 3 * sizes[i][0] * sizes[i][1]);
      attn_net_forward (net);
    }
    attn_net_free (net);
  }
  attn_model_unref (m);
  return 0;
}
