/**
 * The one model loader every command shares: `--model` (a built-in name or a file of any
 * format cnnviz reads) to a Model: the format-neutral network description, how its input is
 * prepared, its kernels, and an engine for its activations. Commands never ask the format.
 */
import { existsSync } from 'node:fs';
import { extname } from 'node:path';
import { usageError } from '../errors.js';
import { findCycle } from '../net/net.js';
import { BUILTIN_MODELS } from './builtin.js';
import { formatOf, MODEL_FILE_KINDS, readHead } from './registry.js';
import { warmUpH5 } from '../weights/h5.js';
import { memoryBudget } from '../config.js';
import { firstEmptyMap, formatBytes, largestActivation, smallestWorkingSize } from '../net/sizes.js';

export type { EngineRequest, Model, OpenOptions, WeightsChoice, WeightsInfo } from './types.js';
import type { Model, OpenOptions } from './types.js';

export { MODEL_FILE_KINDS };

export async function openModel(ref: string, options: OpenOptions): Promise<Model> {
  const builtin = BUILTIN_MODELS[ref.toLowerCase()];
  if (!builtin && !existsSync(ref)) {
    throw usageError(
      `unknown model '${ref}': not a built-in model (${Object.keys(BUILTIN_MODELS).join(', ')}) nor an existing file (${MODEL_FILE_KINDS})`,
    );
  }
  let model: Model;
  if (builtin) {
    // No HDF5 warm-up here: a built-in's weights are read only when the prepared model is not
    // cached (its wasm's compilation cost a warm run 60 ms of its 2 cores for nothing).
    model = await (await import('./keras/model.js')).openKerasModel(ref, options);
  } else {
    const head = await readHead(ref);
    const { format, byContent } = formatOf(ref, head);
    if (format.hdf5Weights && options.readsWeights) warmUpH5();
    model = await format.open(ref, options, head);
    if (byContent && !format.extensions.includes(extname(ref).toLowerCase()))
      model.details.unshift(`'${ref}' holds ${format.what} (by its content, whatever its name says)`);
  }
  const [asked] = Object.keys(options.inputs ?? {});
  if (asked !== undefined && !model.otherInputs?.length)
    throw usageError(`--input ${asked}: '${ref}' takes no input besides the image`);
  const cycle = findCycle(model.net.layers);
  if (cycle)
    throw usageError(
      `'${ref}' is no network cnnviz can run: its layers feed each other in a cycle (${cycle.join(' -> ')})`,
    );
  await checkInputSize(model, options.memoryBudget ?? memoryBudget());
  return model;
}

/** An input size the network cannot take is refused before any work: too small, or too large for memory. */
export async function checkInputSize(model: Model, budget: number): Promise<void> {
  const { net } = model;
  const [h, w] = net.input;
  const empty = firstEmptyMap(net);
  if (empty) {
    const [eh, ew] = empty.mapShape!;
    const smallest = model.netAt ? await smallestWorkingSize(model.netAt) : undefined;
    const hint = smallest
      ? `; the smallest input that works is ${smallest}x${smallest} (--size ${smallest}x${smallest})`
      : '';
    throw usageError(
      `a ${w}x${h} input is too small for ${net.name}: the maps of '${empty.name}' would be ${eh}x${ew}${hint}`,
    );
  }
  const largest = largestActivation(net);
  if (largest.bytes > budget) {
    throw usageError(
      `a ${w}x${h} input is too large for ${net.name}: ${largest.name} alone would take ${formatBytes(largest.bytes)} per image, over the ${formatBytes(budget)} budget (CNNVIZ_MAX_MEMORY=16GB raises it)`,
    );
  }
}
