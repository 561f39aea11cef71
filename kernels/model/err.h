/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* err.h — the loader's error sentences: printf into the caller's buffer. */
#ifndef ATTN_ERR_H
#define ATTN_ERR_H

#include <glib.h>
#include <stdarg.h>
#include <stdio.h>

static inline void G_GNUC_PRINTF (3, 4)
attn_set_err (char *err, size_t errlen, const char *fmt, ...)
{
  if (!err || errlen == 0)
    return;
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (err, errlen, fmt, ap);
  va_end (ap);
}

#endif
