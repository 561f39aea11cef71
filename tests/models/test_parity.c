/* test_parity.c — converted checkpoints run by our forward pass agree with
 * PyTorch: logits and every gate's spatial map and channel weights, for each
 * fixture tools/make_parity.py wrote (official CBAM, timm and Cadene
 * SE-ResNets, torchvision ResNet; random weights and BatchNorm statistics).
 * Tolerance: max |ours − torch| <= 1e-4 · max(1, max|torch|) per output. */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model.h"
#include "network.h"

static bool
compare (AttnSafetensors *io, const char *tensor, const float *got,
         const char *what)
{
  const AttnTensorInfo *t = attn_safetensors_find (io, tensor);
  if (!t) {
    printf ("# %s: no %s in the fixture\n", what, tensor);
    return false;
  }
  float *ref = test_alloc (t->numel);
  attn_tensor_to_f32 (ref, t);
  bool ok = check_close (what, got, ref, t->numel, 1e-4f * max_abs (ref, t->numel), 0);
  free (ref);
  return ok;
}

static void
run (const char *dir, const char *io_name)
{
  char *io_path = g_build_filename (dir, io_name, NULL);
  char err[1024];
  AttnSafetensors *io = attn_safetensors_open (io_path, err, sizeof err);
  if (!io) {
    printf ("# %s\n", err);
    test_case (io_name, false);
    g_free (io_path);
    return;
  }
  char *model_path = g_build_filename (dir, attn_safetensors_metadata (io, "model"), NULL);
  int h = atoi (attn_safetensors_metadata (io, "height"));
  int w = atoi (attn_safetensors_metadata (io, "width"));
  AttnModel *m = attn_model_load (model_path, err, sizeof err);
  AttnNet *net = m ? attn_net_new (m, h, w, err, sizeof err) : NULL;
  char name[256];
  snprintf (name, sizeof name, "%s loads", attn_safetensors_metadata (io, "model"));
  test_case (name, net != NULL);
  if (!net) {
    printf ("# %s\n", err);
  } else {
    attn_tensor_to_f32 (attn_net_input (net), attn_safetensors_find (io, "input"));
    attn_net_forward (net);
    snprintf (name, sizeof name, "%s logits", m->name);
    test_case (name, compare (io, "logits", attn_net_logits (net), name));
    for (int g = 0; g < attn_net_n_gates (net); g++) {
      const AttnGateOutput *o = attn_net_gate (net, g);
      char t[128];
      if (o->spatial) {
        snprintf (t, sizeof t, "map.%s", o->name);
        snprintf (name, sizeof name, "%s %s", m->name, t);
        test_case (name, compare (io, t, o->spatial, name));
      }
      snprintf (t, sizeof t, "channel.%s", o->name);
      snprintf (name, sizeof name, "%s %s", m->name, t);
      test_case (name, compare (io, t, o->channel, name));
    }
  }
  attn_net_free (net);
  attn_model_unref (m);
  attn_safetensors_close (io);
  g_free (model_path);
  g_free (io_path);
}

int
main (int argc, char **argv)
{
  const char *dir = argc > 1 ? argv[1] : "tests/models/parity";
  GDir *d = g_dir_open (dir, 0, NULL);
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  const char *e;
  while (d && (e = g_dir_read_name (d)))
    if (g_str_has_suffix (e, ".io.safetensors"))
      g_ptr_array_add (names, g_strdup (e));
  if (d)
    g_dir_close (d);
  g_ptr_array_sort (names, (GCompareFunc) g_strcmp0);
  if (names->len == 0)
    test_case ("parity fixtures present", false);
  for (guint i = 0; i < names->len; i++)
    run (dir, g_ptr_array_index (names, i));
  g_ptr_array_unref (names);
  return test_done ();
}
