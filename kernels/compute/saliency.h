/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* saliency.h — the Dynamic Capacity Networks saliency of a planned network
 * (Almahairi et al. 2016; docs attention.md §4): the gradient norm of the
 * output entropy with respect to a feature map c,
 *   M_ij = ||∂H/∂c[:, i, j]||₂,  H = −Σ_k p_k log p_k,  p = softmax(logits).
 * c is the input of the network's last residual block; that block, the
 * global average pool and the classifier are differentiated analytically
 * (reverse mode, one image):
 *   ∂H/∂z_k = −p_k (log p_k + H)          z: logits
 *   ∂H/∂y[c,ij] = (Wfcᵀ ∂H/∂z)[c] / (H·W)  y: the block's output
 *   then back through relu(F·gate + shortcut), the gate (SE: s from mean_hw F;
 *   CBAM: Mc from avg and max pools through the shared MLP, Ms from the
 *   [max_c, mean_c] pools of F·Mc through the k×k conv), the block's
 *   convolutions (transposed convolutions) and ReLUs (masks from the forward
 *   activations), and the shortcut (identity or a 1×1 conv).
 * Max pools route their gradient to the FIRST index attaining the maximum
 * (channel order for the spatial gate's max over channels, row-major order
 * for the channel gate's max over positions), the index the forward's
 * pools pick, as PyTorch's max_pool2d backward does (torch.amax would split
 * it among ties). Ties have measure zero on real-valued features.
 *
 * attn_saliency_new plans once (all workspaces allocated there);
 * attn_saliency_entropy_gradient then runs allocation-free, its
 * convolutions (one forward, the block's transposed ones) on the calling
 * thread's budget (parallel.h), like attn_net_forward. One thread at a time
 * per AttnSaliency. About 2 ms for the default model at 640×360 (a 23×40
 * grid of 64 channels), a tenth of its forward pass. */
#ifndef ATTN_SALIENCY_H
#define ATTN_SALIENCY_H

#include <stddef.h>

#include "network.h"

typedef struct AttnSaliency AttnSaliency;

/* Plans the entropy-gradient saliency of `net` (workspaces allocated once,
 * here). The chosen feature map c is the INPUT of the network's last
 * residual block; the layers above it (that block, the global average pool,
 * the classifier) are differentiated analytically. NULL with a message in
 * err when that block is of a kind not supported. `net` is borrowed: it
 * must outlive the returned object. */
AttnSaliency *attn_saliency_new (const AttnNet *net, char *err, size_t errlen);
void attn_saliency_free (AttnSaliency *s);   /* NULL is a no-op */
/* The map's grid: the last block's input height and width. */
void attn_saliency_size (const AttnSaliency *s, int *height, int *width);
/* After attn_net_forward (net) (the same net it was planned for, nothing run
 * on it since): out (height*width) = ||∂H/∂c[:, i, j]||₂, where
 * H = −Σ p log p, p = softmax(logits). Allocation-free. */
void attn_saliency_entropy_gradient (AttnSaliency *s, const AttnNet *net,
                                     float *out);

#endif
