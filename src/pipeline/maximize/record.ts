/**
 * What a maximize run keeps in out/<layer>/maximize.json: a stamp of its settings, and each
 * unit's picture with the objective on the starting image and on the final 8-bit one. Read by
 * a rerun (what is done is kept) and by the report.
 */
import { z } from 'zod';

export const OBJECTIVES = ['channel', 'neuron', 'layer', 'class'] as const;
export type Objective = (typeof OBJECTIVES)[number];

/** What each unit's picture reached: the objective on the starting image and on the final 8-bit one. */
export interface UnitResult {
  unit: number;
  /** Which of a unit's diverse pictures (--diversity); 0 when there is one. */
  copy: number;
  start: number;
  final: number;
  file: string;
}

export const recordSchema = z.object({
  stamp: z.string(),
  units: z.array(
    z.object({
      unit: z.number().int().nonnegative(),
      copy: z.number().int().nonnegative(),
      start: z.number(),
      final: z.number(),
      file: z.string(),
    }),
  ),
});

/** What a maximize.json says: the layer, the objective, and each unit's picture and scores. */
export interface MaximizeRecord {
  model: string;
  layer: string;
  objective: Objective;
  units: UnitResult[];
}

/** A maximize.json cnnviz wrote, read and checked; a reason where it is not one. */
export function parseMaximizeRecord(json: unknown): MaximizeRecord | { problem: string } {
  const record = recordSchema.safeParse(json);
  if (!record.success) return { problem: record.error.issues[0]?.message ?? 'not a maximize record' };
  const stamp = z
    .object({ model: z.string(), layer: z.string(), settings: z.object({ objective: z.enum(OBJECTIVES) }) })
    .safeParse(
      (() => {
        try {
          return JSON.parse(record.data.stamp);
        } catch {
          return undefined;
        }
      })(),
    );
  if (!stamp.success) return { problem: 'its settings are not cnnviz maximize settings' };
  const { model, layer, settings } = stamp.data;
  return { model, layer, objective: settings.objective, units: record.data.units };
}
