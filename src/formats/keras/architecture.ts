/** A Keras model as the adapter holds it: its graph, where it came from, and its input preparation. */
import type { PreprocessMode } from '../../image/preprocess.js';
import type { BuiltinModel } from '../builtin.js';
import type { ModelFile } from './files.js';
import type { ModelGraph } from './graph.js';

export interface Architecture {
  graph: ModelGraph;
  /** Set for the built-in models (vgg16, vgg19). */
  builtin?: BuiltinModel;
  /** Set for models read from a file; they carry their own weights. */
  file?: { path: string; model: ModelFile };
  /** How this model's input is prepared unless --preprocess says otherwise. */
  preprocess: PreprocessMode;
}
