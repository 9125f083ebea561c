/* SPDX-License-Identifier: MIT */
/*
 * Placeholder until the channel layer (src/chan/) lands: no channel can
 * exist yet, so an EF cannot be handed one.
 */
#include "config.h"

#include "xos_i.h"

int xos__chans_bind(struct xos_chan *const *chans, size_t n, const char *creator_icf,
		    const char *ef_icf)
{
	(void)chans, (void)creator_icf, (void)ef_icf;
	return n ? -EOPNOTSUPP : 0;
}
