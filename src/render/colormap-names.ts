/** The colormap names, apart from their tables so the CLI can list them without loading them. */
export const COLORMAPS = ['gray', 'viridis', 'magma', 'inferno', 'plasma', 'cividis', 'turbo', 'coolwarm'] as const;
export type ColormapName = (typeof COLORMAPS)[number];
