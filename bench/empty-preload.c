/* SPDX-License-Identifier: MIT */
/*
 * A preloaded library that does nothing: what any LD_PRELOAD library costs
 * a fork+exec (the loader opens, maps and relocates it in every image),
 * measured by bench-startup beside the shim's cost.
 */
void bench_empty_preload(void);
void bench_empty_preload(void)
{
}
